// Statements as plain SQL, for the send transaction: it runs for every registered mail, and knex
// compiled its query builders anew each time (and made a knex instance for every unit's savepoint):
// knex was 9 % of the service's CPU per send, 3 % since. The SQL is written once (`insertInto`
// caches it per table, columns and row count), `?` placeholders on both backends, identifiers
// unquoted (our names are lower-case and none is a reserved word).
import type { Knex } from 'knex';
import { isPostgres } from './dialect.js';

/** A transaction's statements: what the send transaction (and the helpers it calls) writes with. */
export interface Statements {
  /** The rows of a statement that returns rows (a SELECT, an INSERT … RETURNING). */
  rows<T = Record<string, unknown>>(sql: string, bindings?: readonly unknown[]): Promise<T[]>;
  /** Runs a statement that returns no rows; resolves to the number of rows it changed. */
  run(sql: string, bindings?: readonly unknown[]): Promise<number>;
}

/** One statement, with its bindings in the order of its placeholders. */
export interface Statement {
  sql: string;
  bindings: unknown[];
}

/** The statements of a knex transaction (or of the database, each statement its own transaction). */
export function statementsOf(db: Knex): Statements {
  const postgres = isPostgres(db);
  return {
    async rows<T>(sql: string, bindings: readonly unknown[] = []): Promise<T[]> {
      const result = await db.raw(sql, bindings as readonly Knex.RawBinding[]);
      return (postgres ? result.rows : result) as T[];
    },
    async run(sql: string, bindings: readonly unknown[] = []): Promise<number> {
      const result = await db.raw(sql, bindings as readonly Knex.RawBinding[]);
      return Number((postgres ? result.rowCount : result?.changes) ?? 0);
    },
  };
}

export interface InsertOptions {
  /** ON CONFLICT (these columns) DO NOTHING: a row that exists already is left as it is. */
  ignoreConflictOn?: readonly string[];
  /** Columns of the inserted rows to return (both backends know RETURNING). */
  returning?: readonly string[];
}

/** Inserts `rows` into `table` (see insertInto); resolves to the number of rows inserted. */
export function insertRows(tx: Statements, table: string, rows: ReadonlyArray<Record<string, unknown>>, options: Omit<InsertOptions, 'returning'> = {}): Promise<number> {
  const { sql, bindings } = insertInto(table, rows, options);
  return tx.run(sql, bindings);
}

const insertSql = new Map<string, string>();
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * INSERT of `rows` into `table`: the columns are the first row's keys, in their order, and every row
 * must have the same ones (a missing column would silently take its default). Values are bound.
 */
export function insertInto(table: string, rows: ReadonlyArray<Record<string, unknown>>, options: InsertOptions = {}): Statement {
  const first = rows[0];
  if (!first) throw new Error(`insertInto ${table}: no rows`);
  const columns = Object.keys(first);
  const bindings: unknown[] = [];
  for (const row of rows) {
    const keys = Object.keys(row);
    if (keys.length !== columns.length || keys.some((key, i) => key !== columns[i])) {
      throw new Error(`insertInto ${table}: every row must have the columns ${columns.join(', ')} in that order`);
    }
    for (const column of columns) {
      const value = row[column];
      if (value === undefined) throw new Error(`insertInto ${table}: ${column} is undefined (null is written as null)`);
      bindings.push(value);
    }
  }
  const key = `${table}|${columns.join(',')}|${rows.length}|${options.ignoreConflictOn?.join(',') ?? ''}|${options.returning?.join(',') ?? ''}`;
  let sql = insertSql.get(key);
  if (!sql) {
    // Names are written into the SQL, never values: only our own lower-case identifiers belong there.
    const named = [table, ...columns, ...(options.ignoreConflictOn ?? []), ...(options.returning ?? [])];
    const odd = named.find((name) => !IDENTIFIER.test(name));
    if (odd !== undefined) throw new Error(`insertInto ${table}: "${odd}" is not a plain lower-case identifier`);
    const values = `(${columns.map(() => '?').join(', ')})`;
    sql =
      `insert into ${table} (${columns.join(', ')}) values ${Array.from({ length: rows.length }, () => values).join(', ')}` +
      (options.ignoreConflictOn ? ` on conflict (${options.ignoreConflictOn.join(', ')}) do nothing` : '') +
      (options.returning ? ` returning ${options.returning.join(', ')}` : '');
    // The shapes are a handful (tables × columns × row counts up to a statement's bound).
    if (insertSql.size < 1000) insertSql.set(key, sql);
  }
  return { sql, bindings };
}
