import { Model } from 'objection';

export type Role = 'admin' | 'operator';
export type Language = 'en' | 'pl';

export class User extends Model {
  static tableName = 'users';
  id!: string;
  email!: string;
  password_hash!: string;
  role!: Role;
  created_at!: Date;
  /** Null until a self-registered user entered the emailed code; seeded and admin-made accounts are verified. */
  email_verified_at!: Date | null;
  display_name!: string | null;
  /** The language of the emails the user gets (and the console's, where translated). */
  language!: Language;
  /** IANA zone the console shows the user's times in. */
  time_zone!: string;
  /** False: the account may not sign in nor refresh (set by admins). */
  active!: boolean;
}
