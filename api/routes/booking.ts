/** Appointment booking: availability, holds, confirmation, reschedule, cancel, visit outcome. */
import { WorkflowIdReusePolicy, type WorkflowHandle } from '@temporalio/client';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { availability, blockFor, isSlotTaken, logAppointmentEvent, type AvailableSlot } from '../../db/booking.js';
import { Appointment, AppointmentEvent, appointmentStatuses } from '../../db/models/Appointment.js';
import { Mechanic, Service, Workshop } from '../../db/models/Workshop.js';
import { newId } from '../../lib/platform/ids.js';
import { sha256 } from '../../lib/platform/crypto.js';
import { domainEvent, publish } from '../../lib/platform/events.js';
import { BusinessStatus } from '../../lib/platform/searchAttributes.js';
import { workflowUrl } from '../../lib/platform/temporal.js';
import type { AppointmentInput, AppointmentWorkflow } from '../../workflows/contracts/booking.js';
import {
  appointmentWorkflowId,
  cancelAppointment,
  confirmAppointment,
  recordVisit,
  rescheduleAppointmentUpdate,
} from '../../workflows/contracts/booking.js';
import type { AppContext } from '../context.js';
import type { ApiDeps } from '../deps.js';
import { customerOrOperator, runUpdate } from '../customerAccess.js';
import { ApiError, notFound } from '../errors.js';
import type { Api } from '../route.js';
import { isoOrNull } from '../dates.js';

/** The customer's credential for one appointment, returned once at booking. */
export const APPOINTMENT_TOKEN_HEADER = 'x-appointment-token';
const MAX_RANGE_DAYS = 62;
const NEXT_SLOTS = 5;

const SlotOut = z
  .object({ start: z.string(), end: z.string(), mechanic_ids: z.array(z.string()) })
  .meta({ id: 'Slot' });
const AppointmentOut = z
  .object({
    id: z.string(),
    workshop_id: z.string(),
    mechanic_id: z.string(),
    service_id: z.string(),
    starts_at: z.string(),
    ends_at: z.string(),
    status: z.enum(appointmentStatuses),
    customer: z.object({ name: z.string(), email: z.string(), phone: z.string().nullable() }),
    vehicle: z.record(z.string(), z.unknown()),
    diagnosis_session_id: z.string().nullable(),
    hold_expires_at: z.string().nullable(),
    cancel_reason: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    workflow_id: z.string().optional(),
    temporal_url: z.string().optional(),
  })
  .meta({ id: 'Appointment' });
const AppointmentDetail = AppointmentOut.extend({
  timeline: z.array(z.object({ type: z.string(), data: z.record(z.string(), z.unknown()), created_at: z.string() })),
}).meta({ id: 'AppointmentDetail' });

const iso = z.iso.datetime({ offset: true });
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
const IdParams = z.object({ id: z.uuid() });
const AvailabilityQuery = z
  .object({ date_from: z.iso.date(), date_to: z.iso.date(), service: z.uuid(), mechanic: z.uuid().optional() })
  .refine((q) => q.date_from <= q.date_to, { message: 'date_from must not be after date_to', path: ['date_to'] })
  .refine((q) => DateTime.fromISO(q.date_to).diff(DateTime.fromISO(q.date_from), 'days').days < MAX_RANGE_DAYS, {
    message: `at most ${MAX_RANGE_DAYS} days`,
    path: ['date_to'],
  });
const ListQuery = z.object({
  workshop_id: z.uuid().optional(),
  mechanic_id: z.uuid().optional(),
  status: z.enum(appointmentStatuses).optional(),
  email: z.string().max(254).optional(),
  from: iso.optional(),
  to: iso.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(200),
});

const slotView = (s: AvailableSlot) => ({
  start: s.start.toISOString(),
  end: s.end.toISOString(),
  mechanic_ids: s.mechanic_ids,
});

export function bookingRoutes(api: Api, deps: ApiDeps) {
  const { config, db, temporal, redis } = deps;

  function view(a: Appointment, forOperator: boolean) {
    const workflowId = appointmentWorkflowId(a.id);
    return {
      id: a.id,
      workshop_id: a.workshop_id,
      mechanic_id: a.mechanic_id,
      service_id: a.service_id,
      starts_at: new Date(a.starts_at).toISOString(),
      ends_at: new Date(a.ends_at).toISOString(),
      status: a.status,
      customer: { name: a.customer_name, email: a.customer_email, phone: a.customer_phone },
      vehicle: a.vehicle,
      diagnosis_session_id: a.diagnosis_session_id,
      hold_expires_at: isoOrNull(a.hold_expires_at),
      cancel_reason: a.cancel_reason,
      created_at: new Date(a.created_at).toISOString(),
      updated_at: new Date(a.updated_at).toISOString(),
      ...(forOperator ? { workflow_id: workflowId, temporal_url: workflowUrl(config, workflowId) } : {}),
    };
  }

  async function workshopService(workshopId: string, serviceId: string) {
    const workshop = await Workshop.query().findById(workshopId);
    if (!workshop) throw notFound('Workshop');
    const service = await Service.query().findOne({ id: serviceId, workshop_id: workshopId });
    if (!service)
      throw new ApiError(400, 'validation_error', 'The service is not offered by this workshop', [
        { path: 'service_id', message: 'unknown service' },
      ]);
    return { workshop, service };
  }

  /** Free slots from `from` to the end of its local date plus `moreDays` (a 409 offers a week's). */
  async function slotsFrom(
    workshop: Workshop,
    service: Service,
    from: Date,
    moreDays: number,
    mechanicId?: string,
    ignoreAppointmentId?: string,
  ) {
    const day = DateTime.fromJSDate(from, { zone: workshop.time_zone });
    return availability(db, {
      workshop,
      service,
      dateFrom: day.toISODate()!,
      dateTo: day.plus({ days: moreDays }).toISODate()!,
      mechanicId,
      stepMin: config.booking.slotStepMin,
      notBefore: new Date(Math.max(Date.now() + config.booking.minNoticeMin * 60_000, from.getTime())),
      ignoreAppointmentId,
    });
  }

  const unavailable = (next: AvailableSlot[], message = 'That time is not free') =>
    new ApiError(409, 'slot_unavailable', message, { next_free_slots: next.slice(0, NEXT_SLOTS).map(slotView) });

  /** Operators see every appointment; a customer sees theirs with its token; anybody else nothing. */
  async function visible(ctx: AppContext, id: string): Promise<{ appointment: Appointment; operator: boolean }> {
    const { row, operator } = await customerOrOperator<Appointment>(
      ctx,
      APPOINTMENT_TOKEN_HEADER,
      'Appointment',
      async () => Appointment.query().findById(id),
    );
    return { appointment: row, operator };
  }

  /** An Update on the appointment's workflow; a refusal is a 409 carrying the stored status. */
  const update = <T>(appointment: Appointment, run: (h: WorkflowHandle) => Promise<T>) =>
    runUpdate(temporal.client.workflow.getHandle(appointmentWorkflowId(appointment.id)), run, async () => ({
      status: (await Appointment.query().findById(appointment.id))?.status,
    }));

  async function answer(ctx: AppContext, id: string, operator: boolean) {
    ctx.body = view((await Appointment.query().findById(id))!, operator);
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
    },
    handler: async (ctx, { body }) => {
      const { workshop, service } = await workshopService(body.workshop_id, body.service_id);
      if (
        body.mechanic_id &&
        !(await Mechanic.query().findOne({ id: body.mechanic_id, workshop_id: workshop.id, active: true }))
      ) {
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
          const appointment = await db.transaction(async (trx) => {
            const held = await Appointment.query(trx).insertAndFetch({
              workshop_id: workshop.id,
              mechanic_id: mechanicId,
              service_id: service.id,
              ...blockFor(service, start),
              status: 'held',
              customer_name: body.customer.name,
              customer_email: body.customer.email,
              customer_phone: body.customer.phone ?? null,
              vehicle: body.vehicle,
              diagnosis_session_id: body.diagnosis_session_id ?? null,
              access_token_hash: sha256(token),
              hold_expires_at: new Date(Date.now() + config.booking.holdS * 1000),
            });
            await logAppointmentEvent(trx, held.id, 'held', { mechanic_id: mechanicId });
            const input: AppointmentInput = {
              appointmentId: held.id,
              startsAt: start.toISOString(),
              durationMin: service.duration_min,
              holdMs: config.booking.holdS * 1000,
              remindersMs: config.booking.remindersS.map((s) => s * 1000),
              closeAfterMs: config.booking.closeAfterS * 1000,
            };
            // Started inside the transaction: if Temporal refuses, the hold is rolled back.
            await temporal.client.workflow.start<AppointmentWorkflow>('appointmentWorkflow', {
              taskQueue: config.temporal.taskQueue,
              workflowId: appointmentWorkflowId(held.id),
              workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
              args: [input],
              typedSearchAttributes: [{ key: BusinessStatus, value: 'held' }],
            });
            return held;
          });
          await publish(
            redis,
            domainEvent('appointment.held', null, {
              appointment_id: appointment.id,
              workshop_id: workshop.id,
              workflow_id: appointmentWorkflowId(appointment.id),
            }),
          ).catch(() => {});
          ctx.status = 201;
          ctx.body = { ...view(appointment, ctx.state.principal?.kind === 'user'), access_token: token };
          return;
        } catch (error) {
          if (!isSlotTaken(error)) throw error;
        }
      }
      throw unavailable(await slotsFrom(workshop, service, start, 7, body.mechanic_id), 'That time was just taken');
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/appointments',
    summary: 'Appointments by start time, with filters (a calendar range, a workshop, a mechanic, a status)',
    tag: 'booking',
    access: ['operator'],
    query: ListQuery,
    responses: { 200: { description: 'Earliest first', schema: z.object({ data: z.array(AppointmentOut) }) } },
    handler: async (ctx, { query }) => {
      const q = Appointment.query().orderBy('starts_at').limit(query.limit);
      if (query.workshop_id) q.where({ workshop_id: query.workshop_id });
      if (query.mechanic_id) q.where({ mechanic_id: query.mechanic_id });
      if (query.status) q.where({ status: query.status });
      if (query.email) q.whereRaw('lower(customer_email) = lower(?)', [query.email]);
      if (query.from) q.where('ends_at', '>', new Date(query.from));
      if (query.to) q.where('starts_at', '<', new Date(query.to));
      ctx.body = { data: (await q).map((a) => view(a, true)) };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/appointments/:id',
    summary: `One appointment with its timeline (operators, or the customer with ${APPOINTMENT_TOKEN_HEADER})`,
    tag: 'booking',
    access: ['public', 'operator'],
    params: IdParams,
    responses: {
      200: { description: 'The appointment', schema: AppointmentDetail },
      404: { description: 'No such appointment' },
    },
    handler: async (ctx, { params }) => {
      const { appointment, operator } = await visible(ctx, params.id);
      const events = await AppointmentEvent.query().where({ appointment_id: appointment.id }).orderBy('id');
      ctx.body = {
        ...view(appointment, operator),
        timeline: events.map((e) => ({ type: e.type, data: e.data, created_at: new Date(e.created_at).toISOString() })),
      };
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/appointments/:id/confirm',
    summary: 'Confirm a held appointment before its hold expires',
    tag: 'booking',
    access: ['public', 'operator'],
    params: IdParams,
    responses: {
      200: { description: 'Confirmed', schema: AppointmentOut },
      404: { description: 'No such appointment' },
      409: { description: 'Expired, canceled or finished' },
    },
    handler: async (ctx, { params }) => {
      const { appointment, operator } = await visible(ctx, params.id);
      const status = await update(appointment, (h) => h.executeUpdate(confirmAppointment));
      if (status !== 'confirmed') throw new ApiError(409, 'invalid_state', `The appointment is ${status}`, { status });
      await answer(ctx, appointment.id, operator);
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/appointments/:id/reschedule',
    summary: 'Move to another free slot, atomically, or fail with the reason',
    tag: 'booking',
    access: ['public', 'operator'],
    params: IdParams,
    body: z.object({ start: iso, mechanic_id: z.uuid().optional() }),
    responses: {
      200: { description: 'Moved', schema: AppointmentOut },
      404: { description: 'No such appointment' },
      409: { description: 'slot_unavailable (with the next free slots) or invalid_state' },
    },
    handler: async (ctx, { params, body }) => {
      const { appointment, operator } = await visible(ctx, params.id);
      const workshop = (await Workshop.query().findById(appointment.workshop_id))!;
      const service = (await Service.query().findById(appointment.service_id))!;
      const start = new Date(body.start);
      const mechanicId = body.mechanic_id ?? appointment.mechanic_id;
      const free = await slotsFrom(workshop, service, start, 0, mechanicId, appointment.id);
      if (!free.some((s) => s.start.getTime() === start.getTime()))
        throw unavailable(await slotsFrom(workshop, service, start, 7, mechanicId, appointment.id));
      const result = await update(appointment, (h) =>
        h.executeUpdate(rescheduleAppointmentUpdate, { args: [{ startsAt: start.toISOString(), mechanicId }] }),
      );
      if (!result.ok) {
        if (result.reason !== 'slot_taken') throw new ApiError(409, 'invalid_state', result.reason);
        throw unavailable(
          await slotsFrom(workshop, service, start, 7, mechanicId, appointment.id),
          'That time was just taken',
        );
      }
      await answer(ctx, appointment.id, operator);
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/appointments/:id/cancel',
    summary: 'Cancel; the slot is free again',
    tag: 'booking',
    access: ['public', 'operator'],
    params: IdParams,
    body: z.object({ reason: z.string().trim().min(1).max(500) }),
    responses: {
      200: { description: 'Canceled (again: unchanged)', schema: AppointmentOut },
      404: { description: 'No such appointment' },
      409: { description: 'Already visited, expired or closed' },
    },
    handler: async (ctx, { params, body }) => {
      const { appointment, operator } = await visible(ctx, params.id);
      if (appointment.status !== 'canceled') {
        const status = await update(appointment, (h) =>
          h.executeUpdate(cancelAppointment, { args: [{ reason: body.reason }] }),
        );
        if (status !== 'canceled') throw new ApiError(409, 'invalid_state', `The appointment is ${status}`, { status });
      }
      await answer(ctx, appointment.id, operator);
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/appointments/:id/status',
    summary: 'The workshop records the visit: in_progress, completed or no_show',
    tag: 'booking',
    access: ['operator'],
    params: IdParams,
    body: z.object({ status: z.enum(['in_progress', 'completed', 'no_show']) }),
    responses: {
      200: { description: 'Recorded', schema: AppointmentOut },
      404: { description: 'No such appointment' },
      409: { description: 'Not allowed from the current state' },
    },
    handler: async (ctx, { params, body }) => {
      const { appointment } = await visible(ctx, params.id);
      await update(appointment, (h) => h.executeUpdate(recordVisit, { args: [{ status: body.status }] }));
      await answer(ctx, appointment.id, true);
    },
  });
}
