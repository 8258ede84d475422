import { ApplicationFailure } from '@temporalio/common';
import { closeSessionRow, findSession, recordMessage, sessionMessages, type MessageToRecord } from '../db/diagnosis.js';
import { builtInReply } from '../lib/diagnosis/engine.js';
import { ProviderError, providerReply } from '../lib/diagnosis/provider.js';
import { domainEvent, publish } from '../lib/platform/events.js';
import type { AssistantReply } from '../workflows/contracts/diagnosis.js';
import type { ActivityDeps } from './index.js';

export function diagnosisActivities({ config, db, redis }: ActivityDeps) {
  const provider = config.diagnosis.provider;

  return {
    /** One message (and, for a diagnosis, the session's current diagnosis) in one transaction; keyed by position. */
    async recordDiagnosisMessage(m: MessageToRecord): Promise<void> {
      await recordMessage(db, m);
      await publish(
        redis,
        domainEvent('diagnosis.message', null, { session_id: m.sessionId, role: m.role, kind: m.kind ?? null }),
      ).catch(() => {});
    },

    /**
     * The assistant's next turn over the stored conversation: from the configured provider (failures
     * classified for Temporal's retries, `retry-after` honoured), or the built-in engine when there is
     * none, when asked to fall back (`reason`: why the provider could not answer), or when the provider's
     * answer fails validation twice. The model recorded says which: `<model> (<provider path>)`, `built-in`,
     * or `built-in (fallback: <why>)`.
     */
    async askAssistant({
      sessionId,
      fallback = false,
      reason = 'provider unavailable',
    }: {
      sessionId: string;
      fallback?: boolean;
      reason?: string;
    }): Promise<AssistantReply> {
      const started = performance.now();
      const session = await findSession(db, sessionId);
      if (!session)
        throw ApplicationFailure.nonRetryable(`diagnosis session ${sessionId} does not exist`, 'SessionMissing');
      const messages = await sessionMessages(db, sessionId);
      const builtIn = (model: string) => ({
        ...builtInReply(session.vehicle, messages),
        model,
        latencyMs: Math.round(performance.now() - started),
      });
      if (!provider) return builtIn('built-in');
      if (fallback) return builtIn(`built-in (fallback: ${reason})`);
      try {
        const outcome = await providerReply(provider, session.vehicle, messages);
        return outcome.ok
          ? {
              ...outcome.reply,
              model: `${provider.model} (${outcome.path})`,
              latencyMs: Math.round(performance.now() - started),
            }
          : builtIn(`built-in (fallback: invalid provider answer: ${outcome.problem})`);
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        if (!error.retryable) throw ApplicationFailure.nonRetryable(error.message, 'ProviderRefused');
        throw ApplicationFailure.create({
          message: error.message,
          type: 'ProviderUnavailable',
          nextRetryDelay: error.retryAfterMs ?? undefined,
        });
      }
    },

    async closeDiagnosisSession({ sessionId, reason }: { sessionId: string; reason: string }): Promise<void> {
      await closeSessionRow(db, sessionId, reason);
      await publish(redis, domainEvent('diagnosis.closed', null, { session_id: sessionId, reason })).catch(() => {});
    },
  };
}
