/**
 * The supervisor `npm start` runs the worker under (scripts/supervise.ts), with a small child that crashes on
 * cue: restarts wait longer after each crash in a row up to the cap, a healthy run resets the wait, a child
 * killed with SIGKILL comes back, output arrives prefixed, the environment is passed on, and stop() ends the
 * child with SIGTERM and restarts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { supervise } from '../../scripts/supervise.js';
import { waitFor } from '../receiver.js';
import { pause } from './processes.js';

const dir = mkdtempSync(path.join(tmpdir(), 'meridian-supervise-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Counts its runs in RUNS_FILE: runs 1–3 crash at once, run 4 lives LIVE_MS then crashes, later runs stay up. */
const child = `
const fs = require('node:fs');
fs.appendFileSync(process.env.RUNS_FILE, 'x');
const run = fs.readFileSync(process.env.RUNS_FILE, 'utf8').length;
console.log('run ' + run + ' marked ' + process.env.MARK);
console.error('run ' + run + ' on stderr');
process.on('SIGTERM', () => { console.log('run ' + run + ' got SIGTERM'); process.exit(0); });
if (run <= 3) process.exit(1);
else if (run === 4) setTimeout(() => process.exit(3), Number(process.env.LIVE_MS));
else setInterval(() => {}, 1000);
`;

function collect() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk) => (text += chunk));
  return { stream, lines: () => text.split('\n').filter(Boolean) };
}

describe('the process supervisor', () => {
  it('restarts with capped exponential back-off, resets after a healthy run, and stops without restarting', async () => {
    const messages: string[] = [];
    const out = collect();
    const err = collect();
    const supervised = supervise({
      name: 'child',
      command: process.execPath,
      args: ['-e', child],
      env: { ...process.env, RUNS_FILE: path.join(dir, 'runs'), LIVE_MS: '4000', MARK: 'from-parent' },
      backoff: { initialMs: 200, maxMs: 700 },
      healthyAfterMs: 3000,
      stopTimeoutMs: 5000,
      log: (m) => messages.push(m),
      stdout: out.stream,
      stderr: err.stream,
    });

    // Three crashes in a row (200, 400, then 800 capped at 700), a healthy run (4 s, over the 3 s that count): back to 200.
    await waitFor(() => out.lines().some((l) => l.includes('run 5 marked')), 20_000, 'the fifth run');
    expect(messages.filter((m) => m.includes('restarting'))).toEqual([
      'child exited with code 1; restarting in 200 ms',
      'child exited with code 1; restarting in 400 ms',
      'child exited with code 1; restarting in 700 ms',
      'child exited with code 3; restarting in 200 ms',
    ]);

    // Killed without warning: it comes back (a short run after the reset: the second wait).
    const killed = supervised.pid!;
    expect(killed).toBeGreaterThan(0);
    process.kill(killed, 'SIGKILL');
    await waitFor(() => supervised.pid !== undefined && supervised.pid !== killed, 10_000, 'a new child');
    expect(messages).toContain('child killed by SIGKILL; restarting in 400 ms');
    await waitFor(() => out.lines().some((l) => l.includes('run 6 marked')), 10_000, 'the sixth run');

    // Every line came through with its prefix, on the stream it was written to, with the parent's environment.
    expect(out.lines().length).toBeGreaterThanOrEqual(6);
    for (const line of out.lines()) expect(line).toMatch(/^\[child\] run \d+ /);
    expect(out.lines()).toContain('[child] run 1 marked from-parent');
    // stderr is a pipe of its own: its lines may trail stdout's by a moment.
    await waitFor(() => err.lines().length >= 6, 5_000, 'the stderr lines');
    expect(err.lines()).toEqual([1, 2, 3, 4, 5, 6].map((n) => `[child] run ${n} on stderr`));

    // stop(): SIGTERM, waited for; nothing restarts afterwards.
    const last = supervised.pid!;
    await supervised.stop();
    await waitFor(() => out.lines().includes('[child] run 6 got SIGTERM'), 5_000, 'the SIGTERM line');
    expect(() => process.kill(last, 0)).toThrow();
    expect(supervised.pid).toBeUndefined();
    const logged = messages.length;
    await pause(1500);
    expect(messages.length).toBe(logged);
    expect(out.lines().some((l) => l.includes('run 7'))).toBe(false);
  });
});
