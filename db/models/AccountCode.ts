import { Model } from 'objection';

export type CodePurpose = 'verify_email' | 'password_reset';

/** One emailed-code attempt (its id names its workflow); only a digest of the live code is kept. */
export class AccountCode extends Model {
  static tableName = 'account_codes';
  id!: string;
  user_id!: string;
  purpose!: CodePurpose;
  /** Null: no live code (expired, used up by wrong guesses, or consumed). */
  code_hash!: string | null;
  expires_at!: Date | null;
  failed_attempts!: number;
  sent_at!: Date | null;
  consumed_at!: Date | null;
  created_at!: Date;
}
