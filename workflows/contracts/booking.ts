/** The appointment workflow's contract: its id, Updates, Query and input. Imports no implementation. */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { RescheduleResult } from '../../db/booking.js';
import type { AppointmentStatus } from '../../db/models/Appointment.js';

export type { RescheduleResult };
export type VisitStatus = 'in_progress' | 'completed' | 'no_show';

export const confirmAppointment = defineUpdate<AppointmentStatus>('confirmAppointment');
export const rescheduleAppointmentUpdate = defineUpdate<RescheduleResult, [{ startsAt: string; mechanicId?: string }]>(
  'rescheduleAppointment',
);
export const cancelAppointment = defineUpdate<AppointmentStatus, [{ reason: string }]>('cancelAppointment');
export const recordVisit = defineUpdate<AppointmentStatus, [{ status: VisitStatus }]>('recordVisit');
export const appointmentStatus = defineQuery<AppointmentStatus>('appointmentStatus');

export interface AppointmentInput {
  appointmentId: string;
  startsAt: string;
  durationMin: number;
  holdMs: number;
  /** Send a reminder this long before the start, for each entry. */
  remindersMs: number[];
  /** Close an appointment nobody updated this long after its end. */
  closeAfterMs: number;
}

export const appointmentWorkflowId = (appointmentId: string) => `appointment-${appointmentId}`;

/** `appointmentWorkflow`: one booking from hold to visit; returns its final status. */
export type AppointmentWorkflow = (input: AppointmentInput) => Promise<AppointmentStatus>;
