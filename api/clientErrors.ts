import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Requests Node rejects before Koa sees them (headers or URL over 16 KB, a malformed request line)
 * still get the API's JSON error format instead of Node's bare status line.
 */
export function jsonClientErrors(server: Server): Server {
  return server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const body = JSON.stringify({
      error: {
        code: tooLarge ? 'headers_too_large' : 'bad_request',
        message: tooLarge ? 'The URL or headers are larger than 16 KB' : 'The request is not valid HTTP',
        details: null,
      },
    });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
