import { Model } from 'objection';

export const appointmentStatuses = [
  'held',
  'confirmed',
  'in_progress',
  'completed',
  'no_show',
  'expired',
  'canceled',
] as const;
export type AppointmentStatus = (typeof appointmentStatuses)[number];

export class Appointment extends Model {
  static tableName = 'appointments';
  id!: string;
  workshop_id!: string;
  mechanic_id!: string;
  service_id!: string;
  starts_at!: Date;
  ends_at!: Date;
  block_start!: Date;
  block_end!: Date;
  status!: AppointmentStatus;
  customer_name!: string;
  customer_email!: string;
  customer_phone!: string | null;
  vehicle!: Record<string, unknown>;
  diagnosis_session_id!: string | null;
  /** The customer's credential for confirm/reschedule/cancel, hashed. */
  access_token_hash!: string;
  hold_expires_at!: Date | null;
  /** Who asked for the hold (`ip:<address>`, `user:<id>`, `key:<api key id>`), for the per-client hold limit. */
  client_key!: string | null;
  cancel_reason!: string | null;
  created_at!: Date;
  updated_at!: Date;
}

export class AppointmentEvent extends Model {
  static tableName = 'appointment_events';
  id!: number;
  appointment_id!: string;
  type!: string;
  data!: Record<string, unknown>;
  created_at!: Date;
}
