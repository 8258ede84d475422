/**
 * Keeps one child process running: restarted with exponential back-off when it exits, its output passed on
 * line by line under a `[name] ` prefix, stopped cleanly (and not restarted) on request. `npm start` runs
 * the worker this way, so a worker crash leaves the API in the parent process answering.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

export interface SuperviseOptions {
  /** Prefix of the child's output lines and subject of the supervisor's messages. */
  name: string;
  command: string;
  args: string[];
  /** The child's whole environment. */
  env: NodeJS.ProcessEnv;
  /** First restart's wait (ms), doubled for each exit in a row, never above `maxMs`. */
  backoff: { initialMs: number; maxMs: number };
  /** A run at least this long (ms) counts as healthy: the next restart waits `backoff.initialMs` again. */
  healthyAfterMs: number;
  /** How long stop() waits after SIGTERM before SIGKILL (ms). */
  stopTimeoutMs: number;
  /** The supervisor's own messages (started, exited, restarting). */
  log: (message: string) => void;
  /** Where the child's prefixed stdout and stderr lines go; the parent's own by default. */
  stdout?: Writable;
  stderr?: Writable;
}

export interface Supervised {
  /** The running child's pid; undefined between a crash and its restart, and after stop(). */
  readonly pid: number | undefined;
  /** SIGTERM to the child (SIGKILL after `stopTimeoutMs`), resolved once it has exited; nothing is restarted after. */
  stop(): Promise<void>;
}

/** The wait before restart number `crashes` (1 for the first crash in a row), in ms. */
export function restartDelay(crashes: number, backoff: { initialMs: number; maxMs: number }): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, crashes - 1));
}

export function supervise(opts: SuperviseOptions): Supervised {
  let child: ChildProcess | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  let crashes = 0;

  const prefixLines = (from: Readable, to: Writable) =>
    createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => to.write(`[${opts.name}] ${line}\n`));

  const start = () => {
    const startedAt = Date.now();
    // Its own process group: Ctrl-C reaches only the supervisor, which then stops the child in order.
    // The IPC channel tells the child when the supervisor is gone (workers/worker.ts stops then).
    const proc = spawn(opts.command, opts.args, {
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    child = proc;
    prefixLines(proc.stdout!, opts.stdout ?? process.stdout);
    prefixLines(proc.stderr!, opts.stderr ?? process.stderr);
    if (proc.pid !== undefined) opts.log(`${opts.name} started (pid ${proc.pid})`);
    let ended = false;
    const onEnd = (how: string) => {
      if (ended) return;
      ended = true;
      child = undefined;
      if (stopping) return;
      crashes = Date.now() - startedAt >= opts.healthyAfterMs ? 1 : crashes + 1;
      const delay = restartDelay(crashes, opts.backoff);
      opts.log(`${opts.name} ${how}; restarting in ${delay} ms`);
      restartTimer = setTimeout(start, delay);
    };
    proc.once('exit', (code, signal) => onEnd(signal ? `killed by ${signal}` : `exited with code ${code}`));
    // A child that could not be started at all (no pid) emits 'error' and maybe no 'exit'; other errors
    // (a failed kill) leave it running.
    proc.on('error', (error) =>
      proc.pid === undefined ? onEnd(`failed to start: ${error.message}`) : opts.log(`${opts.name}: ${error.message}`),
    );
  };
  start();

  return {
    get pid() {
      return child?.pid;
    },
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => proc.kill('SIGKILL'), opts.stopTimeoutMs);
        proc.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        proc.kill('SIGTERM');
      });
    },
  };
}
