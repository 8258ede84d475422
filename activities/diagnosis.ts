import { ApplicationFailure } from '@temporalio/common';
import { DiagnosisMessage, DiagnosisSession } from '../db/models/Diagnosis.js';
import { builtInReply, type Diagnosis, type Reply } from '../lib/diagnosis/engine.js';
import { ProviderError, providerReply } from '../lib/diagnosis/provider.js';
import { domainEvent, publish } from '../lib/platform/events.js';
import type { AssistantReply } from '../workflows/contracts/diagnosis.js';
import type { ActivityDeps } from './index.js';

export interface MessageToRecord {
  sessionId: string;
  seq: number;
  role: 'user' | 'assistant';
  content: string;
  kind?: 'question' | 'diagnosis';
  diagnosis?: Diagnosis;
  model?: string;
  latencyMs?: number;
  confidence?: number;
}

export function diagnosisActivities({ config, db, redis }: ActivityDeps) {
  const provider = config.diagnosis.provider;

  return {
    /** One message (and, for a diagnosis, the session's current diagnosis) in one transaction; keyed by position. */
    async recordDiagnosisMessage(m: MessageToRecord): Promise<void> {
      await db.transaction(async (trx) => {
        const inserted = await trx('diagnosis_messages')
          .insert({
            session_id: m.sessionId,
            seq: m.seq,
            role: m.role,
            content: m.content,
            kind: m.kind ?? null,
            diagnosis: m.diagnosis ? JSON.stringify(m.diagnosis) : null,
            model: m.model ?? null,
            latency_ms: m.latencyMs ?? null,
            confidence: m.confidence ?? null,
          })
          .onConflict(['session_id', 'seq'])
          .ignore()
          .returning('id');
        if (inserted.length)
          await DiagnosisSession.query(trx)
            .patch({ updated_at: new Date(), ...(m.diagnosis ? { diagnosis: m.diagnosis } : {}) })
            .findById(m.sessionId);
      });
      await publish(
        redis,
        domainEvent('diagnosis.message', null, { session_id: m.sessionId, role: m.role, kind: m.kind ?? null }),
      ).catch(() => {});
    },

    /**
     * The assistant's next turn over the stored conversation: from the configured provider (failures
     * classified for Temporal's retries, `retry-after` honoured), or the built-in engine when there is
     * none, when asked to fall back, or when the provider's answer fails validation twice.
     */
    async askAssistant({
      sessionId,
      fallback = false,
    }: {
      sessionId: string;
      fallback?: boolean;
    }): Promise<AssistantReply> {
      const started = performance.now();
      const session = await DiagnosisSession.query(db).findById(sessionId);
      if (!session)
        throw ApplicationFailure.nonRetryable(`diagnosis session ${sessionId} does not exist`, 'SessionMissing');
      const messages = await DiagnosisMessage.query(db).where({ session_id: sessionId }).orderBy('seq');
      const builtIn = (model: string) => ({
        ...builtInReply(session.vehicle, messages),
        model,
        latencyMs: Math.round(performance.now() - started),
      });
      if (!provider) return builtIn('built-in');
      if (fallback) return builtIn('built-in (fallback: provider unavailable)');
      try {
        const reply = await providerReply(provider, session.vehicle, messages);
        return reply
          ? { ...reply, model: provider.model, latencyMs: Math.round(performance.now() - started) }
          : builtIn('built-in (fallback: invalid provider answer)');
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
      await DiagnosisSession.query(db)
        .patch({ status: 'closed', close_reason: reason, closed_at: new Date(), updated_at: new Date() })
        .findById(sessionId)
        .where({ status: 'open' });
      await publish(redis, domainEvent('diagnosis.closed', null, { session_id: sessionId, reason })).catch(() => {});
    },
  };
}
