// Which backend a knex instance talks to, asked in one place: by knex's dialect, which a custom
// client class (sqliteClient.ts, postgresClient.ts) inherits, never by the client's configured name.
import type { Knex } from 'knex';

export function isPostgres(db: Knex): boolean {
  return db.client.dialect === 'postgresql';
}
