// The knex client for SQLite: better-sqlite3, whose statements run synchronously on the calling
// thread instead of one trip through the libuv thread pool each (the largest part of the database's
// CPU per send with node-sqlite3). One thing must not be synchronous: waiting for another
// connection's write lock. SQLite's busy handler would sleep on the event loop, stalling every
// request of the process (and, with two handles in one process, waiting for itself until the
// timeout). So the handler is off and a busy statement is retried here, asynchronously, with the
// same patience SQLite's handler had. For that wait to be possible at all, a transaction takes the
// write lock when it begins (BEGIN IMMEDIATE; knex says BEGIN): a deferred one that read first and
// writes after another connection committed fails with SQLITE_BUSY_SNAPSHOT, which no wait cures
// (its snapshot is stale), and every transaction of ours writes.
import { createRequire } from 'node:module';
import type { Knex } from 'knex';

const require = createRequire(import.meta.url);
// knex ships the dialect as CommonJS without type declarations.
const BetterSqlite3Client = require('knex/lib/dialects/better-sqlite3/index.js') as new (config: Knex.Config) => {
  _formatBindings(bindings: unknown[] | undefined): unknown[];
};

interface Statement {
  reader: boolean;
  all(bindings: unknown[]): unknown[];
  run(bindings: unknown[]): { lastInsertRowid: number | bigint; changes: number };
}
interface Connection {
  readonly inTransaction: boolean;
  prepare(sql: string): Statement;
}
interface Query {
  sql: string;
  bindings?: unknown[];
  response?: unknown;
  context?: { lastID: number | bigint; changes: number };
}

/** How long a statement waits for another connection's write lock before the error reaches the caller. */
export const BUSY_PATIENCE_MS = 5000;
/**
 * Waits between attempts, then the last one repeated. Kept short (SQLite's own handler grows to
 * 100 ms): another process that commits continuously leaves the lock free only for moments, and a
 * long sleep lets it win again and again while this one's requests queue for seconds.
 */
const BUSY_STEPS_MS = [1, 1, 2, 3, 5];
/** Prepared statements kept per connection: the send path uses a few dozen distinct statements. */
const STATEMENT_CACHE = 256;

// knex prepares every statement anew; compiling the SQL was a third of the database's CPU per send.
// Kept beside the client, not in it: knex derives each transaction's client with Object.create.
const preparedStatements = new WeakMap<Connection, Map<string, Statement>>();

export class SqliteClient extends BetterSqlite3Client {
  async _query(connection: Connection, query: Query): Promise<Query> {
    if (!query.sql) throw new Error('The query is empty');
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return execute(this, connection, query);
      } catch (err) {
        // Plain SQLITE_BUSY only: another connection holds the lock and will release it. The
        // extended codes (BUSY_SNAPSHOT, BUSY_RECOVERY…) are not cured by waiting in this transaction.
        if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() - started >= BUSY_PATIENCE_MS) {
          // A COMMIT that SQLite refuses (a deferred constraint, a full disk) may leave the
          // transaction open; knex would hand the connection on with it, and later statements would
          // join it (and a later COMMIT keep what the failed one should have dropped).
          if (/^COMMIT/i.test(query.sql) && connection.inTransaction) connection.prepare('ROLLBACK').run([]);
          throw err;
        }
        await new Promise((resolve) => setTimeout(resolve, BUSY_STEPS_MS[Math.min(attempt, BUSY_STEPS_MS.length - 1)]));
      }
    }
  }
}

/** Runs one statement synchronously, answering as knex's better-sqlite3 dialect does. */
function execute(client: SqliteClient, connection: Connection, query: Query): Query {
  // SQLite rolls a whole transaction back by itself after some errors (a full disk, an I/O error):
  // the ROLLBACK (TO SAVEPOINT) knex then sends has nothing left to undo. Answering it as done lets
  // the original error reach the caller instead of "no transaction is active".
  if (!connection.inTransaction && /^ROLLBACK/i.test(query.sql)) return query;
  const { sql, bindings } = literalLimit(/^BEGIN;?$/i.test(query.sql) ? 'BEGIN IMMEDIATE' : query.sql, client._formatBindings(query.bindings));
  const statement = prepared(connection, sql);
  if (statement.reader) {
    query.response = statement.all(bindings);
    return query;
  }
  const result = statement.run(bindings);
  query.response = result;
  query.context = { lastID: result.lastInsertRowid, changes: result.changes };
  return query;
}

/**
 * Runs one statement at once on `connection` (a transaction's, from `client`), cached and with its
 * bindings formatted as every other statement of the client: the rows of a reader, else the number
 * of rows changed. For units of a group commit, which already hold the write lock (no waiting).
 */
export function runOnConnection(client: object, connection: object, sql: string, bindings: readonly unknown[]): { rows?: unknown[]; changes: number } {
  const query: Query = { sql, bindings: [...bindings] };
  execute(client as SqliteClient, connection as Connection, query);
  return query.context ? { changes: query.context.changes } : { rows: query.response as unknown[], changes: 0 };
}

/**
 * knex binds a LIMIT (`.first()` is `limit ?`), and SQLite prepares a statement whose LIMIT is a
 * bound parameter again at each new binding (its planner uses the value): every `.first()` was
 * compiled anew at every execution. An integer limit is written into the SQL instead, so the
 * statement is prepared once and cached. Only a trailing `limit ?` is rewritten, and only when the
 * placeholders and the bindings are as many (so the last binding is the limit's); with an OFFSET,
 * whose values vary page by page, the statement stays as knex wrote it.
 */
export function literalLimit(sql: string, bindings: unknown[]): { sql: string; bindings: unknown[] } {
  const limit = / limit \?$/i.exec(sql);
  const value = bindings[bindings.length - 1];
  if (!limit || !Number.isSafeInteger(value) || (sql.match(/\?/g)?.length ?? 0) !== bindings.length) return { sql, bindings };
  return { sql: `${sql.slice(0, limit.index)} limit ${value as number}`, bindings: bindings.slice(0, -1) };
}

/** knex names every nested transaction's savepoint anew (trx1, trx2…): such statements run once and would push the reused ones out of the cache. */
const ONE_OFF = /^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT) trx\d+\b/i;

function prepared(connection: Connection, sql: string): Statement {
  if (ONE_OFF.test(sql)) return connection.prepare(sql);
  let cache = preparedStatements.get(connection);
  if (!cache) preparedStatements.set(connection, (cache = new Map()));
  let statement = cache.get(sql);
  if (statement) {
    // Least recently used first in the map's order: the one to drop when it is full.
    cache.delete(sql);
  } else {
    statement = connection.prepare(sql);
    if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value!);
  }
  cache.set(sql, statement);
  return statement;
}

/** The SQL of the statements kept prepared on `connection`, least recently used first (for tests). */
export function cachedStatements(connection: object): string[] {
  return [...(preparedStatements.get(connection as Connection)?.keys() ?? [])];
}
