/**
 * Booking: distinct-slot bookings (API → hold row under the exclusion constraint → workflow start)
 * beside bare workflow starts on the same server, then the contention case — many clients racing
 * for a few slots — where correctness is checked (exactly one hold per slot, no overlaps).
 */
import { DateTime } from 'luxon';
import { Appointment } from '../db/models/Appointment.js';
import { Mechanic, Service, Workshop, WorkingHours } from '../db/models/Workshop.js';
import type { emptyWorkflow } from './baseline/workflows.js';
import { benchEnvironment, percentile, runPool, writeResult } from './harness.js';

const ZONE = 'Europe/Kyiv';
const SLOT_MIN = 30;

async function seedWorkshop(mechanicCount: number) {
  const workshop = await Workshop.query().insertAndFetch({
    name: 'Bench garage',
    address: 'Bench St 1',
    time_zone: ZONE,
  });
  const mechanics = await Mechanic.query().insertAndFetch(
    Array.from({ length: mechanicCount }, (_, i) => ({ workshop_id: workshop.id, name: `Mechanic ${i}` })),
  );
  await WorkingHours.query().insert(
    Array.from({ length: 7 }, (_, i) => ({
      workshop_id: workshop.id,
      weekday: i + 1,
      opens: '08:00',
      closes: '20:00',
    })),
  );
  const service = await Service.query().insertAndFetch({
    workshop_id: workshop.id,
    name: 'Inspection',
    duration_min: SLOT_MIN,
    buffer_before_min: 0,
    buffer_after_min: 0,
  });
  return { workshop, mechanics, service };
}

export async function bookingBench({ n = 200, concurrency = 20 } = {}) {
  const env = await benchEnvironment({ BOOKING_MIN_NOTICE_MIN: '0' });
  try {
    const { workshop, mechanics, service } = await seedWorkshop(4);
    const firstDay = DateTime.now().setZone(ZONE).plus({ days: 1 }).startOf('day');
    const slotsPerDay = (12 * 60) / SLOT_MIN;
    /** The i-th distinct (slot, mechanic) pair, filling days from tomorrow on. */
    const distinct = (i: number) => {
      const slot = Math.floor(i / mechanics.length);
      const start = firstDay
        .plus({ days: Math.floor(slot / slotsPerDay) })
        .set({ hour: 8 })
        .plus({ minutes: (slot % slotsPerDay) * SLOT_MIN });
      return { start: start.toUTC().toISO()!, mechanic_id: mechanics[i % mechanics.length].id };
    };
    const book = (slot: { start: string; mechanic_id?: string }, client: number) =>
      fetch(`${env.apiUrl}/api/v1/appointments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          workshop_id: workshop.id,
          service_id: service.id,
          ...slot,
          customer: { name: `Client ${client}`, email: `client${client}@bench.local` },
          vehicle: { make: 'Skoda', model: 'Octavia' },
        }),
      });

    const latencies: number[] = [];
    const bookingSeconds = await runPool(n, concurrency, async (i) => {
      const started = performance.now();
      const res = await book(distinct(i), i);
      latencies.push(performance.now() - started);
      if (res.status !== 201) throw new Error(`booking ${i} failed: ${res.status} ${await res.text()}`);
    });

    const runId = Date.now().toString(36);
    const baselineSeconds = await runPool(n, concurrency, async (i) => {
      await env.deps.temporal.client.workflow.start<typeof emptyWorkflow>('emptyWorkflow', {
        taskQueue: env.baselineQueue,
        workflowId: `baseline-${runId}-${i}`,
      });
    });

    // Contention: `clients` customers, each trying the few contested slots in its own order until one holds.
    const clients = Math.max(concurrency, 50);
    const contested = Array.from({ length: 5 }, (_, k) => ({
      start: firstDay
        .plus({ days: 20 })
        .set({ hour: 9 })
        .plus({ minutes: k * SLOT_MIN })
        .toUTC()
        .toISO()!,
      mechanic_id: mechanics[0].id,
    }));
    let attempts = 0;
    let won = 0;
    const contentionSeconds = await runPool(clients, clients, async (client) => {
      for (let k = 0; k < contested.length; k++) {
        attempts++;
        const res = await book(contested[(client + k) % contested.length], n + client);
        if (res.status === 201) return void won++;
        if (res.status !== 409) throw new Error(`contention booking failed: ${res.status} ${await res.text()}`);
      }
    });
    const held = await Appointment.query()
      .where({ mechanic_id: mechanics[0].id, status: 'held' })
      .whereIn(
        'starts_at',
        contested.map((s) => new Date(s.start)),
      );
    const overlaps = await Appointment.knex().raw(
      `SELECT count(*)::int AS n FROM appointments a JOIN appointments b ON a.id < b.id AND a.mechanic_id = b.mechanic_id
        AND tstzrange(a.block_start, a.block_end) && tstzrange(b.block_start, b.block_end)
        WHERE a.status IN ('held','confirmed','in_progress') AND b.status IN ('held','confirmed','in_progress')`,
    );
    const correct = won === contested.length && held.length === contested.length && overlaps.rows[0].n === 0;

    const result = {
      n,
      concurrency,
      bookings_per_s: n / bookingSeconds,
      baseline_workflow_starts_per_s: n / baselineSeconds,
      ratio: n / bookingSeconds / (n / baselineSeconds),
      booking_latency_ms: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
      contention: {
        clients,
        slots: contested.length,
        attempts,
        held: held.length,
        overlapping_pairs: overlaps.rows[0].n,
        attempts_per_s: attempts / contentionSeconds,
        correct,
      },
    };
    const file = writeResult('booking', result);
    console.log(
      `booking: ${result.bookings_per_s.toFixed(1)} distinct-slot bookings/s vs ${result.baseline_workflow_starts_per_s.toFixed(1)} bare workflow starts/s`,
    );
    console.log(
      `  ratio ${result.ratio.toFixed(2)}; booking latency p50 ${result.booking_latency_ms.p50.toFixed(1)} ms, p99 ${result.booking_latency_ms.p99.toFixed(1)} ms`,
    );
    console.log(
      `  contention: ${clients} clients for ${contested.length} slots → ${held.length} held, ${result.contention.overlapping_pairs} overlaps, ${attempts} attempts at ${result.contention.attempts_per_s.toFixed(1)}/s: ${correct ? 'correct' : 'WRONG'} → ${file}`,
    );
    if (!correct) process.exitCode = 1;
    return result;
  } finally {
    await env.close();
  }
}
