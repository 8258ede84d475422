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

export class Service extends Model {
  static tableName = 'services';
  id!: string;
  workshop_id!: string;
  name!: string;
  duration_min!: number;
  buffer_before_min!: number;
  buffer_after_min!: number;
  price_min!: number | null;
  price_max!: number | null;
  currency!: string | null;
}

export class DateOverrideRow extends Model {
  static tableName = 'date_overrides';
  id!: string;
  workshop_id!: string;
  mechanic_id!: string | null;
  date!: string;
  closed!: boolean;
  opens!: string | null;
  closes!: string | null;
  break_start!: string | null;
  break_end!: string | null;
}
