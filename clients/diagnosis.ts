/** The diagnosis chat's workflow, from the API: starting it, and the owner's messages and close as requests. */
import { WorkflowIdReusePolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Config } from '../lib/platform/config.js';
import { newRequest, updateWithin, type Waited } from './requests.js';
import {
  closeSession,
  closeSessionRequested,
  diagnosisWorkflowId,
  sendMessage,
  sendMessageRequested,
  type AssistantReply,
  type DiagnosisSessionWorkflow,
} from '../workflows/contracts/diagnosis.js';

/** Starts the session's chat workflow; rejects when Temporal refuses (one already ran for this session, say). */
export async function startDiagnosisWorkflow(client: Client, config: Config, sessionId: string): Promise<void> {
  await client.workflow.start<DiagnosisSessionWorkflow>('diagnosisSessionWorkflow', {
    taskQueue: config.temporal.taskQueue,
    workflowId: diagnosisWorkflowId(sessionId),
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    args: [
      {
        sessionId,
        idleMs: config.diagnosis.idleS * 1000,
        continueAfter: config.diagnosis.continueAsNewAfter,
      },
    ],
  });
}

/** The handle of the session's chat workflow (no call is made). */
export const diagnosisHandle = (client: Client, sessionId: string): WorkflowHandle<DiagnosisSessionWorkflow> =>
  client.workflow.getHandle<DiagnosisSessionWorkflow>(diagnosisWorkflowId(sessionId));

/**
 * Sends the owner's message within `waitMs` (ms; see `updateWithin`): the assistant's reply, or `done: false` while
 * the message is recorded and the reply not yet written. Rejects with WorkflowUpdateFailedError when the session is
 * closed, or WorkflowNotFoundError when its workflow is gone.
 */
export const sendDiagnosisMessage = (
  handle: WorkflowHandle,
  text: string,
  waitMs: number,
): Promise<Waited<AssistantReply>> =>
  updateWithin(handle, sendMessage, sendMessageRequested, { ...newRequest(), text }, waitMs);

/** Ends the chat with `reason` within `waitMs`; rejects like `sendDiagnosisMessage` when the workflow has finished. */
export const closeDiagnosisChat = (handle: WorkflowHandle, reason: string, waitMs: number): Promise<Waited<void>> =>
  updateWithin(handle, closeSession, closeSessionRequested, { ...newRequest(), reason }, waitMs);
