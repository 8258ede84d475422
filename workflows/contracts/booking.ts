/**
 * The appointment workflow's contract: its id, Updates with their Signal twins (the same request, recorded while no
 * worker accepted the Update in time: see clients/requests.ts), Query and input. Imports no implementation.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RescheduleResult } from '../../db/booking.js';
import type { AppointmentStatus } from '../../db/models/Appointment.js';
import type { WorkflowRequest } from './requests.js';

export type { RescheduleResult };
export type VisitStatus = 'in_progress' | 'completed' | 'no_show';
export type RescheduleRequest = WorkflowRequest & { startsAt: string; mechanicId?: string };
export type CancelRequest = WorkflowRequest & { reason: string };
export type VisitRequest = WorkflowRequest & { status: VisitStatus };

export const confirmAppointment = defineUpdate<AppointmentStatus, [WorkflowRequest]>('confirmAppointment');
export const confirmAppointmentRequested = defineSignal<[WorkflowRequest]>('confirmAppointmentRequested');
export const rescheduleAppointmentUpdate = defineUpdate<RescheduleResult, [RescheduleRequest]>('rescheduleAppointment');
export const rescheduleAppointmentRequested = defineSignal<[RescheduleRequest]>('rescheduleAppointmentRequested');
export const cancelAppointment = defineUpdate<AppointmentStatus, [CancelRequest]>('cancelAppointment');
export const cancelAppointmentRequested = defineSignal<[CancelRequest]>('cancelAppointmentRequested');
export const recordVisit = defineUpdate<AppointmentStatus, [VisitRequest]>('recordVisit');
export const recordVisitRequested = defineSignal<[VisitRequest]>('recordVisitRequested');
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
