/** Workshops and what availability is computed from: mechanics, weekly hours, date overrides, services. */
import { z, type ZodObject, type ZodRawShape, type ZodType } from 'zod';
import {
  createWorkshop,
  deleteWorkshop,
  deleteWorkshopRow,
  findWorkshop,
  findWorkshopMechanic,
  findWorkshopRow,
  insertWorkshopRow,
  listWorkshopRows,
  listWorkshops,
  patchWorkshop,
  updateWorkshopRow,
  type WorkshopCollection,
} from '../../db/workshops.js';
import { isTimeZone } from '../../lib/platform/config.js';
import { CurrencyIn } from '../currency.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import type { Api } from '../route.js';

const time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM');
const ordered = (h: {
  opens?: string | null;
  closes?: string | null;
  break_start?: string | null;
  break_end?: string | null;
}) =>
  (!h.opens || !h.closes || h.opens < h.closes) &&
  !h.break_start === !h.break_end &&
  (!h.break_start || (h.opens! <= h.break_start && h.break_start < h.break_end! && h.break_end! <= h.closes!));
const orderMessage = { message: 'needs opens < closes and a break (both ends or none) inside them' };

const WorkshopIn = z.object({
  name: z.string().trim().min(1).max(200),
  address: z.string().trim().min(1).max(500),
  time_zone: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Kyiv'),
  phone: z.string().max(50).nullish(),
  email: z.email().max(254).nullish(),
});
const MechanicIn = z.object({ name: z.string().trim().min(1).max(200), active: z.boolean().default(true) });
const ServiceIn = z.object({
  name: z.string().trim().min(1).max(200),
  duration_min: z.number().int().min(5).max(1440),
  buffer_before_min: z.number().int().min(0).max(240).default(0),
  buffer_after_min: z.number().int().min(0).max(240).default(0),
  price_min: z.number().int().nonnegative().nullish(),
  price_max: z.number().int().nonnegative().nullish(),
  currency: CurrencyIn.nullish(),
});
const HoursIn = z
  .object({
    weekday: z.number().int().min(1).max(7),
    mechanic_id: z.uuid().nullish(),
    opens: time,
    closes: time,
    break_start: time.nullish(),
    break_end: time.nullish(),
  })
  .refine(ordered, orderMessage);
const OverrideIn = z
  .object({
    date: z.iso.date(),
    mechanic_id: z.uuid().nullish(),
    closed: z.boolean(),
    opens: time.nullish(),
    closes: time.nullish(),
    break_start: time.nullish(),
    break_end: time.nullish(),
  })
  .refine((o) => o.closed || (o.opens && o.closes), { message: 'an open override needs opens and closes' })
  .refine(ordered, orderMessage);

const WorkshopParams = z.object({ id: z.uuid() });

const WorkshopOut = z
  .object({
    id: z.string(),
    name: z.string(),
    address: z.string(),
    time_zone: z.string(),
    phone: z.string().nullable(),
    email: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'Workshop' });
const rowOf = { id: z.string(), workshop_id: z.string() };
const MechanicOut = z
  .object({ ...rowOf, name: z.string(), active: z.boolean(), created_at: z.string() })
  .meta({ id: 'Mechanic' });
const ServiceOut = z
  .object({
    ...rowOf,
    name: z.string(),
    duration_min: z.number(),
    buffer_before_min: z.number(),
    buffer_after_min: z.number(),
    /** Major units of `currency` (the seed's oil change: 1200–2500 UAH). */
    price_min: z.number().nullable(),
    price_max: z.number().nullable(),
    currency: z.string().nullable(),
  })
  .meta({ id: 'Service' });
/** Times of day as `HH:MM` on the workshop's clock. */
const hoursOf = {
  ...rowOf,
  mechanic_id: z.string().nullable(),
  opens: z.string().nullable(),
  closes: z.string().nullable(),
  break_start: z.string().nullable(),
  break_end: z.string().nullable(),
};
const HoursOut = z
  .object({
    ...hoursOf,
    weekday: z.number().describe('ISO weekday: 1 Monday … 7 Sunday'),
    opens: z.string(),
    closes: z.string(),
  })
  .meta({ id: 'WorkingHours' });
const OverrideOut = z
  .object({
    ...hoursOf,
    date: z.string().describe("YYYY-MM-DD, a date on the workshop's calendar"),
    closed: z.boolean(),
  })
  .meta({ id: 'DateOverride' });

interface Collection<S extends ZodRawShape> {
  /** Plural noun in paths: `/api/v1/workshops/{id}/<name>` and `/api/v1/<name>/{id}`. */
  name: WorkshopCollection;
  input: ZodObject<S>;
  /** A row as the API shows it (for the OpenAPI document). */
  output: ZodType;
  /** Extra checks against the workshop (e.g. a mechanic belongs to it). */
  check?: (workshopId: string, body: z.output<ZodObject<S>>) => Promise<void>;
  /** Appointments refer to these rows: removing one they still refer to is a 409. */
  booked?: boolean;
}

export function workshopRoutes(api: Api, { db }: ApiDeps) {
  const existingWorkshop = async (id: string) => (await findWorkshop(db, id)) ?? Promise.reject(notFound('Workshop'));
  const mechanicOfWorkshop = async (workshopId: string, body: { mechanic_id?: string | null }) => {
    if (body.mechanic_id && !(await findWorkshopMechanic(db, workshopId, body.mechanic_id))) {
      throw new ApiError(400, 'validation_error', 'The mechanic does not work at this workshop', [
        { path: 'mechanic_id', message: 'unknown mechanic' },
      ]);
    }
  };

  api.route({
    method: 'get',
    path: '/api/v1/workshops',
    summary: 'Workshops',
    tag: 'booking',
    access: ['public'],
    responses: {
      200: { description: 'All workshops, by name', schema: z.object({ data: z.array(WorkshopOut) }) },
    },
    handler: async (ctx) => {
      ctx.body = { data: await listWorkshops(db) };
    },
  });
  api.route({
    method: 'get',
    path: '/api/v1/workshops/:id',
    summary: 'One workshop',
    tag: 'booking',
    access: ['public'],
    params: WorkshopParams,
    responses: {
      200: { description: 'The workshop', schema: WorkshopOut },
      404: { description: 'No such workshop' },
    },
    handler: async (ctx, { params }) => {
      ctx.body = await existingWorkshop(params.id);
    },
  });
  api.route({
    method: 'post',
    path: '/api/v1/workshops',
    summary: 'Create a workshop',
    tag: 'booking',
    access: ['operator'],
    body: WorkshopIn,
    responses: { 201: { description: 'Created', schema: WorkshopOut } },
    handler: async (ctx, { body }) => {
      ctx.status = 201;
      ctx.body = await createWorkshop(db, body);
    },
  });
  api.route({
    method: 'patch',
    path: '/api/v1/workshops/:id',
    summary: 'Change a workshop',
    tag: 'booking',
    access: ['operator'],
    params: WorkshopParams,
    body: WorkshopIn.partial().refine((b) => Object.keys(b).length > 0, 'nothing to change'),
    responses: {
      200: { description: 'Changed', schema: WorkshopOut },
      404: { description: 'No such workshop' },
    },
    handler: async (ctx, { params, body }) => {
      await existingWorkshop(params.id);
      ctx.body = await patchWorkshop(db, params.id, body);
    },
  });

  api.route({
    method: 'delete',
    path: '/api/v1/workshops/:id',
    summary: 'Remove a workshop with its mechanics, hours and services (409 while it has appointments)',
    tag: 'booking',
    access: ['operator'],
    params: WorkshopParams,
    responses: {
      204: { description: 'Removed' },
      404: { description: 'No such workshop' },
      409: { description: 'It still has appointments' },
    },
    handler: async (ctx, { params }) => {
      if (!(await deleteWorkshop(db, params.id))) throw notFound('Workshop');
      ctx.status = 204;
    },
  });

  /** list / create under a workshop, replace / delete by id: the same four routes for each collection. */
  function collection<S extends ZodRawShape>(c: Collection<S>) {
    const tableParams = z.object({ id: z.uuid() });
    api.route({
      method: 'get',
      path: `/api/v1/workshops/:id/${c.name}`,
      summary: `A workshop's ${c.name}`,
      tag: 'booking',
      access: ['public'],
      params: tableParams,
      responses: {
        200: { description: 'All of them', schema: z.object({ data: z.array(c.output) }) },
        404: { description: 'No such workshop' },
      },
      handler: async (ctx, { params }) => {
        await existingWorkshop(params.id);
        ctx.body = { data: await listWorkshopRows(db, c.name, params.id) };
      },
    });
    api.route({
      method: 'post',
      path: `/api/v1/workshops/:id/${c.name}`,
      summary: `Add to a workshop's ${c.name}`,
      tag: 'booking',
      access: ['operator'],
      params: tableParams,
      body: c.input,
      responses: {
        201: { description: 'Created', schema: c.output },
        404: { description: 'No such workshop' },
      },
      handler: async (ctx, { params, body }) => {
        await existingWorkshop(params.id);
        await c.check?.(params.id, body);
        ctx.status = 201;
        ctx.body = await insertWorkshopRow(db, c.name, params.id, body);
      },
    });
    api.route({
      method: 'put',
      path: `/api/v1/${c.name}/:id`,
      summary: `Replace one of a workshop's ${c.name}`,
      tag: 'booking',
      access: ['operator'],
      params: tableParams,
      body: c.input,
      responses: {
        200: { description: 'Replaced', schema: c.output },
        404: { description: 'Not found' },
      },
      handler: async (ctx, { params, body }) => {
        const row = await findWorkshopRow(db, c.name, params.id);
        if (!row) throw notFound(c.name);
        await c.check?.(row.workshop_id, body);
        // A replacement: a field left out is cleared, not kept from the old row.
        const replacement = Object.fromEntries(
          Object.keys(c.input.shape).map((key) => [key, (body as Record<string, unknown>)[key] ?? null]),
        );
        ctx.body = await updateWorkshopRow(db, c.name, params.id, replacement);
      },
    });
    api.route({
      method: 'delete',
      path: `/api/v1/${c.name}/:id`,
      summary: `Remove one of a workshop's ${c.name}`,
      tag: 'booking',
      access: ['operator'],
      params: tableParams,
      responses: c.booked
        ? {
            204: { description: 'Removed' },
            404: { description: 'Not found' },
            409: { description: 'Appointments still refer to it' },
          }
        : { 204: { description: 'Removed' }, 404: { description: 'Not found' } },
      handler: async (ctx, { params }) => {
        if (!(await deleteWorkshopRow(db, c.name, params.id))) throw notFound(c.name);
        ctx.status = 204;
      },
    });
  }

  collection({ name: 'mechanics', input: MechanicIn, output: MechanicOut, booked: true });
  collection({ name: 'services', input: ServiceIn, output: ServiceOut, booked: true });
  collection({ name: 'hours', input: HoursIn as never, output: HoursOut, check: mechanicOfWorkshop });
  collection({ name: 'overrides', input: OverrideIn as never, output: OverrideOut, check: mechanicOfWorkshop });
}
