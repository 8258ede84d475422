import { Model } from 'objection';
import type { Company } from '../../lib/companies/registryAnswer.js';
import type { CompanyChange as Change } from '../../lib/companies/changes.js';

/** A NIP someone watches: re-checked about every COMPANY_WATCH_INTERVAL_S; changes are recorded and announced. */
export class CompanyWatch extends Model {
  static tableName = 'company_watches';
  static jsonAttributes = ['snapshot'];
  id!: string;
  nip!: string;
  merchant_id!: string | null;
  user_id!: string | null;
  /** When the company was first seen for this watch (null: not yet; the first check sets it, announcing nothing). */
  baseline_at!: Date | null;
  /** The company as last seen; null with a baseline: not on the list. */
  snapshot!: Company | null;
  next_check_at!: Date;
  last_checked_at!: Date | null;
  last_check_key!: string | null;
  last_error!: string | null;
  last_error_at!: Date | null;
  deleted_at!: Date | null;
  created_at!: Date;
  updated_at!: Date;
}

/** One change of a watched company, as one check found it. */
export class CompanyChangeRecord extends Model {
  static tableName = 'company_changes';
  static jsonAttributes = ['changes', 'company'];
  id!: number;
  watch_id!: string;
  nip!: string;
  check_key!: string;
  changes!: Change[];
  company!: Company | null;
  event_id!: string | null;
  delivery_id!: string | null;
  detected_at!: Date;
}

/** A white-list account check and the registry's proof of it. */
export class CompanyAccountCheck extends Model {
  static tableName = 'company_account_checks';
  id!: string;
  nip!: string;
  account!: string;
  date!: string;
  assigned!: boolean;
  request_id!: string;
  requested_at!: Date;
  merchant_id!: string | null;
  user_id!: string | null;
  created_at!: Date;
}
