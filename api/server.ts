/** `npm run api`: the HTTP API (and the built console) as its own process. */
import { loadConfig } from '../lib/platform/config.js';
import { openApiDeps } from './deps.js';
import { createApp } from './app.js';
import { jsonClientErrors } from './clientErrors.js';
import type { Server } from 'node:http';
import type { ApiDeps } from './deps.js';

/** The app listening on `port`, with Node's own refusals in the JSON error format too; resolves once it listens. */
export async function listen(deps: ApiDeps, port: number, host?: string): Promise<Server> {
  const server = jsonClientErrors(createApp(deps).listen(port, host));
  // An idle keep-alive connection must outlive the client's idle timeout (undici 4 s, proxies ~60 s): when the server
  // closes first, a request the client sends on it at that moment is reset (seen when a busy process's timers ran late).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return server;
}

export async function startApi(config = loadConfig()): Promise<{ server: Server; close(): Promise<void> }> {
  const deps = await openApiDeps(config);
  const server = await listen(deps, config.port);
  deps.log.info({ url: config.publicUrl }, 'api listening');
  return {
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await deps.close();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const api = await startApi();
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => void api.close().then(() => process.exit(0)));
}
