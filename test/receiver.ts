/** A real webhook receiver on loopback: records every request, answers from a script of statuses. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export async function startReceiver() {
  const received: Received[] = [];
  /** Statuses for the next requests, in order; afterwards `fallback`. */
  const script: Array<number | { status: number; headers?: Record<string, string>; delayMs?: number }> = [];
  let fallback = 200;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const next = script.shift() ?? fallback;
      const step = typeof next === 'number' ? { status: next } : next;
      if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
      res.writeHead(step.status, { 'content-type': 'text/plain', ...step.headers });
      res.end(`answered ${step.status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    script,
    setFallback: (status: number) => void (fallback = status),
    /** Requests for one event type, in arrival order. */
    forType: (type: string) => received.filter((r) => JSON.parse(r.body).type === type),
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
