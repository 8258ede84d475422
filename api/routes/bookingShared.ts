/** What booking's route files share: the appointment's schemas and view, and free-slot lookups for 409s. */
import { DateTime } from 'luxon';
import { z } from 'zod';
import {
  appointmentNames,
  appointmentStatuses,
  availability,
  type AppointmentNames,
  type AvailableSlot,
} from '../../db/booking.js';
import { addDays } from '../../lib/booking/slots.js';
import type { Appointment } from '../../db/models/Appointment.js';
import type { Service, Workshop } from '../../db/models/Workshop.js';
import { workflowUrl } from '../../lib/platform/temporal.js';
import { appointmentWorkflowId } from '../../workflows/contracts/booking.js';
import type { ApiDeps } from '../deps.js';
import { isoOrNull } from '../dates.js';
import { ApiError } from '../errors.js';

/** The customer's credential for one appointment, returned once at booking. */
export const APPOINTMENT_TOKEN_HEADER = 'x-appointment-token';
const NEXT_SLOTS = 5;

export const AppointmentOut = z
  .object({
    id: z.string(),
    workshop_id: z.string(),
    workshop_name: z.string(),
    /** The workshop's IANA zone: booking times are shown on its clock. */
    time_zone: z.string(),
    mechanic_id: z.string(),
    mechanic_name: z.string(),
    service_id: z.string(),
    service_name: z.string(),
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

export const iso = z.iso.datetime({ offset: true });
export const IdParams = z.object({ id: z.uuid() });

/** A free slot as the API shows it: ISO instants and the mechanics free for it. */
export const slotView = (s: AvailableSlot) => ({
  start: s.start.toISOString(),
  end: s.end.toISOString(),
  mechanic_ids: s.mechanic_ids,
});

/** Helpers bound to the API's dependencies: the appointment view and free-slot lookups. */
export function appointmentHelpers({ config, db }: Pick<ApiDeps, 'config' | 'db'>) {
  /**
   * An appointment as the API shows it, with the names of its workshop (and the workshop's zone), mechanic and
   * service from `names`; operators also get its workflow id and Temporal UI link.
   */
  function view(a: Appointment, forOperator: boolean, names: AppointmentNames) {
    const workflowId = appointmentWorkflowId(a.id);
    const workshop = names.workshops.get(a.workshop_id);
    return {
      id: a.id,
      workshop_id: a.workshop_id,
      workshop_name: workshop?.name ?? '',
      time_zone: workshop?.time_zone ?? 'UTC',
      mechanic_id: a.mechanic_id,
      mechanic_name: names.mechanics.get(a.mechanic_id) ?? '',
      service_id: a.service_id,
      service_name: names.services.get(a.service_id) ?? '',
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

  /** Appointments as the API shows them, their names loaded together (see view). */
  async function views(list: Appointment[], forOperator: boolean) {
    const names = await appointmentNames(db, list);
    return list.map((a) => view(a, forOperator, names));
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
    const day = DateTime.fromJSDate(from, { zone: workshop.time_zone }).toISODate()!;
    return availability(db, {
      workshop,
      service,
      dateFrom: day,
      dateTo: addDays(day, moreDays),
      mechanicId,
      stepMin: config.booking.slotStepMin,
      notBefore: new Date(Math.max(Date.now() + config.booking.minNoticeMin * 60_000, from.getTime())),
      ignoreAppointmentId,
    });
  }

  /** A 409 `slot_unavailable` offering the first of the next free slots. */
  const unavailable = (next: AvailableSlot[], message = 'That time is not free') =>
    new ApiError(409, 'slot_unavailable', message, { next_free_slots: next.slice(0, NEXT_SLOTS).map(slotView) });

  return { view, views, slotsFrom, unavailable };
}
