/**
 * The three CFTC Commitments of Traders reports as data: where CFTC publishes each file, which
 * columns we read, and how each report's trader categories map onto our groups g1..g5 with a role
 * (the crowded-signal rules depend on it). Column names are normalised (see `normaliseHeader`);
 * `at` is the column's position in CFTC's own layout, used for the headerless current-week files.
 */
export const reportTypes = ['legacy', 'disagg', 'tff'] as const;
export const subtypes = ['fo', 'co'] as const;
export type ReportType = (typeof reportTypes)[number];
export type Subtype = (typeof subtypes)[number];

/** Commercials hedge; speculators follow trends; small traders are the non-reportable rest. */
export type GroupRole = 'commercial' | 'speculative' | 'small';

export interface Column {
  name: string;
  at: number;
}
export interface GroupDefinition {
  /** g1..g5: the column prefix in `cot_reports`. */
  key: string;
  id: string;
  label: string;
  role: GroupRole;
  long: Column;
  short: Column;
  spread: Column | null;
  longChange: Column;
  shortChange: Column;
  spreadChange: Column | null;
}
export interface ReportDefinition {
  label: string;
  /** Columns in CFTC's text layout (headerless weekly files must have exactly this many). */
  width: number;
  yearlyZip: Record<Subtype, (year: number) => string>;
  weeklyFile: Record<Subtype, string>;
  market: Column;
  reportDate: Column;
  code: Column;
  openInterest: Column;
  openInterestChange: Column;
  groups: GroupDefinition[];
}

const col = (name: string, at: number): Column => ({ name, at });

/** `" Total Reportable Positions-Long (All)"` and `Swap__Positions_Short_All` alike become snake_case. */
export const normaliseHeader = (header: string) =>
  header
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');

interface GroupColumns {
  long: number;
  short: number;
  spread?: number;
  longChange: number;
  shortChange: number;
  spreadChange?: number;
}

/** Disaggregated and TFF name their columns `<Category>_Positions_Long_All` and `Change_in_<Category>_Long_All`. */
function newStyleGroup(
  key: string,
  id: string,
  label: string,
  role: GroupRole,
  category: string,
  at: GroupColumns,
): GroupDefinition {
  return {
    key,
    id,
    label,
    role,
    long: col(`${category}_positions_long_all`, at.long),
    short: col(`${category}_positions_short_all`, at.short),
    spread: at.spread === undefined ? null : col(`${category}_positions_spread_all`, at.spread),
    longChange: col(`change_in_${category}_long_all`, at.longChange),
    shortChange: col(`change_in_${category}_short_all`, at.shortChange),
    spreadChange: at.spreadChange === undefined ? null : col(`change_in_${category}_spread_all`, at.spreadChange),
  };
}

const history = (name: (year: number) => string) => (year: number) => `/files/dea/history/${name(year)}`;

export const reports: Record<ReportType, ReportDefinition> = {
  legacy: {
    label: 'Legacy',
    width: 129,
    yearlyZip: { fo: history((y) => `deacot${y}.zip`), co: history((y) => `deahistfo${y}.zip`) },
    weeklyFile: { fo: '/dea/newcot/deafut.txt', co: '/dea/newcot/deacom.txt' },
    market: col('market_and_exchange_names', 0),
    reportDate: col('as_of_date_in_form_yyyy_mm_dd', 2),
    code: col('cftc_contract_market_code', 3),
    openInterest: col('open_interest_all', 7),
    openInterestChange: col('change_in_open_interest_all', 37),
    groups: [
      {
        key: 'g1',
        id: 'noncommercial',
        label: 'Non-commercial',
        role: 'speculative',
        long: col('noncommercial_positions_long_all', 8),
        short: col('noncommercial_positions_short_all', 9),
        spread: col('noncommercial_positions_spreading_all', 10),
        longChange: col('change_in_noncommercial_long_all', 38),
        shortChange: col('change_in_noncommercial_short_all', 39),
        spreadChange: col('change_in_noncommercial_spreading_all', 40),
      },
      {
        key: 'g2',
        id: 'commercial',
        label: 'Commercial',
        role: 'commercial',
        long: col('commercial_positions_long_all', 11),
        short: col('commercial_positions_short_all', 12),
        spread: null,
        longChange: col('change_in_commercial_long_all', 41),
        shortChange: col('change_in_commercial_short_all', 42),
        spreadChange: null,
      },
      {
        key: 'g3',
        id: 'nonreportable',
        label: 'Non-reportable',
        role: 'small',
        long: col('nonreportable_positions_long_all', 15),
        short: col('nonreportable_positions_short_all', 16),
        spread: null,
        longChange: col('change_in_nonreportable_long_all', 45),
        shortChange: col('change_in_nonreportable_short_all', 46),
        spreadChange: null,
      },
    ],
  },
  disagg: {
    label: 'Disaggregated',
    width: 191,
    yearlyZip: { fo: history((y) => `fut_disagg_txt_${y}.zip`), co: history((y) => `com_disagg_txt_${y}.zip`) },
    weeklyFile: { fo: '/dea/newcot/f_disagg.txt', co: '/dea/newcot/c_disagg.txt' },
    market: col('market_and_exchange_names', 0),
    reportDate: col('report_date_as_yyyy_mm_dd', 2),
    code: col('cftc_contract_market_code', 3),
    openInterest: col('open_interest_all', 7),
    openInterestChange: col('change_in_open_interest_all', 55),
    groups: [
      newStyleGroup('g1', 'producer_merchant', 'Producer / merchant / processor / user', 'commercial', 'prod_merc', {
        long: 8,
        short: 9,
        longChange: 56,
        shortChange: 57,
      }),
      newStyleGroup('g2', 'swap_dealers', 'Swap dealers', 'commercial', 'swap', {
        long: 10,
        short: 11,
        spread: 12,
        longChange: 58,
        shortChange: 59,
        spreadChange: 60,
      }),
      newStyleGroup('g3', 'managed_money', 'Managed money', 'speculative', 'm_money', {
        long: 13,
        short: 14,
        spread: 15,
        longChange: 61,
        shortChange: 62,
        spreadChange: 63,
      }),
      newStyleGroup('g4', 'other_reportables', 'Other reportables', 'speculative', 'other_rept', {
        long: 16,
        short: 17,
        spread: 18,
        longChange: 64,
        shortChange: 65,
        spreadChange: 66,
      }),
      newStyleGroup('g5', 'nonreportable', 'Non-reportable', 'small', 'nonrept', {
        long: 21,
        short: 22,
        longChange: 69,
        shortChange: 70,
      }),
    ],
  },
  tff: {
    label: 'Traders in Financial Futures',
    width: 87,
    yearlyZip: { fo: history((y) => `fut_fin_txt_${y}.zip`), co: history((y) => `com_fin_txt_${y}.zip`) },
    weeklyFile: { fo: '/dea/newcot/FinFutWk.txt', co: '/dea/newcot/FinComWk.txt' },
    market: col('market_and_exchange_names', 0),
    reportDate: col('report_date_as_yyyy_mm_dd', 2),
    code: col('cftc_contract_market_code', 3),
    openInterest: col('open_interest_all', 7),
    openInterestChange: col('change_in_open_interest_all', 24),
    groups: [
      newStyleGroup('g1', 'dealer', 'Dealer / intermediary', 'commercial', 'dealer', {
        long: 8,
        short: 9,
        spread: 10,
        longChange: 25,
        shortChange: 26,
        spreadChange: 27,
      }),
      newStyleGroup('g2', 'asset_manager', 'Asset manager / institutional', 'speculative', 'asset_mgr', {
        long: 11,
        short: 12,
        spread: 13,
        longChange: 28,
        shortChange: 29,
        spreadChange: 30,
      }),
      newStyleGroup('g3', 'leveraged_funds', 'Leveraged funds', 'speculative', 'lev_money', {
        long: 14,
        short: 15,
        spread: 16,
        longChange: 31,
        shortChange: 32,
        spreadChange: 33,
      }),
      newStyleGroup('g4', 'other_reportables', 'Other reportables', 'speculative', 'other_rept', {
        long: 17,
        short: 18,
        spread: 19,
        longChange: 34,
        shortChange: 35,
        spreadChange: 36,
      }),
      newStyleGroup('g5', 'nonreportable', 'Non-reportable', 'small', 'nonrept', {
        long: 22,
        short: 23,
        longChange: 39,
        shortChange: 40,
      }),
    ],
  },
};

/** The per-group numbers each normalised row carries, in `cot_reports` column order. */
export const groupFields = ['long', 'short', 'spread', 'long_chg', 'short_chg', 'spread_chg'] as const;
export const GROUP_KEYS = ['g1', 'g2', 'g3', 'g4', 'g5'] as const;
/** The normalised columns of a report row in `cot_reports` (after its report type and subtype). */
export const reportColumns = [
  'code',
  'report_date',
  'market_name',
  'open_interest',
  'oi_change',
  ...GROUP_KEYS.flatMap((g) => groupFields.map((f) => `${g}_${f}`)),
];

/** How logs, events and the console name one file of a run: `tff/fo/2024`, `tff/fo/week`. */
export const unitLabel = (u: { reportType: ReportType; subtype: Subtype; year: number | null }) =>
  `${u.reportType}/${u.subtype}/${u.year ?? 'week'}`;
