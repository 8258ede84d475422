import { Model } from 'objection';

export class ApiKey extends Model {
  static tableName = 'api_keys';
  id!: string;
  merchant_id!: string;
  name!: string;
  /** First characters of the key, shown so people can recognise it; the key itself is only hashed. */
  prefix!: string;
  key_hash!: string;
  created_at!: Date;
  revoked_at!: Date | null;
  last_used_at!: Date | null;
}
