/** Booking data operations shared by the API (availability, holds) and the activities (state changes). */
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { pgErrorCode } from './errors.js';
import { freeSlots, type Slot } from '../lib/booking/slots.js';
import { Appointment, AppointmentEvent, type AppointmentStatus } from './models/Appointment.js';
import { DateOverrideRow, Mechanic, Service, Workshop, WorkingHours } from './models/Workshop.js';

// The API validates statuses with this list, and may not import models itself.
export { appointmentStatuses, type AppointmentStatus } from './models/Appointment.js';

/**
 * States that occupy a slot; the `appointments_no_overlap` exclusion constraint (booking migration) uses the
 * same list.
 */
export const ACTIVE_APPOINTMENT_STATES = ['held', 'confirmed', 'in_progress'];

/** PostgreSQL's exclusion_violation: the slot overlaps an active appointment of that mechanic. */
export const isSlotTaken = (error: unknown) => pgErrorCode(error) === '23P01';

const hhmm = (t: string | null) => (t ? t.slice(0, 5) : null);

export interface AvailableSlot extends Slot {
  mechanic_ids: string[];
}

export interface AvailabilityQuery {
  workshop: Workshop;
  service: Service;
  dateFrom: string;
  dateTo: string;
  mechanicId?: string;
  stepMin?: number;
  notBefore: Date;
  /** Leave this appointment out of the busy intervals (when rescheduling it). */
  ignoreAppointmentId?: string;
}

/** Free slots per mechanic, merged: each slot lists the mechanics free for it. */
export async function availability(db: Knex, q: AvailabilityQuery): Promise<AvailableSlot[]> {
  const mechanics = await Mechanic.query(db)
    .where({ workshop_id: q.workshop.id, active: true })
    .modify((b) => q.mechanicId && b.where({ id: q.mechanicId }));
  if (!mechanics.length) return [];
  // Local dates, widened a day each way so busy intervals near midnight in any zone are seen.
  const from = DateTime.fromISO(q.dateFrom, { zone: q.workshop.time_zone }).minus({ days: 1 }).toJSDate();
  const to = DateTime.fromISO(q.dateTo, { zone: q.workshop.time_zone }).plus({ days: 2 }).toJSDate();
  const [hours, overrides, busy] = await Promise.all([
    WorkingHours.query(db).where({ workshop_id: q.workshop.id }),
    DateOverrideRow.query(db).where({ workshop_id: q.workshop.id }).whereBetween('date', [q.dateFrom, q.dateTo]),
    Appointment.query(db)
      .whereIn(
        'mechanic_id',
        mechanics.map((m) => m.id),
      )
      .whereIn('status', ACTIVE_APPOINTMENT_STATES)
      .where('block_end', '>', from)
      .where('block_start', '<', to)
      .modify((b) => q.ignoreAppointmentId && b.whereNot({ id: q.ignoreAppointmentId })),
  ]);
  const bySlot = new Map<number, AvailableSlot>();
  for (const mechanic of mechanics) {
    // A mechanic's own rows (hours or overrides) replace the workshop's for that day.
    const own = hours.filter((h) => h.mechanic_id === mechanic.id);
    const ownDays = new Set(own.map((h) => h.weekday));
    const weekly = [...own, ...hours.filter((h) => h.mechanic_id === null && !ownDays.has(h.weekday))].map((h) => ({
      weekday: h.weekday,
      opens: hhmm(h.opens)!,
      closes: hhmm(h.closes)!,
      breakStart: hhmm(h.break_start),
      breakEnd: hhmm(h.break_end),
    }));
    const dayOverrides = overrides
      .filter(
        (o) =>
          o.mechanic_id === mechanic.id ||
          (o.mechanic_id === null && !overrides.some((x) => x.mechanic_id === mechanic.id && sameDate(x.date, o.date))),
      )
      .map((o) => ({
        date: isoDate(o.date),
        closed: o.closed,
        opens: hhmm(o.opens) ?? undefined,
        closes: hhmm(o.closes) ?? undefined,
        breakStart: hhmm(o.break_start),
        breakEnd: hhmm(o.break_end),
      }));
    const slots = freeSlots({
      timeZone: q.workshop.time_zone,
      dateFrom: q.dateFrom,
      dateTo: q.dateTo,
      weekly,
      overrides: dayOverrides,
      busy: busy.filter((b) => b.mechanic_id === mechanic.id).map((b) => ({ start: b.block_start, end: b.block_end })),
      service: {
        durationMin: q.service.duration_min,
        bufferBeforeMin: q.service.buffer_before_min,
        bufferAfterMin: q.service.buffer_after_min,
      },
      stepMin: q.stepMin,
      notBefore: q.notBefore,
    });
    for (const slot of slots) {
      const key = slot.start.getTime();
      const merged = bySlot.get(key) ?? { ...slot, mechanic_ids: [] };
      merged.mechanic_ids.push(mechanic.id);
      bySlot.set(key, merged);
    }
  }
  return [...bySlot.values()].sort((a, b) => a.start.getTime() - b.start.getTime());
}

const isoDate = (d: string | Date) => (typeof d === 'string' ? d.slice(0, 10) : DateTime.fromJSDate(d).toISODate()!);
const sameDate = (a: string | Date, b: string | Date) => isoDate(a) === isoDate(b);

/** The interval a booking occupies: the service time widened by its buffers. */
export function blockFor(service: Service, startsAt: Date) {
  const endsAt = new Date(startsAt.getTime() + service.duration_min * 60_000);
  return {
    starts_at: startsAt,
    ends_at: endsAt,
    block_start: new Date(startsAt.getTime() - service.buffer_before_min * 60_000),
    block_end: new Date(endsAt.getTime() + service.buffer_after_min * 60_000),
  };
}

/** Appends a row (`type`, `data`) to the appointment's timeline. */
export async function logAppointmentEvent(
  db: Knex,
  appointmentId: string,
  type: string,
  data: Record<string, unknown> = {},
) {
  await AppointmentEvent.query(db).insert({ appointment_id: appointmentId, type, data });
}

/** The appointment, or undefined when there is none with that id. */
export async function findAppointment(db: Knex, id: string): Promise<Appointment | undefined> {
  return Appointment.query(db).findById(id);
}

/** A new hold's columns; the status is set here, the id and timestamps by the database. */
export type NewHold = Pick<
  Appointment,
  | 'workshop_id'
  | 'mechanic_id'
  | 'service_id'
  | 'starts_at'
  | 'ends_at'
  | 'block_start'
  | 'block_end'
  | 'customer_name'
  | 'customer_email'
  | 'customer_phone'
  | 'vehicle'
  | 'diagnosis_session_id'
  | 'access_token_hash'
  | 'hold_expires_at'
  | 'client_key'
>;

/** The most unexpired `held` appointments one customer email, and one client (`client_key`), may have at once. */
export interface HoldLimits {
  perEmail: number;
  perClient: number;
}

/** A new hold would pass one of the HoldLimits; `retryAt` is when the earliest of those holds expires. */
export class HoldLimitReached extends Error {
  constructor(
    readonly limit: 'email' | 'client',
    readonly max: number,
    readonly retryAt: Date,
  ) {
    super(`at most ${max} unconfirmed holds per ${limit}`);
  }
}

// Advisory lock namespaces (the first key of pg_advisory_xact_lock(int, int)) for a hold's email and client.
const EMAIL_HOLD_LOCK = 0x686f6c64; // 'hold'
const CLIENT_HOLD_LOCK = EMAIL_HOLD_LOCK + 1;

/**
 * Refuses a new hold past `limits` with HoldLimitReached. Runs inside the hold's transaction and first locks the
 * email, then the client (always in that order, so two bookings cannot deadlock), so concurrent bookings of one
 * email or client are counted one after another and cannot all pass. Holds confirmed, canceled or past their
 * expiry do not count.
 */
async function checkHoldLimits(trx: Knex.Transaction, hold: NewHold, limits: HoldLimits) {
  const email = hold.customer_email;
  // Emails compare without regard to case (as listAppointments filters them), in PostgreSQL's lower() each time.
  await trx.raw('SELECT pg_advisory_xact_lock(?, hashtext(lower(?)))', [EMAIL_HOLD_LOCK, email]);
  if (hold.client_key)
    await trx.raw('SELECT pg_advisory_xact_lock(?, hashtext(?))', [CLIENT_HOLD_LOCK, hold.client_key]);
  const now = new Date();
  const limited: Array<['email' | 'client', number, (q: Knex.QueryBuilder) => void]> = [
    ['email', limits.perEmail, (q) => q.whereRaw('lower(customer_email) = lower(?)', [email])],
  ];
  if (hold.client_key) limited.push(['client', limits.perClient, (q) => q.where({ client_key: hold.client_key })]);
  for (const [limit, max, theirs] of limited) {
    const row = await trx('appointments')
      .where({ status: 'held' })
      .where('hold_expires_at', '>', now)
      .modify(theirs)
      .first<{ n: number; first: Date | null }>(
        trx.raw('count(*)::int AS n'),
        trx.raw('min(hold_expires_at) AS first'),
      );
    if (row!.n >= max) throw new HoldLimitReached(limit, max, row!.first!);
  }
}

/**
 * Inserts a `held` appointment and its `held` timeline row in one transaction, runs `beforeCommit` inside it
 * (its throw rolls the hold back) and returns the stored row. Throws HoldLimitReached when the customer's email
 * or the client already has as many active holds as `limits` allow, and an exclusion_violation (see isSlotTaken)
 * when the mechanic's block overlaps an active appointment.
 */
export async function holdAppointment(
  db: Knex,
  hold: NewHold,
  limits: HoldLimits,
  beforeCommit: (held: Appointment) => Promise<void>,
): Promise<Appointment> {
  return db.transaction(async (trx) => {
    await checkHoldLimits(trx, hold, limits);
    const held = await Appointment.query(trx).insertAndFetch({ ...hold, status: 'held' });
    await logAppointmentEvent(trx, held.id, 'held', { mechanic_id: hold.mechanic_id });
    await beforeCommit(held);
    return held;
  });
}

/** Filters for listAppointments; each one given narrows the list. */
export interface AppointmentFilter {
  workshopId?: string;
  mechanicId?: string;
  status?: AppointmentStatus;
  /** Matched without regard to case. */
  email?: string;
  /** Appointments ending after this instant. */
  from?: Date;
  /** Appointments starting before this instant. */
  to?: Date;
  limit: number;
}

/** Up to `limit` appointments matching every given filter, earliest start first. */
export async function listAppointments(db: Knex, filter: AppointmentFilter): Promise<Appointment[]> {
  const q = Appointment.query(db).orderBy('starts_at').limit(filter.limit);
  if (filter.workshopId) q.where({ workshop_id: filter.workshopId });
  if (filter.mechanicId) q.where({ mechanic_id: filter.mechanicId });
  if (filter.status) q.where({ status: filter.status });
  if (filter.email) q.whereRaw('lower(customer_email) = lower(?)', [filter.email]);
  if (filter.from) q.where('ends_at', '>', filter.from);
  if (filter.to) q.where('starts_at', '<', filter.to);
  return q;
}

/** The names an appointment refers to by id, as maps from id to row, for the appointments given. */
export interface AppointmentNames {
  workshops: Map<string, { name: string; time_zone: string }>;
  mechanics: Map<string, string>;
  services: Map<string, string>;
}

/**
 * The workshops (name, zone), mechanics and services the appointments refer to, plus the mechanics of `extraMechanicIds`
 * (a timeline names mechanics an appointment had before it was moved): three queries whatever the count.
 */
export async function appointmentNames(
  db: Knex,
  appointments: Pick<Appointment, 'workshop_id' | 'mechanic_id' | 'service_id'>[],
  extraMechanicIds: string[] = [],
): Promise<AppointmentNames> {
  const ids = (key: 'workshop_id' | 'mechanic_id' | 'service_id') => [...new Set(appointments.map((a) => a[key]))];
  const [workshops, mechanics, services] = await Promise.all([
    Workshop.query(db).whereIn('id', ids('workshop_id')).select('id', 'name', 'time_zone'),
    Mechanic.query(db)
      .whereIn('id', [...new Set([...ids('mechanic_id'), ...extraMechanicIds])])
      .select('id', 'name'),
    Service.query(db).whereIn('id', ids('service_id')).select('id', 'name'),
  ]);
  return {
    workshops: new Map(workshops.map((w) => [w.id, { name: w.name, time_zone: w.time_zone }])),
    mechanics: new Map(mechanics.map((m) => [m.id, m.name])),
    services: new Map(services.map((s) => [s.id, s.name])),
  };
}

/** The appointment's timeline rows, oldest first. */
export async function appointmentTimeline(db: Knex, appointmentId: string): Promise<AppointmentEvent[]> {
  return AppointmentEvent.query(db).where({ appointment_id: appointmentId }).orderBy('id');
}

/** Stores a notification unless one of that `kind` exists for the appointment; true when it was stored now. */
export async function recordNotification(
  db: Knex,
  notification: { appointment_id: string; kind: string; recipient: string; message: string },
): Promise<boolean> {
  const inserted = await db('notifications')
    .insert(notification)
    .onConflict(['appointment_id', 'kind'])
    .ignore()
    .returning('id');
  return inserted.length > 0;
}

/**
 * Moves an appointment from one of `from` to `to` with its timeline row; a no-op when already there; null when
 * missing.
 */
export async function setAppointmentStatus(
  db: Knex,
  appointmentId: string,
  from: AppointmentStatus[],
  to: AppointmentStatus,
  data: Record<string, unknown> = {},
): Promise<{ status: AppointmentStatus; changed: boolean } | null> {
  return db.transaction(async (trx) => {
    const current = await Appointment.query(trx).findById(appointmentId).forUpdate();
    if (!current) return null;
    if (current.status === to || !from.includes(current.status)) return { status: current.status, changed: false };
    const reason = typeof data.reason === 'string' ? data.reason : null;
    await Appointment.query(trx)
      .patch({ status: to, cancel_reason: to === 'canceled' ? reason : current.cancel_reason, updated_at: new Date() })
      .findById(appointmentId);
    await logAppointmentEvent(trx, appointmentId, to, { from: current.status, ...data });
    return { status: to, changed: true };
  });
}

export type RescheduleResult = { ok: true; starts_at: string; mechanic_id: string } | { ok: false; reason: string };

/** One UPDATE: the new interval is taken whole, or — when it overlaps another booking — not at all. */
export async function rescheduleAppointment(
  db: Knex,
  appointmentId: string,
  startsAt: Date,
  mechanicId?: string,
): Promise<RescheduleResult> {
  try {
    return await db.transaction(async (trx) => {
      const current = await Appointment.query(trx).findById(appointmentId).forUpdate();
      if (!current) return { ok: false, reason: 'not_found' };
      if (current.status !== 'held' && current.status !== 'confirmed')
        return { ok: false, reason: `an appointment that is ${current.status} cannot be moved` };
      const service = await Service.query(trx).findById(current.service_id);
      const mechanic = mechanicId ?? current.mechanic_id;
      await Appointment.query(trx)
        .patch({ ...blockFor(service!, startsAt), mechanic_id: mechanic, updated_at: new Date() })
        .findById(appointmentId);
      await logAppointmentEvent(trx, appointmentId, 'rescheduled', {
        from: current.starts_at,
        to: startsAt.toISOString(),
        mechanic_id: mechanic,
      });
      return { ok: true, starts_at: startsAt.toISOString(), mechanic_id: mechanic };
    });
  } catch (error) {
    if (isSlotTaken(error)) return { ok: false, reason: 'slot_taken' };
    throw error;
  }
}
