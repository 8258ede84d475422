/**
 * A deliberately low-level HTTP client for the fuzz suite: the path goes on the wire exactly as
 * given (no URL normalisation of `..`, no re-encoding), the body is raw bytes with whatever
 * Content-Type the case names, and an event stream is cut off once its headers arrived.
 */
import http from 'node:http';

export interface RawRequest {
  method: string;
  /** Sent verbatim: already percent-encoded where the case wants it encoded. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface RawResponse {
  status: number;
  contentType: string;
  headers: http.IncomingHttpHeaders;
  text: string;
}

const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

export function closeAgent() {
  agent.destroy();
}

/**
 * One request. A connection reset before any answer is retried once on a fresh connection: a pooled
 * keep-alive socket the server closed a moment earlier says nothing about this request.
 */
export async function send(baseUrl: string, req: RawRequest, timeoutMs = 30_000): Promise<RawResponse> {
  try {
    return await attempt(baseUrl, req, timeoutMs, agent);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ECONNRESET' && code !== 'EPIPE') throw error;
    return attempt(baseUrl, req, timeoutMs, false);
  }
}

function attempt(baseUrl: string, req: RawRequest, timeoutMs: number, via: http.Agent | false): Promise<RawResponse> {
  const base = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    let answered = false;
    let settled = false;
    const finish = (error: Error | null, response?: RawResponse) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve(response!);
    };
    const headers: Record<string, string> = { ...req.headers };
    if (req.body) headers['content-length'] = String(req.body.length);
    const request = http.request(
      {
        host: base.hostname,
        port: base.port,
        method: req.method,
        path: req.path,
        headers,
        agent: via,
        timeout: timeoutMs,
      },
      (res) => {
        answered = true;
        const contentType = String(res.headers['content-type'] ?? '');
        const answer = (text: string) => ({ status: res.statusCode!, contentType, headers: res.headers, text });
        // A live stream never ends by itself: its status and headers are the answer.
        if (contentType.startsWith('text/event-stream')) {
          finish(null, answer(''));
          res.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
        });
        res.on('end', () => finish(null, answer(Buffer.concat(chunks).toString('utf8'))));
        res.on('error', (error) => finish(error));
        res.on('close', () => finish(new Error('the response was cut off')));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    // The server may answer (413) and close before the whole body went out: the answer stands.
    request.on('error', (error) => {
      if (!answered) finish(error);
    });
    if (req.body) request.write(req.body);
    request.end();
  });
}
