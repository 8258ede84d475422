/**
 * The appointment workflow from the API's side: starting it at booking, then its requests (Updates, recorded as
 * Signals when no worker takes them in time: clients/requests.ts). A request the workflow rejects throws
 * WorkflowUpdateFailedError; one sent to a closed workflow, WorkflowNotFoundError.
 */
import { WorkflowIdReusePolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Config } from '../lib/platform/config.js';
import { BusinessStatus } from '../lib/platform/searchAttributes.js';
import type { AppointmentStatus } from '../db/booking.js';
import { newRequest, updateWithin, type Waited } from './requests.js';
import {
  appointmentWorkflowId,
  cancelAppointment,
  cancelAppointmentRequested,
  confirmAppointment,
  confirmAppointmentRequested,
  recordVisit,
  recordVisitRequested,
  rescheduleAppointmentRequested,
  rescheduleAppointmentUpdate,
  type AppointmentInput,
  type AppointmentWorkflow,
  type RescheduleResult,
  type VisitStatus,
} from '../workflows/contracts/booking.js';

/** Starts a new hold's workflow; throws WorkflowExecutionAlreadyStartedError if that appointment ever had one. */
export async function startAppointmentWorkflow(client: Client, config: Config, input: AppointmentInput): Promise<void> {
  await client.workflow.start<AppointmentWorkflow>('appointmentWorkflow', {
    taskQueue: config.temporal.taskQueue,
    workflowId: appointmentWorkflowId(input.appointmentId),
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    args: [input],
    typedSearchAttributes: [{ key: BusinessStatus, value: 'held' }],
  });
}

/** The appointment's workflow (no call to the server until it is used). */
export const appointmentHandle = (client: Client, appointmentId: string): WorkflowHandle<AppointmentWorkflow> =>
  client.workflow.getHandle(appointmentWorkflowId(appointmentId));

/**
 * Confirms the hold within `waitMs` (ms; see `updateWithin`): the status after it (`confirmed`, or the stored status
 * if that moved first), or `done: false` while the request is recorded but not yet carried out.
 */
export const confirmUpdate = (handle: WorkflowHandle, waitMs: number): Promise<Waited<AppointmentStatus>> =>
  updateWithin(handle, confirmAppointment, confirmAppointmentRequested, newRequest(), waitMs);

/** Moves the appointment within `waitMs`: its new start and mechanic, or why it stays (`slot_taken`, its state). */
export const rescheduleUpdate = (
  handle: WorkflowHandle,
  to: { startsAt: string; mechanicId?: string },
  waitMs: number,
): Promise<Waited<RescheduleResult>> =>
  updateWithin(handle, rescheduleAppointmentUpdate, rescheduleAppointmentRequested, { ...newRequest(), ...to }, waitMs);

/** Cancels with the reason within `waitMs`: the status after it (`canceled`, or the stored one if that moved first). */
export const cancelUpdate = (
  handle: WorkflowHandle,
  reason: string,
  waitMs: number,
): Promise<Waited<AppointmentStatus>> =>
  updateWithin(handle, cancelAppointment, cancelAppointmentRequested, { ...newRequest(), reason }, waitMs);

/** Records the visit's outcome within `waitMs`: the status after it. */
export const recordVisitUpdate = (
  handle: WorkflowHandle,
  status: VisitStatus,
  waitMs: number,
): Promise<Waited<AppointmentStatus>> =>
  updateWithin(handle, recordVisit, recordVisitRequested, { ...newRequest(), status }, waitMs);
