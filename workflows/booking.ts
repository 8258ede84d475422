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
  cancelAppointmentRequested,
  confirmAppointment,
  confirmAppointmentRequested,
  recordVisit,
  recordVisitRequested,
  rescheduleAppointmentRequested,
  rescheduleAppointmentUpdate,
  type AppointmentWorkflow,
} from './contracts/booking.js';
import { handleRequest, requestTime } from './requests.js';

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

/**
 * One booking: held until confirmed (or expired), reminded on durable timers, then visited or not. Each change is
 * a request (an Update, or its Signal twin when no worker took the Update in time), carried out once.
 */
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
  // A confirmation asked for in time is being written: the hold's expiry no longer applies, even when the request
  // and the expiry timer are handled in the same workflow task (a worker back after an outage).
  let confirming = false;
  handleRequest(
    confirmAppointment,
    confirmAppointmentRequested,
    async () => {
      confirming = true;
      return move(['held'], 'confirmed');
    },
    (request) => {
      if (status !== 'held' && status !== 'confirmed')
        throw new Error(`An appointment that is ${status} cannot be confirmed`);
      // Judged by when the customer asked: a confirmation recorded while no worker ran still counts, one asked for
      // after the hold's end does not.
      if (status === 'held' && requestTime(request) >= holdUntil) throw new Error('The hold has expired');
    },
  );
  handleRequest(
    rescheduleAppointmentUpdate,
    rescheduleAppointmentRequested,
    async ({ startsAt: to, mechanicId }) => {
      const result = await rescheduleAppointment({ appointmentId: input.appointmentId, startsAt: to, mechanicId });
      if (result.ok) {
        startsAt = Date.parse(result.starts_at);
        version += 1;
      }
      return result;
    },
    () => {
      if (status !== 'held' && status !== 'confirmed')
        throw new Error(`An appointment that is ${status} cannot be moved`);
    },
  );
  handleRequest(
    cancelAppointment,
    cancelAppointmentRequested,
    ({ reason }) => move(['held', 'confirmed'], 'canceled', { reason }),
    () => {
      if (status !== 'held' && status !== 'confirmed' && status !== 'canceled')
        throw new Error(`An appointment that is ${status} cannot be canceled`);
    },
  );
  handleRequest(
    recordVisit,
    recordVisitRequested,
    ({ status: to }) => move(allowedVisit[to], to),
    ({ status: to }) => {
      if (!allowedVisit[to]?.includes(status)) throw new Error(`Cannot go from ${status} to ${to}`);
    },
  );

  if (!(await condition(() => status !== 'held', input.holdMs)) && !confirming)
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
