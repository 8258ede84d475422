/** CFTC Commitments of Traders: ingestion runs (a Temporal workflow) and the cached read API. */
import type { ApiDeps } from '../deps.js';
import type { Api } from '../route.js';
import { cotMarketRoutes } from './cotMarkets.js';
import { cotRunRoutes } from './cotRuns.js';
import { cotScreenerRoutes } from './cotScreener.js';
import { cotStatusRoutes } from './cotStatus.js';

/** Every COT route, in the order the OpenAPI document lists them. */
export function cotRoutes(api: Api, deps: ApiDeps) {
  cotMarketRoutes(api, deps);
  cotScreenerRoutes(api, deps);
  cotStatusRoutes(api, deps);
  cotRunRoutes(api, deps);
}
