/** `npm run api`: the HTTP API (and the built console) as its own process. */
import { loadConfig } from '../lib/config.js';
import { openApiDeps } from './deps.js';
import { createApp } from './app.js';
import { jsonClientErrors } from './clientErrors.js';
import type { Server } from 'node:http';

export async function startApi(config = loadConfig()): Promise<{ server: Server; close(): Promise<void> }> {
  const deps = await openApiDeps(config);
  const server = jsonClientErrors(createApp(deps).listen(config.port));
  await new Promise<void>((resolve) => server.once('listening', resolve));
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
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void api.close().then(() => process.exit(0)));
}
