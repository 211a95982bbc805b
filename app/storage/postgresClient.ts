// The knex client for PostgreSQL: every statement with parameters is a named prepared statement,
// parsed and planned once per connection instead of at every execution (knex sends each one
// unnamed, so the server parses and plans it again each time, on the same cores as the service).
// node-postgres prepares a name on a connection the first time it runs there, and forgets it again
// if that failed. A name always stands for the same SQL text: the texts are those knex compiles from
// this code, a finite set; past MAX_NAMED (lists of varying length make new texts) they run unnamed.
import { createRequire } from 'node:module';
import type { Knex } from 'knex';

const require = createRequire(import.meta.url);

interface Query {
  sql: string;
  bindings?: unknown[];
  options?: Record<string, unknown>;
}
// knex ships the dialect as CommonJS without type declarations.
const PgClient = require('knex/lib/dialects/postgres/index.js') as new (config: Knex.Config) => {
  _query(connection: unknown, query: Query): Promise<unknown>;
};

/** Statements kept prepared per connection at most (the send path uses a few dozen). */
const MAX_NAMED = 500;

/** SQL text → statement name, shared by every connection (each prepares a name on first use). */
const statementNames = new Map<string, string>();

function nameFor(sql: string): string | undefined {
  let name = statementNames.get(sql);
  if (name === undefined && statementNames.size < MAX_NAMED) {
    name = `epost_${statementNames.size + 1}`;
    statementNames.set(sql, name);
  }
  return name;
}

/**
 * A statement prepared before another instance changed the table's columns (a migration during a
 * rolling upgrade) fails on this connection from then on: PostgreSQL will not change a prepared
 * statement's result type.
 */
function isStalePreparedStatement(err: unknown): boolean {
  const { code, message } = err as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type');
}

export class PostgresClient extends PgClient {
  override _query(connection: { __knex__disposed?: unknown }, query: Query): Promise<unknown> {
    // Without parameters node-postgres uses the simple protocol (BEGIN, COMMIT, SAVEPOINT, DDL): left as is.
    if (query.sql && query.bindings && query.bindings.length > 0 && query.options?.name === undefined) {
      const name = nameFor(query.sql);
      if (name) query.options = { ...query.options, name };
    }
    return super._query(connection, query).catch((err: unknown) => {
      // The pool then closes the connection instead of lending it again, and the next one prepares anew.
      // knex logs the reason given here (one line, not the statement).
      if (isStalePreparedStatement(err)) connection.__knex__disposed = 'a prepared statement went stale (the table changed): connection closed';
      throw err;
    });
  }
}
