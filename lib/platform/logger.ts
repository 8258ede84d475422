import { pino, type Logger } from 'pino';

/** Paths that may carry credentials; pino replaces them before a line is written. */
const redact = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.api_key',
  '*.webhook_secret',
  '*.refresh_token',
  '*.access_token',
];

export function createLogger(level: string, name: string): Logger {
  return pino({ level, name, redact: { paths: redact, censor: '[redacted]' } });
}
export type { Logger };
