/**
 * The self-service account workflows' contract (README "Accounts"): one workflow per sign-up attempt and one per
 * password-reset request, their ids, the resend Update with its Signal twin, the Signals the API sends when a code
 * was used, and inputs. Imports no implementation.
 */
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type { WorkflowRequest } from './requests.js';

/** A resend's answer: sent, or refused for `retryAfterMs` more (the cool-down since the last code). */
export type ResendResult = { sent: true } | { sent: false; retryAfterMs: number };

export const resendCode = defineUpdate<ResendResult, [WorkflowRequest]>('resendCode');
export const resendCodeRequested = defineSignal<[WorkflowRequest]>('resendCodeRequested');
/** The API verified the email with this attempt's code: the workflow stops its timers. */
export const emailVerified = defineSignal('emailVerified');
/** The API used this attempt's reset token. */
export const resetUsed = defineSignal('resetUsed');

export interface RegistrationInput {
  attemptId: string;
  userId: string;
  /** The email already had an account: the owner is told so (no code), and the caller learns nothing. */
  existing: boolean;
  codeTtlMs: number;
  resendCooldownMs: number;
  /** An account still unverified this long after the attempt started is removed. */
  unverifiedTtlMs: number;
}

export interface PasswordResetInput {
  attemptId: string;
  /** Null: no account has the email; the workflow ends at once (the caller is answered the same). */
  userId: string | null;
  ttlMs: number;
}

export const registrationWorkflowId = (attemptId: string) => `account-registration-${attemptId}`;
export const passwordResetWorkflowId = (attemptId: string) => `password-reset-${attemptId}`;

/** `registrationWorkflow`: `verified`, `removed` (never verified in time), or `notified` (the account existed). */
export type RegistrationWorkflow = (input: RegistrationInput) => Promise<'verified' | 'removed' | 'notified'>;
/** `passwordResetWorkflow`: `used`, `expired`, `no_account`. */
export type PasswordResetWorkflow = (input: PasswordResetInput) => Promise<'used' | 'expired' | 'no_account'>;
