// The database: SQLite by default (one file, WAL, synchronous=FULL so a commit survives a power cut;
// the running service copies the WAL into the file on a thread of its own, checkpointer.ts),
// PostgreSQL when DATABASE_URL is set. The same knex migrations build both.
import fs from 'node:fs';
import path from 'node:path';
import knexModule, { type Knex } from 'knex';
import type { EpostConfig } from '../config/index.js';
import { PostgresClient } from './postgresClient.js';
import { SqliteClient } from './sqliteClient.js';
import { WRITER_AUTOCHECKPOINT_PAGES } from './checkpointer.js';
import * as m001 from '../../db/migrations/001_registered_mail.js';
import * as m002 from '../../db/migrations/002_audit_log.js';
import * as m003 from '../../db/migrations/003_ebox_readers.js';
import * as m004 from '../../db/migrations/004_submission_rejections.js';
import * as m005 from '../../db/migrations/005_access_management.js';
import * as m006 from '../../db/migrations/006_ebox_notices.js';
import * as m007 from '../../db/migrations/007_batch_channel.js';

export type Database = Knex;

const migrations: Record<string, { up(k: Knex): Promise<void>; down(k: Knex): Promise<void> }> = {
  '001_registered_mail': m001,
  '002_audit_log': m002,
  '003_ebox_readers': m003,
  '004_submission_rejections': m004,
  '005_access_management': m005,
  '006_ebox_notices': m006,
  '007_batch_channel': m007,
};

// Migrations are TypeScript modules imported here, so the migrator never loads files by itself.
const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};

export async function openDatabase(config: Pick<EpostConfig, 'dbFile' | 'databaseUrl'>): Promise<Database> {
  const db = config.databaseUrl ? openPostgres(config.databaseUrl) : openSqlite(config.dbFile);
  await db.migrate.latest({ migrationSource });
  return db;
}

function openSqlite(file: string): Database {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return knexModule({
    client: SqliteClient as unknown as typeof knexModule.Client,
    connection: { filename: file },
    useNullAsDefault: true,
    // One connection: SQLite serialises writers anyway, and one connection keeps a transaction's
    // statements and the pragmas on the same handle.
    pool: {
      min: 1,
      max: 1,
      afterCreate: (conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
        try {
          // temp_store = MEMORY: the journal of each savepoint of a group commit (the pages a unit
          // changes, so that it can roll back alone) stays in memory instead of spilling into a
          // temporary file past 64 KiB, which cost a file write per page.
          for (const pragma of ['journal_mode = WAL', 'synchronous = FULL', 'foreign_keys = ON', 'busy_timeout = 0', `wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`, 'temp_store = MEMORY']) conn.pragma(pragma);
          done(null, conn);
        } catch (err) {
          done(err as Error, conn);
        }
      },
    },
  });
}

function openPostgres(url: string): Database {
  return knexModule({
    client: PostgresClient as unknown as typeof knexModule.Client,
    connection: url,
    pool: {
      min: 1,
      max: 10,
      afterCreate: (conn: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) => {
        conn.query('SET synchronous_commit = on', (err) => done(err, conn));
      },
    },
  });
}
