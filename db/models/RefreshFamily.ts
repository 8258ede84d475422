import { Model } from 'objection';

/** A console session: one refresh-token family (every rotation stays in it), with the device it was opened on. */
export class RefreshFamily extends Model {
  static tableName = 'refresh_families';
  id!: string;
  user_id!: string;
  user_agent!: string | null;
  ip!: string | null;
  created_at!: Date;
  /** The last sign-in or refresh of the family. */
  last_used_at!: Date;
  /** Logout, revocation, reuse detection, a password change or reset. */
  revoked_at!: Date | null;
}
