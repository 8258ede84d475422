import { Model } from 'objection';

export type Role = 'admin' | 'operator';

export class User extends Model {
  static tableName = 'users';
  id!: string;
  email!: string;
  password_hash!: string;
  role!: Role;
  created_at!: Date;
}
