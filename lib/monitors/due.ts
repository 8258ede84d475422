/**
 * When a price monitor is due. Each monitor keeps a grid of due times `interval` apart (stored as
 * `monitors.next_check_at`); its phase is chosen at random when the grid starts, so monitors created together
 * (an import, a benchmark) do not all reach their shops in the same second, and the grid then stays put: a check
 * that ran late does not push the next one later.
 */

/**
 * The first due time of a grid started at `now` (a new monitor, a resumed one, a new interval): in the second half
 * of the first interval, `intervalS` × (1 − `random`/2) seconds after `now`. Soon enough that the first check comes
 * within one interval, late enough that a burst of new monitors spreads over half an interval.
 * `random` is a number in [0, 1) (Math.random by default).
 */
export function firstDue(now: Date, intervalS: number, random = Math.random()): Date {
  return new Date(now.getTime() + Math.round(intervalS * 1000 * (1 - random / 2)));
}

/**
 * The due time after the check of slot `due`, recorded at `now`: the next grid point after `due` that is still to
 * come. Normally `due` + one interval; a check that ran more than an interval late (every worker was down) skips the
 * slots it overran rather than running them back to back — the check just made stands for them.
 */
export function nextDue(due: Date, intervalS: number, now: Date): Date {
  const step = intervalS * 1000;
  const overrun = Math.max(0, Math.floor((now.getTime() - due.getTime()) / step));
  return new Date(due.getTime() + (overrun + 1) * step);
}
