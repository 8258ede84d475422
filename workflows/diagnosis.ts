import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  closeSession,
  closeSessionRequested,
  sendMessage,
  sendMessageRequested,
  transcriptQuery,
  type DiagnosisSessionWorkflow,
} from './contracts/diagnosis.js';
import { handleRequest } from './requests.js';

const { askAssistant } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 4 },
});
const { recordDiagnosisMessage, closeDiagnosisSession } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds' },
});

/** Messages carried into the next run, for the transcript query. */
const CARRIED = 20;

/**
 * One car owner's conversation: each message gets one reply, whether it came as an Update or as its Signal twin
 * recorded while no worker ran; silence closes it.
 */
export const diagnosisSessionWorkflow: DiagnosisSessionWorkflow = async (input) => {
  const transcript = input.transcript ?? [];
  let seq = input.seq ?? 0;
  let open = true;
  let busy = false;
  /** Bumped by every message, so the idle timer starts over. */
  let activity = 0;

  const close = async (reason: string) => {
    if (!open) return;
    open = false;
    await closeDiagnosisSession({ sessionId: input.sessionId, reason });
  };

  setHandler(transcriptQuery, () => transcript);
  handleRequest(
    sendMessage,
    sendMessageRequested,
    async ({ text }) => {
      // One message at a time, in the order they arrived.
      await condition(() => !busy);
      busy = true;
      activity += 1;
      try {
        await recordDiagnosisMessage({ sessionId: input.sessionId, seq: ++seq, role: 'user', content: text });
        transcript.push({ role: 'user', content: text, at: new Date().toISOString() });
        // The provider may be down or out of quota; the built-in engine still answers, saying why.
        const reply = await askAssistant({ sessionId: input.sessionId }).catch((failure: unknown) =>
          askAssistant({
            sessionId: input.sessionId,
            fallback: true,
            reason: (failure instanceof ActivityFailure && failure.cause?.message) || undefined,
          }),
        );
        await recordDiagnosisMessage({
          sessionId: input.sessionId,
          seq: ++seq,
          role: 'assistant',
          content: reply.text,
          kind: reply.type,
          diagnosis: reply.type === 'diagnosis' ? reply.diagnosis : undefined,
          model: reply.model,
          latencyMs: reply.latencyMs,
          confidence: reply.confidence,
        });
        transcript.push({ role: 'assistant', content: reply.text, at: new Date().toISOString() });
        return reply;
      } finally {
        busy = false;
      }
    },
    ({ text }) => {
      if (!open) throw new Error('The session is closed');
      if (!text.trim()) throw new Error('The message is empty');
    },
  );
  handleRequest(closeSession, closeSessionRequested, ({ reason }) => close(reason));

  while (open) {
    const seen = activity;
    const stirred = await condition(() => !open || activity !== seen, input.idleMs);
    if (!stirred && !busy) await close('idle');
    if (open && (transcript.length >= input.continueAfter || workflowInfo().continueAsNewSuggested)) {
      await condition(() => !busy && allHandlersFinished());
      await continueAsNew<typeof diagnosisSessionWorkflow>({ ...input, transcript: transcript.slice(-CARRIED), seq });
    }
  }
  await condition(allHandlersFinished);
};
