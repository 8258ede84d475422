import { Model } from 'objection';

export class RefreshToken extends Model {
  static tableName = 'refresh_tokens';
  id!: string;
  user_id!: string;
  family_id!: string;
  token_hash!: string;
  expires_at!: Date;
  /** When it was rotated; a twin presenting it within the grace window is still answered (db/auth). */
  used_at!: Date | null;
  /** Logout or reuse detection ended its family; never answered again. */
  revoked_at!: Date | null;
  created_at!: Date;
}
