import type { RouterContext } from '@koa/router';
import type { Logger } from '../lib/platform/logger.js';
import type { Role } from '../db/models/User.js';

/** Who is calling: an operator (access token) or a merchant (API key). */
export type Principal =
  { kind: 'user'; userId: string; role: Role } | { kind: 'merchant'; merchantId: string; apiKeyId: string };

export interface AppState {
  requestId: string;
  log: Logger;
  principal?: Principal;
}
export type AppContext = RouterContext<AppState> & { _matchedRoute?: string | RegExp };
