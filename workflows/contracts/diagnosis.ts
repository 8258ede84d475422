/**
 * The diagnosis chat workflow's contract: its id, Updates with their Signal twins (the same request, recorded while
 * no worker accepted the Update in time: see clients/requests.ts), Query and input. Imports no implementation.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Reply } from '../../lib/diagnosis/engine.js';
import type { WorkflowRequest } from './requests.js';

/** A reply with the model that wrote it (or `built-in …`) and how long it took, in ms. */
export type AssistantReply = Reply & { model: string; latencyMs: number };

export interface TranscriptEntry {
  role: 'user' | 'assistant';
  content: string;
  at: string;
}

export interface DiagnosisSessionInput {
  sessionId: string;
  /** Close the session after this long without a message. */
  idleMs: number;
  /** Continue as new once the workflow holds this many messages (the database keeps all of them). */
  continueAfter: number;
  /** Carried over by continue-as-new. */
  transcript?: TranscriptEntry[];
  seq?: number;
}

export type MessageRequest = WorkflowRequest & { text: string };
export type CloseRequest = WorkflowRequest & { reason: string };

/** The owner's message; answers with the assistant's reply. */
export const sendMessage = defineUpdate<AssistantReply, [MessageRequest]>('sendMessage');
export const sendMessageRequested = defineSignal<[MessageRequest]>('sendMessageRequested');
export const closeSession = defineUpdate<void, [CloseRequest]>('closeSession');
export const closeSessionRequested = defineSignal<[CloseRequest]>('closeSessionRequested');
export const transcriptQuery = defineQuery<TranscriptEntry[]>('transcript');

export const diagnosisWorkflowId = (sessionId: string) => `diagnosis-${sessionId}`;

/** `diagnosisSessionWorkflow`: one car owner's conversation, until it is closed or idle. */
export type DiagnosisSessionWorkflow = (input: DiagnosisSessionInput) => Promise<void>;
