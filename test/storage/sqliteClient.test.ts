// The SQLite client's statement cache (app/storage/sqliteClient.ts), on a real SQLite file opened as
// the service opens it: a `.first()` is prepared once with its limit written in (SQLite would
// prepare a bound LIMIT again at every execution), knex's one-off savepoint statements do not push
// the reused statements out of the cache, and savepoint journals stay in memory.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, transactionsFor, type Database } from '../../app/storage/index.js';
import { cachedStatements, literalLimit } from '../../app/storage/sqliteClient.js';

describe('SQLite client', function () {
  describe('literalLimit', () => {
    it('writes an integer limit into the SQL and drops its binding', () => {
      expect(literalLimit('select "id" from "mails" where "ref" = ? limit ?', ['r-1', 1])).to.deep.equal({ sql: 'select "id" from "mails" where "ref" = ? limit 1', bindings: ['r-1'] });
    });

    it('leaves anything else as knex wrote it', () => {
      const unchanged = [
        ['select * from "mails" limit ? offset ?', [10, 20]],
        ['select * from "mails" where "ref" = ? limit ?', ['r-1', '1; drop table mails']],
        ['select * from "mails" where "ref" = ? limit ?', ['r-1', 1.5]],
        ['select * from "mails" where "note" = \'why?\' limit ?', [1]],
        ['select * from "mails" where "ref" = ?', ['r-1']],
      ] as const;
      for (const [sql, bindings] of unchanged) expect(literalLimit(sql, [...bindings])).to.deep.equal({ sql, bindings: [...bindings] });
    });
  });

  describe('on a database file', () => {
    let dir: string;
    let db: Database;

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-sqlite-client-'));
      db = await openDatabase({ dbFile: path.join(dir, 'epost.sqlite'), databaseUrl: undefined });
      await db.schema.createTable('units', (t) => {
        t.string('id').primary();
        t.string('note');
      });
      await db('units').insert(['a', 'b', 'c', 'd'].map((id) => ({ id, note: `note ${id}` })));
    });
    afterEach(async () => {
      await db.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    /** The service's one connection, handed back to the pool before the next query. */
    async function withConnection<T>(use: (connection: object) => T): Promise<T> {
      const connection = await db.client.acquireConnection();
      try {
        return use(connection);
      } finally {
        await db.client.releaseConnection(connection);
      }
    }

    it('prepares a .first() once, with its limit in the SQL, and answers as before', async () => {
      for (const id of ['a', 'c', 'd']) expect(await db('units').where({ id }).first('note')).to.deep.equal({ note: `note ${id}` });
      expect(await db('units').where({ id: 'none' }).first('note')).to.equal(undefined);
      expect(await db('units').orderBy('id').limit(2).offset(1).pluck('id')).to.deep.equal(['b', 'c']);
      const cached = await withConnection(cachedStatements);
      expect(cached.filter((sql) => /limit/i.test(sql))).to.deep.equal([
        'select `note` from `units` where `id` = ? limit 1',
        'select `id` from `units` order by `id` asc limit ? offset ?',
      ]);
    });

    it("keeps the savepoints of knex's nested transactions, each under a new name, out of the cache", async () => {
      // Each nested transaction's savepoint is named after it (trx1, trx2…): statements that run once.
      await db.transaction(async (trx) => {
        for (const id of ['e', 'f']) await trx.transaction((nested) => nested('units').insert({ id, note: 'nested' }));
      });
      expect(await db('units').where({ note: 'nested' }).pluck('id')).to.have.members(['e', 'f']);
      const cached = await withConnection(cachedStatements);
      expect(cached).to.include('insert into `units` (`id`, `note`) values (?, ?)');
      expect(cached.filter((sql) => /SAVEPOINT/i.test(sql))).to.deep.equal([]);
    });

    it("runs a group commit's units on the transaction's connection, their statements and savepoints prepared once", async () => {
      const transactions = transactionsFor(db);
      const unit = (id: string) => transactions.run((tx) => tx.run('insert into units (id, note) values (?, ?)', [id, 'grouped']));
      await Promise.all(['e', 'f', 'g'].map(unit));
      await Promise.all(['h', 'i'].map(unit));
      expect(transactions.stats).to.deep.equal({ units: 5, commits: 2 });
      expect(await db('units').where({ note: 'grouped' }).pluck('id')).to.have.members(['e', 'f', 'g', 'h', 'i']);
      const cached = await withConnection(cachedStatements);
      expect(cached.filter((sql) => /^(insert into units|(RELEASE |ROLLBACK TO )?SAVEPOINT)/i.test(sql)).sort()).to.deep.equal(['RELEASE SAVEPOINT unit', 'SAVEPOINT unit', 'insert into units (id, note) values (?, ?)']);
    });

    it('keeps a statement in use while hundreds of others pass through the cache', async () => {
      const hot = 'select `note` from `units` where `id` = ? limit 1';
      for (let i = 0; i < 300; i++) {
        await db.raw(`select ${i} as n`);
        if (i % 50 === 0) expect(await db('units').where({ id: 'a' }).first('note')).to.deep.equal({ note: 'note a' });
      }
      const cached = await withConnection(cachedStatements);
      // Dropped least recently used first: the hot statement, last run 50 statements ago, stays.
      expect(cached).to.include(hot);
      expect(cached).to.not.include('select 0 as n');
    });

    it('keeps savepoint journals in memory', async () => {
      expect(await withConnection((connection) => (connection as { pragma(sql: string, options: { simple: true }): unknown }).pragma('temp_store', { simple: true }))).to.equal(2);
    });
  });
});
