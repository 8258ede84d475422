/** Booked appointments: the operators' calendar, one appointment's detail, confirm, reschedule, cancel, the visit. */
import type { WorkflowHandle } from '@temporalio/client';
import { z } from 'zod';
import {
  appointmentNames,
  appointmentStatuses,
  appointmentTimeline,
  findAppointment,
  listAppointments,
} from '../../db/booking.js';
import type { Appointment } from '../../db/models/Appointment.js';
import { findService, findWorkshop } from '../../db/workshops.js';
import {
  appointmentHandle,
  cancelUpdate,
  confirmUpdate,
  recordVisitUpdate,
  rescheduleUpdate,
} from '../../clients/booking.js';
import type { Waited } from '../../clients/requests.js';
import type { AppContext } from '../context.js';
import type { ApiDeps } from '../deps.js';
import { customerOrOperator, runUpdate } from '../customerAccess.js';
import { ApiError } from '../errors.js';
import { answerPending, pendingResponse, temporalUnavailableResponse } from '../pending.js';
import type { Api } from '../route.js';
import { APPOINTMENT_TOKEN_HEADER, AppointmentOut, appointmentHelpers, IdParams, iso } from './bookingShared.js';

const AppointmentDetail = AppointmentOut.extend({
  timeline: z.array(
    z.object({
      type: z.string(),
      data: z.record(z.string(), z.unknown()),
      /** The name of the mechanic the entry's `data.mechanic_id` names, when it names one. */
      mechanic_name: z.string().nullable(),
      created_at: z.string(),
    }),
  ),
}).meta({ id: 'AppointmentDetail' });

const ListQuery = z.object({
  workshop_id: z.uuid().optional(),
  mechanic_id: z.uuid().optional(),
  status: z.enum(appointmentStatuses).optional(),
  email: z.string().max(254).optional(),
  from: iso.optional(),
  to: iso.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(200),
});

/** Declares the routes on existing appointments; bookingRoutes calls it after its own. */
export function appointmentRoutes(api: Api, deps: ApiDeps) {
  const { config, db, temporal } = deps;
  const { view, views, slotsFrom, unavailable } = appointmentHelpers(deps);

  /** Operators see every appointment; a customer sees theirs with its token; anybody else nothing. */
  async function visible(ctx: AppContext, id: string): Promise<{ appointment: Appointment; operator: boolean }> {
    const { row, operator } = await customerOrOperator<Appointment>(
      ctx,
      APPOINTMENT_TOKEN_HEADER,
      'Appointment',
      async () => findAppointment(db, id),
    );
    return { appointment: row, operator };
  }

  /** A request to the appointment's workflow within WORKFLOW_WAIT_MS; a refusal is a 409 carrying the stored status. */
  const update = <T>(appointment: Appointment, run: (h: WorkflowHandle, waitMs: number) => Promise<Waited<T>>) =>
    runUpdate(
      appointmentHandle(temporal.client, appointment.id),
      (h) => run(h, config.temporal.workflowWaitMs),
      async () => ({ status: (await findAppointment(db, appointment.id))?.status }),
    );

  /** Answers with the appointment as stored now: 200, or 202 with where to poll while the request is only recorded. */
  async function answer(ctx: AppContext, id: string, operator: boolean, pending = false) {
    const [body] = await views([(await findAppointment(db, id))!], operator);
    if (pending) answerPending(ctx, `/api/v1/appointments/${id}`, body);
    else ctx.body = body;
  }
  const pending202 = pendingResponse(AppointmentOut, 'poll `GET /api/v1/appointments/{id}` (Location).');

  api.route({
    method: 'get',
    path: '/api/v1/appointments',
    summary: 'Appointments by start time, with filters (a calendar range, a workshop, a mechanic, a status)',
    tag: 'booking',
    access: ['operator'],
    query: ListQuery,
    responses: { 200: { description: 'Earliest first', schema: z.object({ data: z.array(AppointmentOut) }) } },
    handler: async (ctx, { query }) => {
      const appointments = await listAppointments(db, {
        workshopId: query.workshop_id,
        mechanicId: query.mechanic_id,
        status: query.status,
        email: query.email,
        from: query.from ? new Date(query.from) : undefined,
        to: query.to ? new Date(query.to) : undefined,
        limit: query.limit,
      });
      ctx.body = { data: await views(appointments, true) };
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
      const events = await appointmentTimeline(db, appointment.id);
      const mechanicOf = (e: (typeof events)[number]) =>
        typeof e.data.mechanic_id === 'string' ? e.data.mechanic_id : null;
      const mechanicIds = events.map(mechanicOf).filter((id): id is string => id !== null);
      const names = await appointmentNames(db, [appointment], mechanicIds);
      ctx.body = {
        ...view(appointment, operator, names),
        timeline: events.map((e) => ({
          type: e.type,
          data: e.data,
          mechanic_name: names.mechanics.get(mechanicOf(e) ?? '') ?? null,
          created_at: new Date(e.created_at).toISOString(),
        })),
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
      202: pending202,
      503: temporalUnavailableResponse,
      404: { description: 'No such appointment' },
      409: { description: 'Expired, canceled or finished' },
    },
    handler: async (ctx, { params }) => {
      const { appointment, operator } = await visible(ctx, params.id);
      const result = await update(appointment, confirmUpdate);
      if (result.done && result.value !== 'confirmed')
        throw new ApiError(409, 'invalid_state', `The appointment is ${result.value}`, { status: result.value });
      await answer(ctx, appointment.id, operator, !result.done);
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
      202: pending202,
      503: temporalUnavailableResponse,
      404: { description: 'No such appointment' },
      409: { description: 'slot_unavailable (with the next free slots) or invalid_state' },
    },
    handler: async (ctx, { params, body }) => {
      const { appointment, operator } = await visible(ctx, params.id);
      const workshop = (await findWorkshop(db, appointment.workshop_id))!;
      const service = (await findService(db, appointment.service_id))!;
      const start = new Date(body.start);
      const mechanicId = body.mechanic_id ?? appointment.mechanic_id;
      const free = await slotsFrom(workshop, service, start, 0, mechanicId, appointment.id);
      if (!free.some((s) => s.start.getTime() === start.getTime()))
        throw unavailable(await slotsFrom(workshop, service, start, 7, mechanicId, appointment.id));
      const result = await update(appointment, (h, waitMs) =>
        rescheduleUpdate(h, { startsAt: start.toISOString(), mechanicId }, waitMs),
      );
      if (result.done && !result.value.ok) {
        if (result.value.reason !== 'slot_taken') throw new ApiError(409, 'invalid_state', result.value.reason);
        throw unavailable(
          await slotsFrom(workshop, service, start, 7, mechanicId, appointment.id),
          'That time was just taken',
        );
      }
      await answer(ctx, appointment.id, operator, !result.done);
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
      202: pending202,
      503: temporalUnavailableResponse,
      404: { description: 'No such appointment' },
      409: { description: 'Already visited, expired or closed' },
    },
    handler: async (ctx, { params, body }) => {
      const { appointment, operator } = await visible(ctx, params.id);
      if (appointment.status === 'canceled') return answer(ctx, appointment.id, operator);
      const result = await update(appointment, (h, waitMs) => cancelUpdate(h, body.reason, waitMs));
      if (result.done && result.value !== 'canceled')
        throw new ApiError(409, 'invalid_state', `The appointment is ${result.value}`, { status: result.value });
      await answer(ctx, appointment.id, operator, !result.done);
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
      202: pending202,
      503: temporalUnavailableResponse,
      404: { description: 'No such appointment' },
      409: { description: 'Not allowed from the current state' },
    },
    handler: async (ctx, { params, body }) => {
      const { appointment } = await visible(ctx, params.id);
      const result = await update(appointment, (h, waitMs) => recordVisitUpdate(h, body.status, waitMs));
      await answer(ctx, appointment.id, true, !result.done);
    },
  });
}
