/** Admin statistics of console users (issue 21): by state, role and module, and sign-ups per day. */
import { DateTime, IANAZone } from 'luxon';
import { z } from 'zod';
import { userStats } from '../../db/users.js';
import { MODULES } from '../../lib/accounts/modules.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import type { Api } from '../route.js';

/** The longest `from`–`to` range, in days: a year and a day (a leap year's whole calendar). */
const MAX_DAYS = 366;
const DEFAULT_DAYS = 30;

const Stats = z
  .object({
    total: z.number().int(),
    by_state: z.object({ active: z.number().int(), inactive: z.number().int(), unverified: z.number().int() }),
    by_role: z.object({ admin: z.number().int(), operator: z.number().int() }),
    by_permission: z
      .object(Object.fromEntries(MODULES.map((m) => [m, z.number().int()])))
      .describe('users who may use each module (every admin counts in every module)'),
    registrations: z.object({
      from: z.string(),
      to: z.string(),
      time_zone: z.string(),
      days: z.array(z.object({ date: z.string(), count: z.number().int() })).describe('every day, zeros included'),
    }),
  })
  .meta({ id: 'UserStats' });

export function adminStatsRoutes(api: Api, { db }: ApiDeps) {
  api.route({
    method: 'get',
    path: '/api/v1/admin/stats',
    summary: 'Users by state, role and module, and registrations per day',
    tag: 'users',
    access: ['admin'],
    query: z.object({
      from: z.iso
        .date()
        .optional()
        .describe(`first day counted (default: ${DEFAULT_DAYS - 1} days before \`to\`)`),
      to: z.iso.date().optional().describe('last day counted, inclusive (default: today in `time_zone`)'),
      time_zone: z
        .string()
        .max(100)
        .refine((zone) => IANAZone.isValidZone(zone), 'an IANA time zone, e.g. Europe/Kyiv')
        .default('UTC')
        .describe('whose calendar days registrations are counted in'),
    }),
    responses: { 200: { description: 'The statistics', schema: Stats } },
    handler: async (ctx, { query }) => {
      const to = query.to ?? DateTime.now().setZone(query.time_zone).toISODate()!;
      const from =
        query.from ??
        DateTime.fromISO(to)
          .minus({ days: DEFAULT_DAYS - 1 })
          .toISODate()!;
      const days = DateTime.fromISO(to).diff(DateTime.fromISO(from), 'days').days + 1;
      if (days < 1 || days > MAX_DAYS)
        throw new ApiError(400, 'validation_error', 'The request is invalid', [
          { path: 'from', message: `must be on or before \`to\`, at most ${MAX_DAYS} days before it` },
        ]);
      const stats = await userStats(db, { from, to, timeZone: query.time_zone, modules: MODULES });
      ctx.body = {
        total: stats.total,
        by_state: stats.by_state,
        by_role: stats.by_role,
        by_permission: stats.by_permission,
        registrations: { from, to, time_zone: query.time_zone, days: stats.registrations },
      };
    },
  });
}
