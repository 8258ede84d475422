/**
 * Run by test/security.test.ts in a child process: an API logging at `trace` to this process's
 * stdout, so the test can read every line it writes and look for secrets. Prints one
 * `security-logs-api <url>` line when listening and shuts down cleanly on SIGTERM.
 */
import { startApi } from './helpers.js';

const api = await startApi({ LOG_LEVEL: 'trace' });
process.stdout.write(`security-logs-api ${api.url}\n`);

process.once('SIGTERM', () => {
  api.close().then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`close failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
