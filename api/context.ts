import type { RouterContext } from '@koa/router';
import type { Logger } from '../lib/platform/logger.js';
import type { Role } from '../db/models/User.js';
import type { Module } from '../lib/accounts/modules.js';

/**
 * Who is calling: a console user (access token) or a merchant (API key). A user's `role` and `modules` are read
 * from the database on every request (api/middleware/authenticate.ts), so a demotion, a revoked module or a
 * deactivation takes effect on the next request; `modules` is every module for an admin.
 */
export type Principal =
  | { kind: 'user'; userId: string; role: Role; modules: readonly Module[] }
  | { kind: 'merchant'; merchantId: string; apiKeyId: string };

export interface AppState {
  requestId: string;
  log: Logger;
  principal?: Principal;
}
export type AppContext = RouterContext<AppState> & { _matchedRoute?: string | RegExp };
