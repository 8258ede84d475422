/** PostgreSQL's SQLSTATE of a failed query, whether knex raised it or objection wrapped it. */
export const pgErrorCode = (error: unknown): string | undefined => {
  const e = error as { code?: string; nativeError?: { code?: string } } | undefined;
  return e?.nativeError?.code ?? e?.code;
};

/** PostgreSQL's DETAIL line ("Key (id)=(…) is still referenced from table …"), or ''. */
export const pgErrorDetail = (error: unknown): string => {
  const e = error as { detail?: string; nativeError?: { detail?: string } } | undefined;
  return e?.nativeError?.detail ?? e?.detail ?? '';
};
