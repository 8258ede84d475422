import { ApplicationFailure } from '@temporalio/common';
import {
  findAppointment,
  logAppointmentEvent,
  recordNotification,
  rescheduleAppointment,
  setAppointmentStatus,
  type AppointmentStatus,
  type RescheduleResult,
} from '../db/booking.js';
import { domainEvent, publish } from '../lib/platform/events.js';
import { appointmentWorkflowId } from '../workflows/contracts/booking.js';
import type { ActivityDeps } from './index.js';

export function bookingActivities({ db, redis }: ActivityDeps) {
  /** A live event for consoles (operators: appointments belong to no merchant); best effort. */
  async function announce(type: string, appointmentId: string, data: Record<string, unknown> = {}) {
    const appointment = await findAppointment(db, appointmentId);
    if (!appointment) return;
    const payload = {
      appointment_id: appointmentId,
      workshop_id: appointment.workshop_id,
      workflow_id: appointmentWorkflowId(appointmentId),
      ...data,
    };
    await publish(redis, domainEvent(type, null, payload)).catch(() => {});
  }

  return {
    async setAppointmentStatus(input: {
      appointmentId: string;
      from: AppointmentStatus[];
      to: AppointmentStatus;
      data?: Record<string, unknown>;
    }) {
      const result = await setAppointmentStatus(db, input.appointmentId, input.from, input.to, input.data);
      // The API's transaction rolled back after starting the workflow: there is nothing to move.
      if (!result)
        throw ApplicationFailure.nonRetryable(
          `appointment ${input.appointmentId} does not exist`,
          'AppointmentMissing',
        );
      if (result.changed) await announce(`appointment.${input.to}`, input.appointmentId);
      return result;
    },

    async rescheduleAppointment(input: {
      appointmentId: string;
      startsAt: string;
      mechanicId?: string;
    }): Promise<RescheduleResult> {
      const result = await rescheduleAppointment(db, input.appointmentId, new Date(input.startsAt), input.mechanicId);
      if (result.ok) await announce('appointment.rescheduled', input.appointmentId, { starts_at: result.starts_at });
      return result;
    },

    /** One notification row per appointment, reminder and start time: a retry cannot notify twice. */
    async sendReminder(input: { appointmentId: string; beforeS: number; startsAt: string }): Promise<void> {
      const appointment = await findAppointment(db, input.appointmentId);
      if (!appointment) return;
      const kind = `reminder:${input.beforeS}s:${input.startsAt}`;
      const message = `Reminder: your appointment starts at ${input.startsAt}.`;
      const recorded = await recordNotification(db, {
        appointment_id: appointment.id,
        kind,
        recipient: appointment.customer_email,
        message,
      });
      if (!recorded) return;
      await logAppointmentEvent(db, appointment.id, 'reminder_sent', {
        before_s: input.beforeS,
        starts_at: input.startsAt,
      });
      await announce('appointment.reminder', appointment.id, { before_s: input.beforeS, starts_at: input.startsAt });
    },
  };
}
