// Telling a unique-key violation from other database errors, on both backends: several instances
// racing for the same row is expected, and the loser answers from the winner's row.
export function isUniqueViolation(err: unknown, table: string): boolean {
  const e = err as { code?: string; message?: string; table?: string };
  if (e?.code === '23505') return !e.table || e.table === table; // PostgreSQL
  return typeof e?.code === 'string' && e.code.startsWith('SQLITE_CONSTRAINT') && typeof e.message === 'string' && e.message.includes(`UNIQUE constraint failed: ${table}.`);
}
