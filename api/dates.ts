/** Timestamps as the API writes them: ISO 8601 in UTC, or null. */
export const isoOrNull = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);
