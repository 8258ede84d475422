import { PassThrough } from 'node:stream';
import { z } from 'zod';
import type { DomainEvent } from '../../lib/platform/events.js';
import type { Principal } from '../context.js';
import type { ApiDeps } from '../deps.js';
import type { Api } from '../route.js';

const HEARTBEAT_MS = 15_000;

/** Operators see everything; a merchant sees only events of its own tenant. */
export function maySee(principal: Principal, event: DomainEvent): boolean {
  return principal.kind === 'user' || event.merchant_id === principal.merchantId;
}

export function eventRoutes(api: Api, { events }: ApiDeps) {
  api.route({
    method: 'get',
    path: '/api/v1/events',
    summary: 'Live domain events as Server-Sent Events, filtered by what the caller may see',
    tag: 'events',
    access: ['operator', 'merchant'],
    query: z.object({ types: z.string().max(500).optional() }),
    responses: { 200: { description: 'An event stream', schema: z.string(), contentType: 'text/event-stream' } },
    handler: (ctx, { query }) => {
      const principal = ctx.state.principal!;
      const prefixes = query.types?.split(',').filter(Boolean) ?? [];
      const stream = new PassThrough();
      const send = (event: DomainEvent) => {
        if (!maySee(principal, event)) return;
        if (prefixes.length && !prefixes.some((p) => event.type.startsWith(p))) return;
        stream.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
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
