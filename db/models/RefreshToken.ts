import { Model } from 'objection';

export class RefreshToken extends Model {
  static tableName = 'refresh_tokens';
  id!: string;
  user_id!: string;
  family_id!: string;
  token_hash!: string;
  expires_at!: Date;
  revoked_at!: Date | null;
  created_at!: Date;
}
