import type { RouterContext } from '@koa/router';
import type { Logger } from '../lib/logger.js';
import type { Principal } from './middleware/authenticate.js';

export interface AppState {
  requestId: string;
  log: Logger;
  principal?: Principal;
}
export type AppContext = RouterContext<AppState> & { _matchedRoute?: string | RegExp };
