import { Model } from 'objection';

export class Merchant extends Model {
  static tableName = 'merchants';
  id!: string;
  name!: string;
  webhook_url!: string | null;
  /** AES-GCM sealed `whsec_…` secret; never returned by the API after creation. */
  webhook_secret_enc!: string;
  webhook_secret_prev_enc!: string | null;
  webhook_secret_prev_expires_at!: Date | null;
  /** Set at the first failed attempt after a success; an endpoint failing for too long is disabled. */
  webhook_failing_since!: Date | null;
  webhook_disabled_at!: Date | null;
  webhook_disabled_reason!: string | null;
  created_at!: Date;
}
