/** Company watches: a NIP re-checked about daily (one Schedule for all watches); changes recorded and announced. */
import { z } from 'zod';
import {
  createWatch,
  deleteWatch,
  findWatch,
  watchChanges,
  watchListQuery,
  type WatchRow,
} from '../../db/companies.js';
import { domainEvent, publish } from '../../lib/platform/events.js';
import type { AppContext } from '../context.js';
import type { ApiDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { pageOf, PageQuery } from '../pagination.js';
import type { Api } from '../route.js';
import type { Knex } from 'knex';
import { askerOf, changeView, NipIn, WatchDetailOut, WatchOut, watchView } from './companyShared.js';

const IdParams = z.object({ id: z.uuid() });
/** Changes shown with a watch; older ones stay stored. */
const CHANGES_SHOWN = 100;

/** The live watch the caller may reach: merchants their own, console users all. Throws a 404 ApiError otherwise. */
async function visibleWatch(db: Knex, ctx: AppContext, id: string): Promise<WatchRow> {
  const p = ctx.state.principal!;
  const watch = await findWatch(db, id, { merchantId: p.kind === 'merchant' ? p.merchantId : undefined });
  if (!watch) throw notFound('Watch');
  return watch;
}

/** Declares `/api/v1/companies/watches…`; registered before `/api/v1/companies/:nip` so `watches` is no NIP. */
export function companyWatchRoutes(api: Api, deps: ApiDeps) {
  const { config, db, redis } = deps;

  api.route({
    method: 'post',
    path: '/api/v1/companies/watches',
    summary:
      'Watch a NIP: re-checked about daily; a change of VAT status, name, addresses or accounts is recorded and sent as `company.changed` (webhook for merchants, live event)',
    tag: 'companies',
    access: ['merchant', 'operator'],
    idempotent: true,
    body: z.object({ nip: NipIn }),
    responses: {
      201: { description: 'Watching', schema: WatchOut },
      200: { description: 'The caller already watches this NIP: that watch', schema: WatchOut },
    },
    handler: async (ctx, { body }) => {
      const asker = askerOf(ctx);
      const { watch, created } = await createWatch(db, { nip: body.nip, ...asker }, config.companies.watch.intervalS);
      if (created)
        await publish(
          redis,
          domainEvent('company.watch_created', watch.merchant_id, { watch_id: watch.id, nip: watch.nip }),
        ).catch(() => {});
      ctx.status = created ? 201 : 200;
      ctx.body = watchView(watch);
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/companies/watches',
    summary: 'Watched companies, newest first: a merchant sees its own, console users all',
    tag: 'companies',
    access: ['merchant', 'operator'],
    query: PageQuery.extend({ nip: NipIn.optional() }),
    responses: {
      200: {
        description: 'A page',
        schema: z.object({ data: z.array(WatchOut), next_cursor: z.string().nullable() }),
      },
    },
    handler: async (ctx, { query }) => {
      const p = ctx.state.principal!;
      const page = await pageOf(
        watchListQuery(db, { merchantId: p.kind === 'merchant' ? p.merchantId : undefined, nip: query.nip }),
        query,
      );
      ctx.body = { data: (page.rows as WatchRow[]).map(watchView), next_cursor: page.nextCursor };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/companies/watches/:id',
    summary: 'One watch: the company as last seen and its change history',
    tag: 'companies',
    access: ['merchant', 'operator'],
    params: IdParams,
    responses: {
      200: { description: 'The watch', schema: WatchDetailOut },
      404: { description: 'No such watch' },
    },
    handler: async (ctx, { params }) => {
      const watch = await visibleWatch(db, ctx, params.id);
      const changes = await watchChanges(db, watch.id, CHANGES_SHOWN);
      ctx.body = { ...watchView(watch), company: watch.snapshot, changes: changes.map(changeView) };
    },
  });

  api.route({
    method: 'delete',
    path: '/api/v1/companies/watches/:id',
    summary: 'Stop watching (the change history stays stored)',
    tag: 'companies',
    access: ['merchant', 'operator'],
    params: IdParams,
    responses: { 204: { description: 'No longer watched' }, 404: { description: 'No such watch' } },
    handler: async (ctx, { params }) => {
      const watch = await visibleWatch(db, ctx, params.id);
      await deleteWatch(db, watch.id);
      ctx.status = 204;
    },
  });
}
