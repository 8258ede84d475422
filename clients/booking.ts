/**
 * The appointment workflow from the API's side: starting it at booking, then its Updates. An Update the
 * workflow rejects throws WorkflowUpdateFailedError; one sent to a closed workflow, WorkflowNotFoundError.
 */
import { WorkflowIdReusePolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Config } from '../lib/platform/config.js';
import { BusinessStatus } from '../lib/platform/searchAttributes.js';
import type { AppointmentStatus } from '../db/booking.js';
import {
  appointmentWorkflowId,
  cancelAppointment,
  confirmAppointment,
  recordVisit,
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

/** Confirms the hold; resolves to the status after it (`confirmed`, or the stored status if that moved first). */
export const confirmUpdate = (handle: WorkflowHandle): Promise<AppointmentStatus> =>
  handle.executeUpdate(confirmAppointment);

/** Moves the appointment; resolves to its new start and mechanic, or why it stays (`slot_taken`, its state). */
export const rescheduleUpdate = (
  handle: WorkflowHandle,
  to: { startsAt: string; mechanicId?: string },
): Promise<RescheduleResult> => handle.executeUpdate(rescheduleAppointmentUpdate, { args: [to] });

/** Cancels with the reason; resolves to the status after it (`canceled`, or the stored status if that moved first). */
export const cancelUpdate = (handle: WorkflowHandle, reason: string): Promise<AppointmentStatus> =>
  handle.executeUpdate(cancelAppointment, { args: [{ reason }] });

/** Records the visit's outcome; resolves to the status after it. */
export const recordVisitUpdate = (handle: WorkflowHandle, status: VisitStatus): Promise<AppointmentStatus> =>
  handle.executeUpdate(recordVisit, { args: [{ status }] });
