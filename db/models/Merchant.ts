import { Model } from 'objection';

export class Merchant extends Model {
  static tableName = 'merchants';
  id!: string;
  name!: string;
  webhook_url!: string | null;
  /** AES-GCM sealed `whsec_…` secret; never returned by the API after creation. */
  webhook_secret_enc!: string;
  created_at!: Date;
}
