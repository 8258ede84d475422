/**
 * The account workflows from the API's side: starting a sign-up attempt or a password reset, asking for a resend
 * (an Update, recorded as its Signal twin when no worker takes it in time: clients/requests.ts), and telling an
 * attempt its code was used (best effort: the workflow's timers check the database anyway).
 */
import { randomUUID } from 'node:crypto';
import { WorkflowIdReusePolicy, type Client, type SignalDefinition } from '@temporalio/client';
import type { Config } from '../lib/platform/config.js';
import { newRequest, updateWithin, type Waited } from './requests.js';
import {
  emailVerified,
  passwordResetWorkflowId,
  registrationWorkflowId,
  resendCode,
  resendCodeRequested,
  resetUsed,
  type PasswordResetWorkflow,
  type RegistrationWorkflow,
  type ResendResult,
} from '../workflows/contracts/accounts.js';

/** Starts a sign-up attempt's workflow for the user (new, or `existing`: its owner is notified); the attempt id. */
export async function startRegistration(
  client: Client,
  config: Config,
  user: { userId: string; existing: boolean },
): Promise<string> {
  const attemptId = randomUUID();
  const { codeTtlMs, resendCooldownMs, unverifiedTtlMs } = config.accounts;
  await client.workflow.start<RegistrationWorkflow>('registrationWorkflow', {
    taskQueue: config.temporal.taskQueue,
    workflowId: registrationWorkflowId(attemptId),
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    args: [{ attemptId, ...user, codeTtlMs, resendCooldownMs, unverifiedTtlMs }],
  });
  return attemptId;
}

/** Starts a password-reset request's workflow (`userId` null: no account has the email); the attempt id. */
export async function startPasswordReset(client: Client, config: Config, userId: string | null): Promise<string> {
  const attemptId = randomUUID();
  await client.workflow.start<PasswordResetWorkflow>('passwordResetWorkflow', {
    taskQueue: config.temporal.taskQueue,
    workflowId: passwordResetWorkflowId(attemptId),
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    args: [{ attemptId, userId, ttlMs: config.accounts.resetTtlMs }],
  });
  return attemptId;
}

/**
 * Asks the attempt for a new code within `waitMs` (ms): sent, or refused with the cool-down left; `done: false`
 * while recorded but not yet carried out. Rejects as `executeUpdate` does when the attempt is finished.
 */
export const requestResend = (client: Client, attemptId: string, waitMs: number): Promise<Waited<ResendResult>> =>
  updateWithin(
    client.workflow.getHandle(registrationWorkflowId(attemptId)),
    resendCode,
    resendCodeRequested,
    newRequest(),
    waitMs,
  );

/** How long telling a workflow its code was used may take; its own timer covers a lost Signal. */
const NOTIFY_DEADLINE_MS = 2000;

/** Sends `signal` to the workflow, within NOTIFY_DEADLINE_MS; resolves either way (a closed one needs nothing). */
async function notify(client: Client, workflowId: string, signal: SignalDefinition): Promise<void> {
  await client.connection
    .withDeadline(Date.now() + NOTIFY_DEADLINE_MS, () => client.workflow.getHandle(workflowId).signal(signal))
    .catch(() => {});
}

/** Tells the sign-up attempt its email is verified, so it stops its timers. */
export const notifyVerified = (client: Client, attemptId: string) =>
  notify(client, registrationWorkflowId(attemptId), emailVerified);

/** Tells the reset request its link was used. */
export const notifyResetUsed = (client: Client, attemptId: string) =>
  notify(client, passwordResetWorkflowId(attemptId), resetUsed);
