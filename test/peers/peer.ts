/**
 * A peer that misbehaves on purpose, at the TCP level so nothing in Node's HTTP server tidies it up:
 * it reads one request, then answers the way the current `behaviour` says — a plain HTTP/1.0 server that
 * closes after the body, a reset in the middle of the body, a `Content-Length` it does not keep, bytes
 * dripped slower than any sane timeout, more bytes than any cap, headers that never end, a gzip body.
 * What it answers (status, headers, body) comes from `answer`, so each outbound path gets content it can use.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';

export const behaviours = [
  'http10-close',
  'http10-close-large',
  'reset-mid-body',
  'short-content-length',
  'drip',
  'over-cap',
  'endless-headers',
  'gzip',
] as const;
export type Behaviour = (typeof behaviours)[number];

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body: Buffer;
}

export interface PeerRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface PeerOptions {
  /** The well-formed answer to a request; `large` asks for a multi-megabyte one (same meaning). */
  answer(request: PeerRequest, large: boolean): Answer;
  /** How many bytes `over-cap` sends: more than the cap of the path under test. */
  overCapBytes: number;
  /** The pause between two dripped bytes: longer than the path's timeout. */
  dripEveryMs: number;
}

const reason = (status: number) => ({ 200: 'OK', 201: 'Created', 204: 'No Content', 404: 'Not Found' })[status] ?? 'OK';

function head(version: string, status: number, headers: Record<string, string>): string {
  return `${version} ${status} ${reason(status)}\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

/** Reads one request (head and `Content-Length` body) off the socket. */
function readRequest(socket: Socket): Promise<PeerRequest> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [line, ...lines] = buffered.subarray(0, end).toString('latin1').split('\r\n');
      const headers = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      const length = Number(headers['content-length'] ?? 0);
      if (buffered.length < end + 4 + length) return;
      socket.off('data', onData);
      const [method, path] = line.split(' ');
      resolve({ method, path, headers, body: buffered.subarray(end + 4, end + 4 + length) });
    };
    socket.on('data', onData);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const write = (socket: Socket, data: Buffer | string) =>
  new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.write(data, () => resolve())));

export async function startPeer(options: PeerOptions) {
  let behaviour: Behaviour = 'http10-close';
  const requests: PeerRequest[] = [];
  const sockets = new Set<Socket>();

  async function respond(socket: Socket) {
    const request = await readRequest(socket);
    requests.push(request);
    const current = behaviour;
    const answer = options.answer(request, current === 'http10-close-large');
    const headers = { 'Content-Type': 'application/octet-stream', ...answer.headers };
    const body = answer.body;
    switch (current) {
      case 'http10-close':
      case 'http10-close-large':
        await write(socket, head('HTTP/1.0', answer.status, { ...headers, 'Content-Length': String(body.length) }));
        await write(socket, body);
        socket.end();
        return;
      case 'reset-mid-body':
        await write(socket, head('HTTP/1.1', answer.status, { ...headers, 'Content-Length': String(body.length) }));
        await write(socket, body.subarray(0, Math.floor(body.length / 2)));
        await sleep(50);
        socket.resetAndDestroy();
        return;
      case 'short-content-length':
        await write(socket, head('HTTP/1.0', answer.status, { ...headers, 'Content-Length': String(body.length * 2) }));
        await write(socket, body);
        socket.end();
        return;
      case 'drip': {
        await write(socket, head('HTTP/1.1', answer.status, { ...headers, 'Content-Length': String(body.length) }));
        for (const byte of body) {
          if (socket.destroyed) return;
          await write(socket, Buffer.from([byte]));
          await sleep(options.dripEveryMs);
        }
        socket.end();
        return;
      }
      case 'over-cap': {
        // No length announced: only counting the bytes tells the receiver it is too much.
        await write(socket, head('HTTP/1.0', answer.status, headers));
        const block = Buffer.alloc(64 * 1024, 0x20);
        block.set(body.subarray(0, block.length));
        for (let sent = 0; sent < options.overCapBytes && !socket.destroyed; sent += block.length)
          await write(socket, block);
        socket.end();
        return;
      }
      case 'endless-headers':
        await write(socket, `HTTP/1.1 ${answer.status} ${reason(answer.status)}\r\n`);
        for (let i = 0; !socket.destroyed && i < 1_000_000; i++)
          await write(socket, `X-Padding-${i}: ${'a'.repeat(64)}\r\n`);
        return;
      case 'gzip': {
        const zipped = gzipSync(body);
        await write(
          socket,
          head('HTTP/1.1', answer.status, {
            ...headers,
            'Content-Encoding': 'gzip',
            'Content-Length': String(zipped.length),
            Connection: 'close',
          }),
        );
        await write(socket, zipped);
        socket.end();
        return;
      }
    }
  }

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    respond(socket).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    set behaviour(b: Behaviour) {
      behaviour = b;
    },
    get behaviour() {
      return behaviour;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
