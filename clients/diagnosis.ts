/** The diagnosis chat's workflow, from the API: starting it, and the owner's messages and close as Updates. */
import { WorkflowIdReusePolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Config } from '../lib/platform/config.js';
import {
  closeSession,
  diagnosisWorkflowId,
  sendMessage,
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
 * Sends the owner's message; resolves with the assistant's reply. Rejects with WorkflowUpdateFailedError when
 * the session is closed, or WorkflowNotFoundError when its workflow is gone.
 */
export const sendDiagnosisMessage = (handle: WorkflowHandle, text: string): Promise<AssistantReply> =>
  handle.executeUpdate(sendMessage, { args: [{ text }] });

/** Ends the chat with `reason`; rejects like `sendDiagnosisMessage` when the workflow has already finished. */
export const closeDiagnosisChat = (handle: WorkflowHandle, reason: string): Promise<void> =>
  handle.executeUpdate(closeSession, { args: [{ reason }] });
