import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import { DiagnosisMessage, DiagnosisSession } from '../db/models/Diagnosis.js';
import { builtInReply, type Diagnosis, type Reply } from '../lib/diagnosis/engine.js';
import { domainEvent, publish } from '../lib/events.js';

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

export type AssistantReply = Reply & { model: string; latencyMs: number };

export function diagnosisActivities(db: Knex, redis: Redis) {
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
        if (inserted.length) await DiagnosisSession.query(trx).patch({ updated_at: new Date(), ...(m.diagnosis ? { diagnosis: m.diagnosis } : {}) }).findById(m.sessionId);
      });
      await publish(redis, domainEvent('diagnosis.message', null, { session_id: m.sessionId, role: m.role, kind: m.kind ?? null })).catch(() => {});
    },

    /** The assistant's next turn, from the built-in engine over the stored conversation. */
    async askAssistant({ sessionId }: { sessionId: string }): Promise<AssistantReply> {
      const started = performance.now();
      const session = await DiagnosisSession.query(db).findById(sessionId);
      if (!session) throw ApplicationFailure.nonRetryable(`diagnosis session ${sessionId} does not exist`, 'SessionMissing');
      const messages = await DiagnosisMessage.query(db).where({ session_id: sessionId }).orderBy('seq');
      const reply = builtInReply(session.vehicle, messages);
      return { ...reply, model: 'built-in', latencyMs: Math.round(performance.now() - started) };
    },

    async closeDiagnosisSession({ sessionId, reason }: { sessionId: string; reason: string }): Promise<void> {
      await DiagnosisSession.query(db).patch({ status: 'closed', close_reason: reason, closed_at: new Date(), updated_at: new Date() }).findById(sessionId).where({ status: 'open' });
      await publish(redis, domainEvent('diagnosis.closed', null, { session_id: sessionId, reason })).catch(() => {});
    },
  };
}
