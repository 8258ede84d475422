import { Model } from 'objection';

/** A module granted to a console user (admins hold every module without rows here). */
export class UserPermission extends Model {
  static tableName = 'user_permissions';
  static idColumn = ['user_id', 'module'];
  user_id!: string;
  module!: string;
  /** The admin who granted it; null for the migration's backfill, or once that admin is deleted. */
  granted_by!: string | null;
  granted_at!: Date;
}
