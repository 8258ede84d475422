import { Model } from 'objection';

export class Workshop extends Model {
  static tableName = 'workshops';
  id!: string;
  name!: string;
  address!: string;
  /** IANA zone; working hours are local to it. */
  time_zone!: string;
  phone!: string | null;
  email!: string | null;
  created_at!: Date;
}

export class Mechanic extends Model {
  static tableName = 'mechanics';
  id!: string;
  workshop_id!: string;
  name!: string;
  active!: boolean;
  created_at!: Date;
}

export class WorkingHours extends Model {
  static tableName = 'working_hours';
  id!: string;
  workshop_id!: string;
  mechanic_id!: string | null;
  weekday!: number;
  opens!: string;
  closes!: string;
  break_start!: string | null;
  break_end!: string | null;
}
