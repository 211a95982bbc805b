// Group commit: the send transactions that arrive together share one database transaction and one
// durable commit (one fsync) instead of one each, on SQLite, where writers take turns anyway and a
// synchronous commit holds the event loop for the length of an fsync. Each unit of work still runs
// in a savepoint of its own, so it is stored entirely or not at all and a failing one (a duplicate
// key, a refused row) rolls back alone; nobody is answered before the commit that holds their rows
// has returned, and a failed commit fails every unit in it (each retryable, nothing kept).
// PostgreSQL commits concurrent transactions in parallel (and groups their WAL flushes itself):
// there each unit is simply its own transaction.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Database } from './database.js';
import { isPostgres } from './dialect.js';

export interface Transactions {
  /** Runs `work` in a transaction (or a savepoint of a shared one) that has durably committed when the promise settles. */
  run<T>(work: (trx: Database) => Promise<T>): Promise<T>;
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
  work: (trx: Database) => Promise<unknown>;
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

  async run<T>(work: (trx: Database) => Promise<T>): Promise<T> {
    const value = await this.#db.transaction(work);
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

  run<T>(work: (trx: Database) => Promise<T>): Promise<T> {
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
    if (group.length === 1) {
      // Alone: no savepoint needed.
      const [unit] = group;
      await this.#db.transaction(unit!.work).then((value) => {
        this.#count(1);
        unit!.resolve(value);
      }, unit!.reject);
      return;
    }
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }> = [];
    try {
      await this.#db.transaction(async (trx) => {
        for (const unit of group) {
          // A nested knex transaction is a SAVEPOINT: released on success, rolled back to on failure.
          // Once ended it refuses its unit's queries that arrive late, which a plain SAVEPOINT would
          // let run outside it and commit with the group (measured cheaper by ~3 %, not worth that).
          const outcome = await trx.transaction(unit.work).then((value) => ({ ok: true as const, value }), (err: unknown) => ({ ok: false as const, err }));
          // The database itself failed (a full disk, an I/O error): SQLite may already have rolled
          // the whole transaction back, and a later SAVEPOINT would open one of its own. Stop here.
          if (!outcome.ok && isStorageFailure(outcome.err)) throw outcome.err;
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
