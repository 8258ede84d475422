import http from 'node:http';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appointment } from '../db/models/Appointment.js';
import { openDb, releaseDb, type Knex } from '../db/knex.js';
import {
  appointmentWorkflowId,
  cancelAppointment,
  rescheduleAppointmentUpdate,
} from '../workflows/contracts/booking.js';
import { startWorker } from '../workers/worker.js';
import {
  call,
  createWorkshop,
  signIn,
  startApi,
  startStack,
  testConfig,
  unique,
  type WorkshopOptions,
} from './helpers.js';
import { waitFor } from './receiver.js';

// Short, configurable durations instead of a time-skipping server (its binary needs a download):
// an 8 s hold, reminders 15 s and 5 s before the start, slots on a one-minute grid, no minimum notice.
const settings = {
  BOOKING_HOLD_S: '8',
  BOOKING_REMINDERS_S: '15,5',
  BOOKING_SLOT_STEP_MIN: '1',
  BOOKING_MIN_NOTICE_MIN: '0',
  RATE_LIMIT_PER_IP: '100000',
  // Every test here books from one address, mostly with one email; the hold limits have their own API below.
  BOOKING_MAX_HOLDS_PER_EMAIL: '100000',
  BOOKING_MAX_HOLDS_PER_CLIENT: '100000',
};

let stack: Awaited<ReturnType<typeof startStack>>;
let operator: Awaited<ReturnType<typeof signIn>>;
let db: Knex;
const url = () => stack.api.url;

beforeAll(async () => {
  stack = await startStack(settings);
  operator = await signIn(url(), 'operator');
  db = openDb(process.env.DATABASE_URL!);
});
afterAll(async () => {
  await stack?.close();
  if (db) await releaseDb(db);
});

const TZ = 'Europe/Kyiv';
/** A local date a few days ahead, so "now" and the minimum notice never interfere. */
const dayAhead = (days = 3) => DateTime.now().setZone(TZ).plus({ days }).toISODate()!;
const localTime = (date: string, hhmm: string) => DateTime.fromISO(`${date}T${hhmm}`, { zone: TZ }).toUTC().toISO()!;

const workshop = (opts: WorkshopOptions = {}) => createWorkshop(url(), operator.token, opts);

type Shop = Awaited<ReturnType<typeof workshop>>;

const book = (shop: Shop, start: string, extra: Record<string, unknown> = {}) =>
  call(url(), 'POST', '/api/v1/appointments', {
    body: {
      workshop_id: shop.id,
      service_id: shop.serviceId,
      start,
      customer: { name: 'Iryna', email: 'iryna@example.com' },
      vehicle: { make: 'Skoda', model: 'Octavia', year: 2017 },
      ...extra,
    },
  });

const asCustomer = (token: string) => ({ headers: { 'x-appointment-token': token } });

async function slots(shop: Shop, from: string, to = from, mechanic?: string) {
  const q = new URLSearchParams({
    date_from: from,
    date_to: to,
    service: shop.serviceId,
    ...(mechanic ? { mechanic } : {}),
  });
  const res = await call(url(), 'GET', `/api/v1/workshops/${shop.id}/availability?${q}`);
  expect(res.status).toBe(200);
  return res.json.data as Array<{ start: string; end: string; mechanic_ids: string[] }>;
}

const statusOf = async (id: string) => (await Appointment.query(db).findById(id))!.status;

describe('workshop data', () => {
  it('validates hours, overrides and references, and refuses to delete a mechanic with bookings', async () => {
    const op = { token: operator.token };
    expect(
      (
        await call(url(), 'POST', '/api/v1/workshops', {
          ...op,
          body: { name: 'X', address: 'Y', time_zone: 'Mars/Olympus' },
        })
      ).json.error.code,
    ).toBe('validation_error');
    expect(
      (await call(url(), 'POST', '/api/v1/workshops', { body: { name: 'X', address: 'Y', time_zone: TZ } })).status,
    ).toBe(401);

    const shop = await workshop();
    const badBreak = await call(url(), 'POST', `/api/v1/workshops/${shop.id}/hours`, {
      ...op,
      body: { weekday: 1, opens: '09:00', closes: '18:00', break_start: '19:00', break_end: '20:00' },
    });
    expect(badBreak.status).toBe(400);
    const other = await workshop();
    const foreign = await call(url(), 'POST', `/api/v1/workshops/${shop.id}/hours`, {
      ...op,
      body: { weekday: 1, opens: '09:00', closes: '18:00', mechanic_id: other.mechanics[0] },
    });
    expect(foreign.status).toBe(400);
    expect(foreign.json.error.details[0].path).toBe('mechanic_id');

    // PUT replaces the row: the break it leaves out is gone, so hours that exclude it are fine.
    const hours = await call(url(), 'POST', `/api/v1/workshops/${shop.id}/hours`, {
      ...op,
      body: { weekday: 1, opens: '09:00', closes: '18:00', break_start: '13:00', break_end: '14:00' },
    });
    const replaced = await call(url(), 'PUT', `/api/v1/hours/${hours.json.id}`, {
      ...op,
      body: { weekday: 1, opens: '14:30', closes: '18:00' },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.json.break_start).toBeNull();
    expect((await call(url(), 'PATCH', `/api/v1/workshops/${shop.id}`, { ...op, body: {} })).status).toBe(400);
    await call(url(), 'DELETE', `/api/v1/hours/${hours.json.id}`, op);

    // A closed day removes every slot of that date.
    const closedDay = dayAhead(5);
    expect((await slots(shop, closedDay)).length).toBeGreaterThan(0);
    expect(
      (
        await call(url(), 'POST', `/api/v1/workshops/${shop.id}/overrides`, {
          ...op,
          body: { date: closedDay, closed: true },
        })
      ).status,
    ).toBe(201);
    expect(await slots(shop, closedDay)).toEqual([]);

    const booked = await book(shop, localTime(dayAhead(), '10:00'));
    expect(booked.status).toBe(201);
    const removal = await call(url(), 'DELETE', `/api/v1/mechanics/${shop.mechanics[0]}`, op);
    expect(removal.status).toBe(409);
    expect(removal.json.error.code).toBe('still_referenced');
    expect((await call(url(), 'DELETE', `/api/v1/workshops/${shop.id}`, op)).status).toBe(409);
    expect((await call(url(), 'DELETE', `/api/v1/workshops/${other.id}`, op)).status).toBe(204);
    expect((await call(url(), 'GET', `/api/v1/workshops/${other.id}/mechanics`)).status).toBe(404);
  });

  it('keeps a day whose midnight the clock skips (Santiago moves 2027-09-05 00:00 to 01:00)', async () => {
    const zone = 'America/Santiago';
    const shop = await workshop({ timeZone: zone, hours: { opens: '09:00', closes: '18:00' } });
    const free = await slots(shop, '2027-09-04', '2027-09-07');
    const perDay = new Map<string, number>();
    for (const s of free) {
      const date = DateTime.fromISO(s.start).setZone(zone).toISODate()!;
      perDay.set(date, (perDay.get(date) ?? 0) + 1);
    }
    // One-hour visits on a one-minute grid within 09:00–18:00: 8 hours of starts and the last one.
    expect([...perDay]).toEqual(['2027-09-04', '2027-09-05', '2027-09-06', '2027-09-07'].map((d) => [d, 8 * 60 + 1]));
  });

  it('answers availability questions with clear errors', async () => {
    const shop = await workshop();
    const bad = await call(
      url(),
      'GET',
      `/api/v1/workshops/${shop.id}/availability?date_from=${dayAhead(2)}&date_to=${dayAhead(1)}&service=${shop.serviceId}`,
    );
    expect(bad.status).toBe(400);
    expect(bad.json.error.details[0].path).toBe('date_to');
    const other = await workshop();
    const foreignService = await call(
      url(),
      'GET',
      `/api/v1/workshops/${shop.id}/availability?date_from=${dayAhead()}&date_to=${dayAhead()}&service=${other.serviceId}`,
    );
    expect(foreignService.status).toBe(400);
    const missing = await call(
      url(),
      'GET',
      `/api/v1/workshops/00000000-0000-4000-8000-000000000000/availability?date_from=${dayAhead()}&date_to=${dayAhead()}&service=${shop.serviceId}`,
    );
    expect(missing.status).toBe(404);
  });
});

describe('booking', () => {
  it('50 concurrent bookings of one slot: exactly one is held, the rest get a 409 with other slots', async () => {
    const shop = await workshop();
    const start = localTime(dayAhead(), '11:00');
    const results = await Promise.all(Array.from({ length: 50 }, () => book(shop, start)));
    const held = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 409);
    expect(held).toHaveLength(1);
    expect(refused).toHaveLength(49);
    for (const r of refused) {
      expect(r.json.error.code).toBe('slot_unavailable');
      expect(r.json.error.details.next_free_slots.length).toBeGreaterThan(0);
      expect(r.json.error.details.next_free_slots.map((s: { start: string }) => s.start)).not.toContain(
        new Date(start).toISOString(),
      );
    }
    const rows = await Appointment.query(db).where({ workshop_id: shop.id });
    expect(rows.map((r) => r.status)).toEqual(['held']);
  });

  it('without a chosen mechanic, concurrent bookings fill each free mechanic once', async () => {
    const shop = await workshop({ mechanics: 2 });
    const start = localTime(dayAhead(), '12:00');
    const results = await Promise.all(Array.from({ length: 10 }, () => book(shop, start)));
    const held = results.filter((r) => r.status === 201).map((r) => r.json.mechanic_id);
    expect(held.sort()).toEqual([...shop.mechanics].sort());
    expect(results.filter((r) => r.status === 409)).toHaveLength(8);
  });

  it('buffers widen a booking: the next start must clear the buffer', async () => {
    const shop = await workshop({ duration: 60, bufferAfter: 30 });
    const day = dayAhead();
    expect((await book(shop, localTime(day, '09:00'))).status).toBe(201);
    const free = (await slots(shop, day)).map((s) => s.start);
    expect(free).not.toContain(localTime(day, '09:45'));
    expect(free).not.toContain(localTime(day, '10:29'));
    expect(free).toContain(localTime(day, '10:30'));
    // 08:00 would end at 09:00, but its own buffer runs into the 09:00 booking.
    expect(free).not.toContain(localTime(day, '08:00'));
    expect(free).toContain(localTime(day, '07:30'));
    const tooClose = await book(shop, localTime(day, '10:00'));
    expect(tooClose.status).toBe(409);
  });

  it('a customer confirms with their token; others cannot see or act on it', async () => {
    const shop = await workshop();
    const created = await book(shop, localTime(dayAhead(), '13:00'), { diagnosis_session_id: 'ds_demo' });
    expect(created.status).toBe(201);
    const { id, access_token } = created.json;
    expect(created.json.status).toBe('held');
    expect(created.json.workflow_id).toBeUndefined();

    expect((await call(url(), 'GET', `/api/v1/appointments/${id}`)).status).toBe(401);
    expect((await call(url(), 'GET', `/api/v1/appointments/${id}`, asCustomer('at_wrong'))).status).toBe(404);
    expect((await call(url(), 'POST', `/api/v1/appointments/${id}/confirm`, asCustomer('at_wrong'))).status).toBe(404);
    expect(
      (
        await call(url(), 'POST', `/api/v1/appointments/${id}/status`, {
          ...asCustomer(access_token),
          body: { status: 'completed' },
        })
      ).status,
    ).toBe(401);

    const confirmed = await call(url(), 'POST', `/api/v1/appointments/${id}/confirm`, asCustomer(access_token));
    expect(confirmed.status).toBe(200);
    expect(confirmed.json.status).toBe('confirmed');
    // Past the hold time a confirmed appointment stays confirmed.
    await new Promise((r) => setTimeout(r, 8500));
    expect(await statusOf(id)).toBe('confirmed');

    const detail = await call(url(), 'GET', `/api/v1/appointments/${id}`, { token: operator.token });
    expect(detail.json.timeline.map((e: { type: string }) => e.type)).toEqual(['held', 'confirmed']);
    expect(detail.json.temporal_url).toContain(appointmentWorkflowId(id));
    expect(detail.json.diagnosis_session_id).toBe('ds_demo');

    const list = await call(url(), 'GET', `/api/v1/appointments?workshop_id=${shop.id}&status=confirmed`, {
      token: operator.token,
    });
    expect(list.json.data.map((a: { id: string }) => a.id)).toEqual([id]);
    expect(
      (await call(url(), 'GET', `/api/v1/appointments?workshop_id=${shop.id}`, asCustomer(access_token))).status,
    ).toBe(401);
  });

  it('an unconfirmed hold expires and releases the slot', async () => {
    const shop = await workshop();
    const start = localTime(dayAhead(), '14:00');
    const created = await book(shop, start);
    expect(created.status).toBe(201);
    expect((await book(shop, start)).status).toBe(409);
    await waitFor(async () => ((await statusOf(created.json.id)) === 'expired' ? true : null), 20_000, 'hold expiry');
    expect((await slots(shop, dayAhead())).map((s) => s.start)).toContain(new Date(start).toISOString());
    const late = await call(
      url(),
      'POST',
      `/api/v1/appointments/${created.json.id}/confirm`,
      asCustomer(created.json.access_token),
    );
    expect(late.status).toBe(409);
    expect(late.json.error.code).toBe('invalid_state');
    expect((await book(shop, start)).status).toBe(201);
  });

  it('reschedules atomically: into a taken slot fails and changes nothing, into a free one moves', async () => {
    const shop = await workshop();
    const day = dayAhead();
    const mine = await book(shop, localTime(day, '09:00'));
    const theirs = await book(shop, localTime(day, '11:00'));
    await call(url(), 'POST', `/api/v1/appointments/${mine.json.id}/confirm`, asCustomer(mine.json.access_token));
    await call(url(), 'POST', `/api/v1/appointments/${theirs.json.id}/confirm`, asCustomer(theirs.json.access_token));

    const into = await call(url(), 'POST', `/api/v1/appointments/${mine.json.id}/reschedule`, {
      ...asCustomer(mine.json.access_token),
      body: { start: localTime(day, '10:30') },
    });
    expect(into.status).toBe(409);
    expect(into.json.error.code).toBe('slot_unavailable');

    // The Update itself, past the API's check: PostgreSQL refuses the overlap and nothing moves.
    const raced = await stack.api.deps.temporal.client.workflow
      .getHandle(appointmentWorkflowId(mine.json.id))
      .executeUpdate(rescheduleAppointmentUpdate, { args: [{ startsAt: localTime(day, '11:30') }] });
    expect(raced).toEqual({ ok: false, reason: 'slot_taken' });
    const unchanged = await Appointment.query(db).findById(mine.json.id);
    expect(unchanged!.starts_at.toISOString()).toBe(localTime(day, '09:00'));
    const timeline = await call(
      url(),
      'GET',
      `/api/v1/appointments/${mine.json.id}`,
      asCustomer(mine.json.access_token),
    );
    expect(timeline.json.timeline.map((e: { type: string }) => e.type)).toEqual(['held', 'confirmed']);

    const moved = await call(url(), 'POST', `/api/v1/appointments/${mine.json.id}/reschedule`, {
      ...asCustomer(mine.json.access_token),
      body: { start: localTime(day, '15:00') },
    });
    expect(moved.status).toBe(200);
    expect(moved.json.starts_at).toBe(new Date(localTime(day, '15:00')).toISOString());
    expect(moved.json.status).toBe('confirmed');
    const free = (await slots(shop, day)).map((s) => s.start);
    expect(free).toContain(new Date(localTime(day, '09:00')).toISOString());
    expect(free).not.toContain(new Date(localTime(day, '15:00')).toISOString());
  });

  it('appointments name their workshop (with its zone), mechanic and service; the timeline names its mechanics', async () => {
    const shop = await workshop({ mechanics: 2, hours: { opens: '08:00', closes: '18:00' } });
    const day = dayAhead();
    const held = await book(shop, localTime(day, '09:00'), { mechanic_id: shop.mechanics[0] });
    expect(held.status, held.text).toBe(201);
    const names = (a: Record<string, unknown>) => [a.mechanic_name, a.service_name, a.time_zone];
    expect(names(held.json)).toEqual(['Mechanic 0', 'Inspection', TZ]);
    expect(held.json.workshop_name).toMatch(/^Garage-/);
    const op = { token: operator.token };
    const moved = await call(url(), 'POST', `/api/v1/appointments/${held.json.id}/reschedule`, {
      ...op,
      body: { start: localTime(day, '10:00'), mechanic_id: shop.mechanics[1] },
    });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.json.mechanic_name).toBe('Mechanic 1');
    const listed = await call(url(), 'GET', `/api/v1/appointments?workshop_id=${shop.id}`, op);
    expect(listed.json.data.map(names)).toEqual([['Mechanic 1', 'Inspection', TZ]]);
    const detail = await call(url(), 'GET', `/api/v1/appointments/${held.json.id}`, op);
    expect(
      detail.json.timeline.map((e: { type: string; mechanic_name: string | null }) => [e.type, e.mechanic_name]),
    ).toEqual([
      ['held', 'Mechanic 0'],
      ['rescheduled', 'Mechanic 1'],
    ]);
    // Times of day read as HH:MM, an override's date as the calendar date it was given (whatever the server's zone).
    const hours = await call(url(), 'GET', `/api/v1/workshops/${shop.id}/hours`);
    expect(hours.json.data[0]).toMatchObject({ opens: '08:00', closes: '18:00', break_start: null });
    const override = await call(url(), 'POST', `/api/v1/workshops/${shop.id}/overrides`, {
      ...op,
      body: { date: day, closed: false, opens: '10:00', closes: '12:00' },
    });
    expect(override.json).toMatchObject({ date: day, opens: '10:00', closes: '12:00' });
    expect((await call(url(), 'GET', `/api/v1/workshops/${shop.id}/overrides`)).json.data[0].date).toBe(day);
  });

  it('cancel frees the slot; the workshop records the visit; illegal moves are 409s', async () => {
    const shop = await workshop();
    const day = dayAhead();
    const start = localTime(day, '16:00');
    const a = await book(shop, start);
    const cancel = await call(url(), 'POST', `/api/v1/appointments/${a.json.id}/cancel`, {
      ...asCustomer(a.json.access_token),
      body: { reason: 'car sold' },
    });
    expect(cancel.status).toBe(200);
    expect(cancel.json).toMatchObject({ status: 'canceled', cancel_reason: 'car sold' });
    expect(
      (
        await call(url(), 'POST', `/api/v1/appointments/${a.json.id}/cancel`, {
          ...asCustomer(a.json.access_token),
          body: { reason: 'again' },
        })
      ).json.cancel_reason,
    ).toBe('car sold');
    expect(
      (
        await call(url(), 'POST', `/api/v1/appointments/${a.json.id}/cancel`, {
          ...asCustomer(a.json.access_token),
          body: {},
        })
      ).status,
    ).toBe(400);

    const b = await book(shop, start);
    expect(b.status).toBe(201);
    const early = await call(url(), 'POST', `/api/v1/appointments/${b.json.id}/status`, {
      token: operator.token,
      body: { status: 'no_show' },
    });
    expect(early.status).toBe(409);
    await call(url(), 'POST', `/api/v1/appointments/${b.json.id}/confirm`, { token: operator.token });
    for (const status of ['in_progress', 'completed']) {
      const r = await call(url(), 'POST', `/api/v1/appointments/${b.json.id}/status`, {
        token: operator.token,
        body: { status },
      });
      expect(r.status).toBe(200);
      expect(r.json.status).toBe(status);
    }
    const afterwards = await call(url(), 'POST', `/api/v1/appointments/${b.json.id}/cancel`, {
      token: operator.token,
      body: { reason: 'too late' },
    });
    expect(afterwards.status).toBe(409);
    await waitFor(
      async () => {
        const d = await stack.api.deps.temporal.client.workflow.getHandle(appointmentWorkflowId(b.json.id)).describe();
        return d.status.name === 'COMPLETED' ? true : null;
      },
      10_000,
      'workflow closes after the visit',
    );
  });

  it('a step whose data the database refuses fails its Update at once instead of retrying for ever', async () => {
    // The API refuses NUL characters; sent straight to the workflow, one reaches the database as it is.
    const a = await book(await workshop(), localTime(dayAhead(), '10:00'));
    const handle = stack.api.deps.temporal.client.workflow.getHandle(appointmentWorkflowId(a.json.id));
    const started = Date.now();
    await expect(
      handle.executeUpdate(cancelAppointment, { args: [{ reason: 'bad \u0000 reason' }] }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(10_000);
    // The appointment is unharmed and still usable.
    expect(await statusOf(a.json.id)).toBe('held');
    const cancel = await call(url(), 'POST', `/api/v1/appointments/${a.json.id}/cancel`, {
      ...asCustomer(a.json.access_token),
      body: { reason: 'changed my mind' },
    });
    expect(cancel.json.status).toBe('canceled');
  });
});

/** A JSON request sent from `localAddress` (any 127.x.y.z is this machine), so one test plays several clients. */
function callFrom(
  localAddress: string,
  apiUrl: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: any }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(path, apiUrl),
      {
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, json: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

describe('hold limits', () => {
  let limited: Awaited<ReturnType<typeof startApi>>;
  beforeAll(async () => {
    // An API with small limits and a 10 s hold on the same worker's task queue.
    limited = await startApi({
      ...stack.settings,
      BOOKING_HOLD_S: '10',
      BOOKING_MAX_HOLDS_PER_EMAIL: '2',
      BOOKING_MAX_HOLDS_PER_CLIENT: '3',
    });
  });
  afterAll(async () => {
    await limited?.close();
  });

  const hold = (from: string, shop: Shop, start: string, email: string, headers: Record<string, string> = {}) =>
    callFrom(
      from,
      limited.url,
      '/api/v1/appointments',
      {
        workshop_id: shop.id,
        service_id: shop.serviceId,
        start,
        customer: { name: 'Hoarder', email },
        vehicle: { make: 'Lada', model: 'Niva' },
      },
      headers,
    );
  const newEmail = () => `${unique('customer')}@example.com`;

  it('one email holds at most BOOKING_MAX_HOLDS_PER_EMAIL slots; confirming, canceling or expiry frees one', async () => {
    const shop = await workshop();
    const day = dayAhead(4);
    const email = newEmail();
    const from = '127.0.0.11';
    const [a, b] = [
      await hold(from, shop, localTime(day, '09:00'), email),
      await hold(from, shop, localTime(day, '10:00'), email),
    ];
    expect([a.status, b.status]).toEqual([201, 201]);

    // Letter case does not make another customer; the refusal holds nothing.
    const refused = await hold('127.0.0.12', shop, localTime(day, '11:00'), email.toUpperCase());
    expect(refused.status).toBe(429);
    expect(refused.json.error).toMatchObject({ code: 'too_many_holds', details: { limit: 'email', max: 2 } });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10);
    expect(refused.json.error.details.retry_after_s).toBe(retryAfter);
    expect(await Appointment.query(db).where({ workshop_id: shop.id })).toHaveLength(2);

    const cancel = await call(limited.url, 'POST', `/api/v1/appointments/${a.json.id}/cancel`, {
      ...asCustomer(a.json.access_token),
      body: { reason: 'too many' },
    });
    expect(cancel.status).toBe(200);
    expect((await hold(from, shop, localTime(day, '11:00'), email)).status).toBe(201);
    const confirm = await call(
      limited.url,
      'POST',
      `/api/v1/appointments/${b.json.id}/confirm`,
      asCustomer(b.json.access_token),
    );
    expect(confirm.status).toBe(200);
    expect((await hold(from, shop, localTime(day, '12:00'), email)).status).toBe(201);

    // Two unconfirmed holds again: the next waits for the earlier one to expire, which Retry-After names.
    const again = await hold(from, shop, localTime(day, '13:00'), email);
    expect(again.status).toBe(429);
    await new Promise((r) => setTimeout(r, Number(again.headers['retry-after']) * 1000));
    expect((await hold(from, shop, localTime(day, '13:00'), email)).status).toBe(201);
  });

  it('a client holds at most BOOKING_MAX_HOLDS_PER_CLIENT whatever emails it uses; others count apart', async () => {
    const shop = await workshop();
    const day = dayAhead(5);
    const from = '127.0.0.21';
    for (const hhmm of ['09:00', '10:00', '11:00'])
      expect((await hold(from, shop, localTime(day, hhmm), newEmail())).status).toBe(201);
    const refused = await hold(from, shop, localTime(day, '12:00'), newEmail());
    expect(refused.status).toBe(429);
    expect(refused.json.error).toMatchObject({ code: 'too_many_holds', details: { limit: 'client', max: 3 } });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Another address, and a credential from the same address, are other clients.
    expect((await hold('127.0.0.22', shop, localTime(day, '12:00'), newEmail())).status).toBe(201);
    const asOperator = { authorization: `Bearer ${operator.token}` };
    expect((await hold(from, shop, localTime(day, '13:00'), newEmail(), asOperator)).status).toBe(201);
  });

  it('concurrent bookings cannot pass a limit together', async () => {
    const shop = await workshop({ mechanics: 2 });
    const day = dayAhead(6);
    const starts = Array.from({ length: 10 }, (_, i) => localTime(day, `${String(8 + i).padStart(2, '0')}:00`));
    // One email from ten addresses: the email limit alone decides.
    const email = newEmail();
    const byEmail = await Promise.all(starts.map((start, i) => hold(`127.0.1.${i + 1}`, shop, start, email)));
    expect(byEmail.filter((r) => r.status === 201)).toHaveLength(2);
    expect(byEmail.filter((r) => r.status === 429)).toHaveLength(8);
    // Ten emails from one address: the client limit alone decides.
    const byClient = await Promise.all(starts.map((start) => hold('127.0.0.31', shop, start, newEmail())));
    expect(byClient.filter((r) => r.status === 201)).toHaveLength(3);
    expect(byClient.filter((r) => r.status === 429)).toHaveLength(7);
  });
});

describe('durable timers', () => {
  it('reminders fire at their times and holds expire, across a worker restart', { timeout: 240_000 }, async () => {
    const shop = await workshop({ duration: 5 });
    // The first slot at least 25 s away leaves room for the 15 s reminder.
    const today = DateTime.now().setZone(TZ);
    const free = await slots(shop, today.toISODate()!, today.plus({ days: 1 }).toISODate()!);
    const slot = free.find((s) => Date.parse(s.start) >= Date.now() + 25_000)!;
    const confirmed = await book(shop, slot.start);
    expect(
      (
        await call(
          url(),
          'POST',
          `/api/v1/appointments/${confirmed.json.id}/confirm`,
          asCustomer(confirmed.json.access_token),
        )
      ).status,
    ).toBe(200);
    const held = await book(shop, localTime(dayAhead(), '10:00'));
    expect(held.status).toBe(201);

    // The worker goes away for longer than the hold; the timers live in Temporal, not in the worker.
    await stack.worker.stop();
    await new Promise((r) => setTimeout(r, 9000));
    expect(await statusOf(held.json.id)).toBe('held');
    stack.worker = await startWorker(testConfig(stack.settings), { codePath: process.env.WORKFLOW_BUNDLE_PATH! });

    await waitFor(
      async () => ((await statusOf(held.json.id)) === 'expired' ? true : null),
      15_000,
      'hold expiry after restart',
    );
    const startMs = Date.parse(slot.start);
    const reminders = await waitFor(
      async () => {
        const rows = await db('notifications').where({ appointment_id: confirmed.json.id }).orderBy('created_at');
        return rows.length >= 2 ? rows : null;
      },
      startMs - Date.now() + 15_000,
      'two reminders',
    );
    expect(reminders).toHaveLength(2);
    for (const [row, beforeS] of [
      [reminders[0], 15],
      [reminders[1], 5],
    ] as const) {
      expect(row.kind).toBe(`reminder:${beforeS}s:${new Date(startMs).toISOString()}`);
      expect(row.recipient).toBe('iryna@example.com');
      const lateMs = new Date(row.created_at).getTime() - (startMs - beforeS * 1000);
      expect(lateMs).toBeGreaterThanOrEqual(-500);
      expect(lateMs).toBeLessThan(5000);
    }
    const timeline = await call(url(), 'GET', `/api/v1/appointments/${confirmed.json.id}`, { token: operator.token });
    expect(timeline.json.timeline.filter((e: { type: string }) => e.type === 'reminder_sent')).toHaveLength(2);
  });
});
