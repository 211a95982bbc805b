// Group commit: the send transactions that arrive together share one database transaction and one
// durable commit (one fsync) instead of one each, on SQLite, where writers take turns anyway and a
// synchronous commit holds the event loop for the length of an fsync. Each unit of work still runs
// in a savepoint of its own, so it is stored entirely or not at all and a failing one (a duplicate
// key, a refused row) rolls back alone; nobody is answered before the commit that holds their rows
// has returned, and a failed commit fails every unit in it (each retryable, nothing kept).
// A unit writes through Statements (statements.ts): on SQLite each statement runs at once on the
// transaction's connection, and once the unit has ended its handle refuses anything more, so a
// statement it started and forgot cannot run after its savepoint and commit with the group.
// PostgreSQL commits concurrent transactions in parallel (and groups their WAL flushes itself):
// there each unit is simply its own transaction.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Database } from './database.js';
import { isPostgres } from './dialect.js';
import { runOnConnection } from './sqliteClient.js';
import { statementsOf, type Statements } from './statements.js';

export interface Transactions {
  /** Runs `work` in a transaction (or a savepoint of a shared one) that has durably committed when the promise settles. */
  run<T>(work: (tx: Statements) => Promise<T>): Promise<T>;
  /** Units of work run and durable commits made so far (units ÷ commits: how much grouping saves). */
  readonly stats: CommitStats;
}

export interface CommitStats {
  units: number;
  commits: number;
}

/** Units of work per shared transaction: bounds the commit's size and the wait of the last unit in it. */
const MAX_GROUP = 64;

interface Unit {
  work: (tx: Statements) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export function transactionsFor(db: Database): Transactions {
  return isPostgres(db) ? new OwnCommits(db) : new GroupCommit(db);
}

/** An error of SQLite itself rather than a refused row (constraints) or the unit's own refusal. */
function isStorageFailure(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') && !code.startsWith('SQLITE_CONSTRAINT');
}

class OwnCommits implements Transactions {
  readonly stats: CommitStats = { units: 0, commits: 0 };
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async run<T>(work: (tx: Statements) => Promise<T>): Promise<T> {
    const value = await this.#db.transaction((trx) => work(statementsOf(trx)));
    this.stats.units++;
    this.stats.commits++;
    return value;
  }
}

class GroupCommit implements Transactions {
  readonly stats: CommitStats = { units: 0, commits: 0 };
  readonly #db: Database;
  #waiting: Unit[] = [];
  #committing = false;

  constructor(db: Database) {
    this.#db = db;
  }

  run<T>(work: (tx: Statements) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#committing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#committing = true;
    try {
      // Let the requests whose input is already here reach this point too: they join this commit.
      await nextTurn();
      while (this.#waiting.length > 0) {
        const group = this.#waiting.splice(0, MAX_GROUP);
        await this.#commit(group);
      }
    } finally {
      this.#committing = false;
    }
  }

  async #commit(group: Unit[]): Promise<void> {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }> = [];
    try {
      await this.#db.transaction(async (trx) => {
        const connection: object = await trx.client.acquireConnection();
        const exec: Execute = (sql, bindings = []) => runOnConnection(trx.client, connection, sql, bindings);
        for (const unit of group) {
          exec('SAVEPOINT unit');
          const statements = new UnitStatements(exec);
          // A unit that throws before its first await fails alone too, like one whose promise rejects.
          const outcome = await new Promise((settle) => settle(unit.work(statements))).then((value) => ({ ok: true as const, value }), (err: unknown) => ({ ok: false as const, err }));
          statements.end();
          // The database itself failed (a full disk, an I/O error): SQLite may already have rolled
          // the whole transaction back, and a later SAVEPOINT would open one of its own. Stop here.
          if (!outcome.ok && isStorageFailure(outcome.err)) throw outcome.err;
          if (!outcome.ok) exec('ROLLBACK TO SAVEPOINT unit');
          exec('RELEASE SAVEPOINT unit');
          outcomes.push(outcome);
        }
      });
    } catch (err) {
      // The shared commit failed, or the database did: nothing of any unit was kept.
      for (const unit of group) unit.reject(err);
      return;
    }
    this.#count(outcomes.filter((o) => o.ok).length);
    group.forEach((unit, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) unit.resolve(outcome.value);
      else unit.reject(outcome.err);
    });
  }

  #count(units: number): void {
    this.stats.units += units;
    this.stats.commits++;
  }
}

type Execute = (sql: string, bindings?: readonly unknown[]) => ReturnType<typeof runOnConnection>;

/** One unit's statements, run at once on the shared transaction's connection until the unit has ended. */
class UnitStatements implements Statements {
  #ended = false;
  readonly #exec: Execute;

  constructor(exec: Execute) {
    this.#exec = exec;
  }

  end(): void {
    this.#ended = true;
  }

  async rows<T>(sql: string, bindings: readonly unknown[] = []): Promise<T[]> {
    return (this.#run(sql, bindings).rows ?? []) as T[];
  }

  async run(sql: string, bindings: readonly unknown[] = []): Promise<number> {
    return this.#run(sql, bindings).changes;
  }

  #run(sql: string, bindings: readonly unknown[]) {
    // Its savepoint is released or rolled back: this statement would belong to the next unit, or to the group.
    if (this.#ended) throw new Error(`A statement after its unit of work ended is refused: ${sql.slice(0, 60)}`);
    return this.#exec(sql, bindings);
  }
}
