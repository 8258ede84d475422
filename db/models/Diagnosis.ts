import { Model } from 'objection';
import type { Diagnosis, Vehicle } from '../../lib/diagnosis/engine.js';

export class DiagnosisSession extends Model {
  static tableName = 'diagnosis_sessions';
  id!: string;
  /** The customer's credential for the chat, hashed. */
  access_token_hash!: string;
  vehicle!: Vehicle;
  workshop_id!: string | null;
  status!: 'open' | 'closed';
  close_reason!: string | null;
  diagnosis!: Diagnosis | null;
  rating!: number | null;
  feedback_comment!: string | null;
  created_at!: Date;
  updated_at!: Date;
  closed_at!: Date | null;
}

export class DiagnosisMessage extends Model {
  static tableName = 'diagnosis_messages';
  id!: number;
  session_id!: string;
  seq!: number;
  role!: 'user' | 'assistant';
  content!: string;
  kind!: 'question' | 'diagnosis' | null;
  diagnosis!: Diagnosis | null;
  model!: string | null;
  latency_ms!: number | null;
  confidence!: number | null;
  created_at!: Date;

  $parseDatabaseJson(json: Record<string, unknown>) {
    const row = super.$parseDatabaseJson(json);
    return { ...row, id: Number(row.id), confidence: row.confidence === null ? null : Number(row.confidence) };
  }
}
