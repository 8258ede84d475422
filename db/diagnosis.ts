/** Diagnosis chats: sessions (one per car owner's conversation) and their messages, kept in order by `seq`. */
import type { Knex } from 'knex';
import type { QueryBuilder } from 'objection';
import type { Diagnosis, Vehicle } from '../lib/diagnosis/engine.js';
import { DiagnosisMessage, DiagnosisSession } from './models/Diagnosis.js';

/** One chat message to store, at position `seq` of its session; `latencyMs` in ms, `confidence` 0–1. */
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

/**
 * Inserts an open session and runs `beforeCommit` with it inside the same transaction, so the session is
 * stored only if that succeeds; returns the stored row. Rejects with `beforeCommit`'s error (nothing stored).
 */
export async function createSession(
  db: Knex,
  session: { accessTokenHash: string; vehicle: Vehicle; workshopId: string | null },
  beforeCommit: (created: DiagnosisSession) => Promise<unknown>,
): Promise<DiagnosisSession> {
  return db.transaction(async (trx) => {
    const created = await DiagnosisSession.query(trx).insertAndFetch({
      access_token_hash: session.accessTokenHash,
      vehicle: session.vehicle,
      workshop_id: session.workshopId,
      status: 'open',
    });
    await beforeCommit(created);
    return created;
  });
}

/** The session with this id, or undefined. */
export async function findSession(db: Knex, id: string): Promise<DiagnosisSession | undefined> {
  return DiagnosisSession.query(db).findById(id);
}

/** Sessions, optionally of one status, as an unordered query for the API's keyset pagination (`pageOf`). */
export function sessionListQuery(db: Knex, status?: 'open' | 'closed'): QueryBuilder<DiagnosisSession> {
  const q = DiagnosisSession.query(db);
  if (status) q.where({ status });
  return q;
}

/** The session's messages in conversation order (by `seq`). */
export async function sessionMessages(db: Knex, sessionId: string): Promise<DiagnosisMessage[]> {
  return DiagnosisMessage.query(db).where({ session_id: sessionId }).orderBy('seq');
}

/** Stores the owner's rating (1–5) and comment; returns the updated session. */
export async function saveFeedback(
  db: Knex,
  id: string,
  feedback: { rating: number; comment: string | null },
): Promise<DiagnosisSession> {
  return DiagnosisSession.query(db).patchAndFetchById(id, {
    rating: feedback.rating,
    feedback_comment: feedback.comment,
    updated_at: new Date(),
  });
}

/**
 * One message (and, for a diagnosis, the session's current diagnosis) in one transaction; keyed by position,
 * so recording the same `seq` again changes nothing.
 */
export async function recordMessage(db: Knex, m: MessageToRecord): Promise<void> {
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
}

/** Marks the session closed with `reason`, if it is still open; resolves either way. */
export async function closeSessionRow(db: Knex, id: string, reason: string): Promise<void> {
  await DiagnosisSession.query(db)
    .patch({ status: 'closed', close_reason: reason, closed_at: new Date(), updated_at: new Date() })
    .findById(id)
    .where({ status: 'open' });
}
