import { Model } from 'objection';

export class Merchant extends Model {
  static tableName = 'merchants';
  // No JSON columns: arrays (webhook_events) go to PostgreSQL as arrays, not JSON text.
  static jsonAttributes: string[] = [];
  id!: string;
  name!: string;
  webhook_url!: string | null;
  /** Event types the endpoint receives; `*` is every type. */
  webhook_events!: string[];
  /** AES-GCM sealed `whsec_…` secret; never returned by the API after creation. */
  webhook_secret_enc!: string;
  webhook_secret_prev_enc!: string | null;
  webhook_secret_prev_expires_at!: Date | null;
  /** The Idempotency-Key (its row's id) of the request that made the last rotation, if it had one. */
  webhook_secret_rotation_key_id!: string | null;
  /** Set at the first failed attempt after a success; an endpoint failing for too long is disabled. */
  webhook_failing_since!: Date | null;
  webhook_disabled_at!: Date | null;
  webhook_disabled_reason!: string | null;
  created_at!: Date;
}
