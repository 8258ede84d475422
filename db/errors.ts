/** PostgreSQL's SQLSTATE of a failed query, whether knex raised it or objection wrapped it. */
export const pgErrorCode = (error: unknown): string | undefined => {
  const e = error as { code?: string; nativeError?: { code?: string } } | undefined;
  return e?.nativeError?.code ?? e?.code;
};
