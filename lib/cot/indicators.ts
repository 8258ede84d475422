/**
 * COT indicators per market and trader group, computed in PostgreSQL with window functions over
 * each market's reports (one row per report, so holiday weeks and gaps count as one report each):
 *
 * - net = long − short; net change = Δlong − Δshort from CFTC's change columns (NULL where CFTC had none);
 * - % net of OI = 100 × net / open interest;
 * - COT Index over N reports = 100 × (net − min) / (max − min) of the last N nets, 50 when max = min,
 *   NULL until the market has N reports;
 * - WCI = the same index over 26 reports of % net of OI (Williams' commercial index);
 * - crowded signal from the 52-report index and the group's role.
 */
import { reports, type GroupRole, type ReportType } from './reports.js';

export const INDEX_WINDOWS = [13, 52, 156] as const;
export const WCI_WINDOW = 26;
/** An index at or above `high` (or at or below `low`) marks a crowded position. */
export const CROWDED = { high: 80, low: 20 } as const;
export type Signal = 'BUY' | 'SELL';

const index = (value: string, window: string, size: number) =>
  `CASE WHEN count(${value}) OVER ${window} < ${size} THEN NULL
        WHEN max(${value}) OVER ${window} = min(${value}) OVER ${window} THEN 50.0
        ELSE 100.0 * (${value} - min(${value}) OVER ${window}) / (max(${value}) OVER ${window} - min(${value}) OVER ${window}) END::double precision`;

/** Commercials are followed (buy when they are most long); speculators and small traders are faded. */
const signalSql = (role: GroupRole) => {
  const [high, low] = role === 'commercial' ? ['BUY', 'SELL'] : ['SELL', 'BUY'];
  return `CASE WHEN index_52 >= ${CROWDED.high} THEN '${high}' WHEN index_52 <= ${CROWDED.low} THEN '${low}' END`;
};

/**
 * Replaces the indicators of one report type and subtype (`?` = subtype) from its reports. The
 * caller runs it in the transaction that deletes the old ones.
 */
export function indicatorsSql(type: ReportType): string {
  const groups = reports[type].groups;
  const values = groups.map((g) => `('${g.id}', ${g.key}_long - ${g.key}_short, ${g.key}_long_chg - ${g.key}_short_chg)`).join(',\n        ');
  const windows = [...INDEX_WINDOWS, WCI_WINDOW].map((n) => `w${n} AS (PARTITION BY code, grp ORDER BY report_date ROWS ${n - 1} PRECEDING)`).join(', ');
  return `
    WITH series AS (
      SELECT r.code, r.report_date, g.grp, g.net, g.net_change,
             CASE WHEN r.open_interest > 0 THEN 100.0 * g.net / r.open_interest END AS pct_oi
      FROM cot_reports r
      CROSS JOIN LATERAL (VALUES
        ${values}
      ) AS g(grp, net, net_change)
      WHERE r.report_type = '${type}' AND r.subtype = ? AND g.net IS NOT NULL
    ), indexed AS (
      SELECT code, report_date, grp, net, net_change, pct_oi::double precision AS pct_oi,
             ${INDEX_WINDOWS.map((n) => `${index('net', `w${n}`, n)} AS index_${n}`).join(',\n             ')},
             ${index('pct_oi', `w${WCI_WINDOW}`, WCI_WINDOW)} AS wci_${WCI_WINDOW}
      FROM series
      WINDOW ${windows}
    )
    INSERT INTO cot_indicators (report_type, subtype, code, grp, report_date, net, net_change, pct_oi, index_13, index_52, index_156, wci_26, signal)
    SELECT '${type}', ?, code, grp, report_date, net, net_change, pct_oi, index_13, index_52, index_156, wci_26,
           CASE grp ${groups.map((g) => `WHEN '${g.id}' THEN ${signalSql(g.role)}`).join(' ')} END
    FROM indexed`;
}
