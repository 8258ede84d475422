/** Appointment booking: availability and holds; the appointments' own routes are in appointments.ts. */
import { z } from 'zod';
import { availability, blockFor, HoldLimitReached, holdAppointment, isSlotTaken } from '../../db/booking.js';
import { findWorkshop, findWorkshopMechanic, findWorkshopService } from '../../db/workshops.js';
import { daysBetween } from '../../lib/booking/slots.js';
import { newId } from '../../lib/platform/ids.js';
import { sha256 } from '../../lib/platform/crypto.js';
import { domainEvent, publish } from '../../lib/platform/events.js';
import { startAppointmentWorkflow } from '../../clients/booking.js';
import { appointmentWorkflowId } from '../../workflows/contracts/booking.js';
import type { AppContext } from '../context.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import type { Api } from '../route.js';
import { appointmentRoutes } from './appointments.js';
import {
  APPOINTMENT_TOKEN_HEADER,
  AppointmentOut,
  appointmentHelpers,
  IdParams,
  iso,
  slotView,
} from './bookingShared.js';

const MAX_RANGE_DAYS = 62;

const SlotOut = z
  .object({ start: z.string(), end: z.string(), mechanic_ids: z.array(z.string()) })
  .meta({ id: 'Slot' });

const CreateAppointment = z.object({
  workshop_id: z.uuid(),
  service_id: z.uuid(),
  start: iso,
  mechanic_id: z.uuid().optional(),
  customer: z.object({
    name: z.string().trim().min(1).max(200),
    email: z.email().max(254),
    phone: z.string().trim().max(50).optional(),
  }),
  vehicle: z.object({
    make: z.string().trim().min(1).max(80),
    model: z.string().trim().min(1).max(80),
    year: z.number().int().min(1900).max(2100).optional(),
    plate: z.string().trim().max(20).optional(),
  }),
  diagnosis_session_id: z.string().max(100).optional(),
});
const AvailabilityQuery = z
  .object({ date_from: z.iso.date(), date_to: z.iso.date(), service: z.uuid(), mechanic: z.uuid().optional() })
  .refine((q) => q.date_from <= q.date_to, { message: 'date_from must not be after date_to', path: ['date_to'] })
  .refine((q) => daysBetween(q.date_from, q.date_to) < MAX_RANGE_DAYS, {
    message: `at most ${MAX_RANGE_DAYS} days`,
    path: ['date_to'],
  });

/** Who asks for a hold, for the per-client hold limit: the credential when one is used, else the client IP. */
function clientKey(ctx: AppContext): string {
  const principal = ctx.state.principal;
  if (!principal) return `ip:${ctx.ip}`;
  return principal.kind === 'merchant' ? `key:${principal.apiKeyId}` : `user:${principal.userId}`;
}

/** A 429 for a hold past the limits, with Retry-After: when the earliest of the holds that count expires. */
function holdLimitError(e: HoldLimitReached): ApiError {
  const retryAfter = Math.max(1, Math.ceil((e.retryAt.getTime() - Date.now()) / 1000));
  const who = e.limit === 'email' ? 'this email address' : 'this client';
  return new ApiError(
    429,
    'too_many_holds',
    `${who} already holds ${e.max} unconfirmed appointment(s): confirm or cancel one, or wait until one expires`,
    { limit: e.limit, max: e.max, retry_after_s: retryAfter },
    { 'Retry-After': String(retryAfter) },
  );
}

export function bookingRoutes(api: Api, deps: ApiDeps) {
  const { config, db, temporal, redis } = deps;
  const { views, slotsFrom, unavailable } = appointmentHelpers(deps);

  async function workshopService(workshopId: string, serviceId: string) {
    const workshop = await findWorkshop(db, workshopId);
    if (!workshop) throw notFound('Workshop');
    const service = await findWorkshopService(db, workshopId, serviceId);
    if (!service)
      throw new ApiError(400, 'validation_error', 'The service is not offered by this workshop', [
        { path: 'service_id', message: 'unknown service' },
      ]);
    return { workshop, service };
  }

  api.route({
    method: 'get',
    path: '/api/v1/workshops/:id/availability',
    summary: "Free slots for a service in the workshop's time zone",
    tag: 'booking',
    access: ['public'],
    params: IdParams,
    query: AvailabilityQuery,
    responses: {
      200: {
        description: 'Free slots, earliest first; each names the mechanics free for it',
        schema: z.object({ time_zone: z.string(), data: z.array(SlotOut) }),
      },
      404: { description: 'No such workshop' },
    },
    handler: async (ctx, { params, query }) => {
      const { workshop, service } = await workshopService(params.id, query.service);
      const slots = await availability(db, {
        workshop,
        service,
        dateFrom: query.date_from,
        dateTo: query.date_to,
        mechanicId: query.mechanic,
        stepMin: config.booking.slotStepMin,
        notBefore: new Date(Date.now() + config.booking.minNoticeMin * 60_000),
      });
      ctx.body = { time_zone: workshop.time_zone, data: slots.map(slotView) };
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/appointments',
    summary: 'Book: holds the slot until confirmed (or the hold expires)',
    tag: 'booking',
    access: ['public', 'operator'],
    body: CreateAppointment,
    responses: {
      201: {
        description: `Held; keep access_token for ${APPOINTMENT_TOKEN_HEADER}`,
        schema: AppointmentOut.extend({ access_token: z.string() }),
      },
      404: { description: 'No such workshop' },
      409: { description: 'slot_unavailable, with the next free slots' },
      429: {
        description:
          'too_many_holds: the customer email or the client (IP, or credential) already has as many unconfirmed ' +
          'holds as allowed (BOOKING_MAX_HOLDS_PER_EMAIL, BOOKING_MAX_HOLDS_PER_CLIENT); Retry-After says when ' +
          'the earliest expires. Also rate_limited.',
      },
    },
    handler: async (ctx, { body }) => {
      const { workshop, service } = await workshopService(body.workshop_id, body.service_id);
      if (body.mechanic_id && !(await findWorkshopMechanic(db, workshop.id, body.mechanic_id, true))) {
        throw new ApiError(400, 'validation_error', 'The mechanic does not work at this workshop', [
          { path: 'mechanic_id', message: 'unknown mechanic' },
        ]);
      }
      const start = new Date(body.start);
      const slot = (await slotsFrom(workshop, service, start, 0, body.mechanic_id)).find(
        (s) => s.start.getTime() === start.getTime(),
      );
      if (!slot) throw unavailable(await slotsFrom(workshop, service, start, 7, body.mechanic_id));

      const token = newId('at', 32);
      // Each free mechanic in turn: the exclusion constraint settles races between concurrent bookings.
      for (const mechanicId of slot.mechanic_ids) {
        try {
          const hold = {
            workshop_id: workshop.id,
            mechanic_id: mechanicId,
            service_id: service.id,
            ...blockFor(service, start),
            customer_name: body.customer.name,
            customer_email: body.customer.email,
            customer_phone: body.customer.phone ?? null,
            vehicle: body.vehicle,
            diagnosis_session_id: body.diagnosis_session_id ?? null,
            access_token_hash: sha256(token),
            hold_expires_at: new Date(Date.now() + config.booking.holdS * 1000),
            client_key: clientKey(ctx),
          };
          // Started inside the transaction: if Temporal refuses, the hold is rolled back.
          const appointment = await holdAppointment(db, hold, config.booking.maxHolds, (held) =>
            startAppointmentWorkflow(temporal.client, config, {
              appointmentId: held.id,
              startsAt: start.toISOString(),
              durationMin: service.duration_min,
              holdMs: config.booking.holdS * 1000,
              remindersMs: config.booking.remindersS.map((s) => s * 1000),
              closeAfterMs: config.booking.closeAfterS * 1000,
            }),
          );
          await publish(
            redis,
            domainEvent('appointment.held', null, {
              appointment_id: appointment.id,
              workshop_id: workshop.id,
              workflow_id: appointmentWorkflowId(appointment.id),
            }),
          ).catch(() => {});
          ctx.status = 201;
          const [shown] = await views([appointment], ctx.state.principal?.kind === 'user');
          ctx.body = { ...shown, access_token: token };
          return;
        } catch (error) {
          if (error instanceof HoldLimitReached) throw holdLimitError(error);
          if (!isSlotTaken(error)) throw error;
        }
      }
      throw unavailable(await slotsFrom(workshop, service, start, 7, body.mechanic_id), 'That time was just taken');
    },
  });

  appointmentRoutes(api, deps);
}
