/** What the COT pages share: the report choices, a report's groups and index windows, and the words for them. */
import { api } from '../../api';
import { countOf } from '../../format';
import type { components } from '../../../../openapi/schema';

export type ReportType = 'legacy' | 'disagg' | 'tff';
export type Subtype = 'fo' | 'co';
export type Group = components['schemas']['CotGroup'];
export type Role = Group['role'];
/** An index the API computes per group; each is null until the market has its window's number of reports. */
export type IndexMetric = 'index_13' | 'index_52' | 'index_156' | 'wci_26';

export const REPORT_TYPES: { value: ReportType; label: string }[] = [
  { value: 'legacy', label: 'Legacy' },
  { value: 'disagg', label: 'Disaggregated' },
  { value: 'tff', label: 'Traders in Financial Futures' },
];
export const SUBTYPES: { value: Subtype; label: string }[] = [
  { value: 'fo', label: 'Futures only' },
  { value: 'co', label: 'Futures and options' },
];
export const reportLabel = (type: string) => REPORT_TYPES.find((r) => r.value === type)?.label ?? type;
export const subtypeLabel = (subtype: string) => SUBTYPES.find((s) => s.value === subtype)?.label ?? subtype;

/** A group's role as an operator reads it (lib/cot/reports.ts assigns the roles). */
export const ROLE_WORDS: Record<Role, string> = {
  commercial: 'hedgers (commercial)',
  speculative: 'speculators',
  small: 'small traders',
};

/** `GET /api/v1/cot/groups/{type}`: the groups, the index windows and the crowded thresholds. */
export const fetchGroups = (type: ReportType) => api.GET('/api/v1/cot/groups/{type}', { params: { path: { type } } });
export type ReportGroups = NonNullable<Awaited<ReturnType<typeof fetchGroups>>['data']>;

/**
 * How many more reports an index over `window` reports needs when the market has `available` (0: it has enough).
 * The windows come from the API (lib/cot/indicators.ts: INDEX_WINDOWS, WCI_WINDOW).
 */
export const moreReportsNeeded = (window: number, available: number) => Math.max(0, window - available);

/** `needs 41 more reports`. */
export const needsText = (more: number) => `needs ${countOf(more, 'more report', 'more reports')}`;

/** `GET /api/v1/cot/status`: each report's freshness against DATA_STALE_DAYS, the last and the next run. */
export const fetchStatus = () => api.GET('/api/v1/cot/status');
export type CotStatus = NonNullable<Awaited<ReturnType<typeof fetchStatus>>['data']>;
