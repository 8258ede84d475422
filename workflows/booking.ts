import {
  allHandlersFinished,
  condition,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { AppointmentStatus } from '../db/models/Appointment.js';
import { BusinessStatus } from '../lib/platform/searchAttributes.js';
import {
  appointmentStatus,
  cancelAppointment,
  confirmAppointment,
  recordVisit,
  rescheduleAppointmentUpdate,
  type AppointmentWorkflow,
} from './contracts/booking.js';

// Each step is one short database transaction: local activities, no round trip through the server.
const { setAppointmentStatus, rescheduleAppointment, sendReminder } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds' },
});

const finished = (s: AppointmentStatus) => s === 'completed' || s === 'no_show' || s === 'expired' || s === 'canceled';
const allowedVisit: Record<string, AppointmentStatus[]> = {
  in_progress: ['confirmed'],
  completed: ['in_progress', 'confirmed'],
  no_show: ['confirmed'],
};

/** One booking: held until confirmed (or expired), reminded on durable timers, then visited or not. */
export const appointmentWorkflow: AppointmentWorkflow = async (input) => {
  let status = 'held' as AppointmentStatus;
  const holdUntil = Date.now() + input.holdMs;
  let startsAt = Date.parse(input.startsAt);
  /** Bumped on every reschedule, so pending reminder timers are recomputed. */
  let version = 0;

  const move = async (from: AppointmentStatus[], to: AppointmentStatus, data: Record<string, unknown> = {}) => {
    status = (await setAppointmentStatus({ appointmentId: input.appointmentId, from, to, data })).status;
    upsertSearchAttributes([{ key: BusinessStatus, value: status }]);
    return status;
  };

  setHandler(appointmentStatus, () => status);
  setHandler(confirmAppointment, () => move(['held'], 'confirmed'), {
    validator: () => {
      if (status !== 'held' && status !== 'confirmed')
        throw new Error(`An appointment that is ${status} cannot be confirmed`);
      // A confirmation that arrives with the expiry (say, after a worker outage) is too late.
      if (status === 'held' && Date.now() >= holdUntil) throw new Error('The hold has expired');
    },
  });
  setHandler(
    rescheduleAppointmentUpdate,
    async ({ startsAt: to, mechanicId }) => {
      const result = await rescheduleAppointment({ appointmentId: input.appointmentId, startsAt: to, mechanicId });
      if (result.ok) {
        startsAt = Date.parse(result.starts_at);
        version += 1;
      }
      return result;
    },
    {
      validator: (_request: { startsAt: string; mechanicId?: string }) => {
        if (status !== 'held' && status !== 'confirmed')
          throw new Error(`An appointment that is ${status} cannot be moved`);
      },
    },
  );
  setHandler(cancelAppointment, ({ reason }) => move(['held', 'confirmed'], 'canceled', { reason }), {
    validator: (_request: { reason: string }) => {
      if (status !== 'held' && status !== 'confirmed' && status !== 'canceled')
        throw new Error(`An appointment that is ${status} cannot be canceled`);
    },
  });
  setHandler(recordVisit, ({ status: to }) => move(allowedVisit[to], to), {
    validator: ({ status: to }) => {
      if (!allowedVisit[to]?.includes(status)) throw new Error(`Cannot go from ${status} to ${to}`);
    },
  });

  if (!(await condition(() => status !== 'held', input.holdMs)))
    await move(['held'], 'expired', { reason: 'not confirmed in time' });

  // Date.now() is the workflow's replay-safe clock here. Until the visit is recorded: sleep to the next reminder (while confirmed) or to the automatic close;
  // a reschedule or a status change wakes the workflow to plan again.
  while (!finished(status)) {
    const seen = { status, version };
    const reminder =
      status === 'confirmed'
        ? input.remindersMs
            .map((beforeMs) => ({ beforeMs, at: startsAt - beforeMs }))
            .filter((r) => r.at > Date.now())
            .sort((a, b) => a.at - b.at)[0]
        : undefined;
    const wakeAt = reminder?.at ?? startsAt + input.durationMin * 60_000 + input.closeAfterMs;
    const replan = await condition(
      () => status !== seen.status || version !== seen.version,
      Math.max(1, wakeAt - Date.now()),
    );
    if (replan) continue;
    if (reminder)
      await sendReminder({
        appointmentId: input.appointmentId,
        beforeS: reminder.beforeMs / 1000,
        startsAt: new Date(startsAt).toISOString(),
      });
    else
      await move(['in_progress', 'confirmed'], status === 'in_progress' ? 'completed' : 'no_show', {
        reason: 'closed automatically',
      });
  }
  await condition(allHandlersFinished);
  return status;
};
