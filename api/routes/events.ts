import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { userAccess } from '../../db/users.js';
import { API_KEY_REVOKED } from '../../lib/accounts/accessCache.js';
import { USER_ACCESS_CHANGED, userMaySeeEvent } from '../../lib/accounts/modules.js';
import type { DomainEvent } from '../../lib/platform/events.js';
import type { Principal } from '../context.js';
import type { ApiDeps } from '../deps.js';
import { currentUser } from '../middleware/authenticate.js';
import type { Api } from '../route.js';

const HEARTBEAT_MS = 15_000;

/**
 * A merchant sees only events of its own tenant; an admin every event; an operator the events of the modules they
 * hold (lib/accounts/modules.ts: `appointment.*` → booking…).
 */
export function maySee(principal: Principal, event: DomainEvent): boolean {
  if (principal.kind === 'merchant') return event.merchant_id === principal.merchantId;
  return userMaySeeEvent(principal.role, principal.modules, event.type);
}

export function eventRoutes(api: Api, { db, events }: ApiDeps) {
  api.route({
    method: 'get',
    path: '/api/v1/events',
    summary: 'Live domain events as Server-Sent Events, filtered by what the caller may see',
    tag: 'events',
    access: ['operator', 'merchant'],
    query: z.object({ types: z.string().max(500).optional() }),
    responses: { 200: { description: 'An event stream', schema: z.string(), contentType: 'text/event-stream' } },
    handler: (ctx, { query }) => {
      let principal = ctx.state.principal!;
      const prefixes = query.types?.split(',').filter(Boolean) ?? [];
      const stream = new PassThrough();
      // A stream outlives its access token: when an admin changes this user (api/routes/users.ts announces it),
      // their role and modules are read again, and a deactivated or deleted user's stream ends.
      const reread = async (userId: string) => {
        const user = await currentUser((id) => userAccess(db, id), userId).catch(() => principal);
        if (typeof user === 'string') close();
        else principal = user;
      };
      const send = (event: DomainEvent) => {
        if (principal.kind === 'user' && event.type === USER_ACCESS_CHANGED && event.data.user_id === principal.userId)
          void reread(principal.userId);
        if (maySee(principal, event) && (!prefixes.length || prefixes.some((p) => event.type.startsWith(p))))
          stream.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
        // A merchant's stream ends with the revocation of the key that opened it (api/routes/merchants.ts announces it).
        if (
          principal.kind === 'merchant' &&
          event.type === API_KEY_REVOKED &&
          event.data.api_key_id === principal.apiKeyId
        )
          close();
      };
      const stop = events.listen(send);
      const heartbeat = setInterval(() => stream.write(': keep-alive\n\n'), HEARTBEAT_MS);
      const close = () => {
        clearInterval(heartbeat);
        stop();
        stream.end();
      };
      ctx.req.once('close', close);
      ctx.req.socket.setTimeout(0);
      ctx.set({ 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
      ctx.type = 'text/event-stream';
      ctx.status = 200;
      stream.write(': connected\n\n');
      ctx.body = stream;
    },
  });
}
