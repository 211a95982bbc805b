// Plain-SQL statements (app/storage/statements.ts), on the backend of the run (a fresh SQLite file,
// or a fresh PostgreSQL database in the PostgreSQL pass): the INSERTs `insertInto` writes, run both
// through a knex transaction (statementsOf) and as units of the send path's transactions
// (transactionsFor), with booleans, nulls, bytes, conflicts ignored and rows returned.
import { expect } from 'chai';
import { insertInto, insertRows, openDatabase, statementsOf, transactionsFor, type Database, type Statements } from '../../app/storage/index.js';
import { freshDatabase, testBackend } from '../helpers/service.js';

describe(`plain-SQL statements (${testBackend})`, function () {
  let db: Database;
  let drop: () => Promise<void>;

  before(async () => {
    const fresh = await freshDatabase();
    drop = fresh.drop;
    db = await openDatabase({ dbFile: fresh.env.EPOST_DB ?? '', databaseUrl: fresh.env.DATABASE_URL });
    await db.schema.createTable('things', (t) => {
      t.increments('id');
      t.string('name').notNullable().unique();
      t.boolean('visible').notNullable();
      t.string('note');
      t.binary('bytes');
    });
  });
  after(async () => {
    await db?.destroy();
    await drop?.();
  });

  it('writes one INSERT per table, columns and row count, with every value bound', () => {
    const one = insertInto('things', [{ name: 'a', visible: true, note: null }]);
    expect(one).to.deep.equal({ sql: 'insert into things (name, visible, note) values (?, ?, ?)', bindings: ['a', true, null] });
    const two = insertInto('things', [{ name: 'a', visible: true }, { name: 'b', visible: false }], { ignoreConflictOn: ['name'], returning: ['id', 'name'] });
    expect(two.sql).to.equal('insert into things (name, visible) values (?, ?), (?, ?) on conflict (name) do nothing returning id, name');
    expect(two.bindings).to.deep.equal(['a', true, 'b', false]);
  });

  it('refuses rows whose columns differ, an undefined value, no rows at all and names that are not plain identifiers', () => {
    expect(() => insertInto('things', [{ name: 'a', visible: true }, { visible: true, name: 'b' }])).to.throw(/every row must have the columns name, visible in that order/);
    expect(() => insertInto('things', [{ name: 'a', visible: true }, { name: 'b' }])).to.throw(/every row must have the columns/);
    expect(() => insertInto('things', [{ name: 'a', visible: undefined }])).to.throw(/visible is undefined/);
    expect(() => insertInto('things', [])).to.throw(/no rows/);
    // Names go into the SQL text: anything but a plain identifier is refused before it gets there.
    expect(() => insertInto('things', [{ 'name) values (1); drop table things; --': 'x' }])).to.throw(/is not a plain lower-case identifier/);
    expect(() => insertInto('things', [{ name: 'a' }], { returning: ['*'] })).to.throw(/"\*" is not a plain lower-case identifier/);
  });

  async function exercise(tx: Statements, prefix: string): Promise<void> {
    const bytes = Buffer.from([0, 1, 2, 255]);
    const insert = insertInto('things', [
      { name: `${prefix}-1`, visible: true, note: null, bytes },
      { name: `${prefix}-2`, visible: false, note: 'n', bytes: null },
    ], { returning: ['id', 'name'] });
    const returned = await tx.rows<{ id: number | string; name: string }>(insert.sql, insert.bindings);
    expect(returned.map((r) => r.name).sort()).to.deep.equal([`${prefix}-1`, `${prefix}-2`]);
    // A conflict ignored changes nothing, and says so.
    const again = insertInto('things', [{ name: `${prefix}-1`, visible: false }], { ignoreConflictOn: ['name'] });
    expect(await tx.run(again.sql, again.bindings)).to.equal(0);
    expect(await tx.run('update things set note = ? where name = ?', ['changed', `${prefix}-2`])).to.equal(1);
    const rows = await tx.rows<{ name: string; visible: unknown; note: string | null; bytes: Buffer | null }>('select name, visible, note, bytes from things where name like ? order by name', [`${prefix}-%`]);
    expect(rows.map((r) => ({ ...r, visible: Boolean(r.visible), bytes: r.bytes ? Buffer.from(r.bytes).toString('hex') : null }))).to.deep.equal([
      { name: `${prefix}-1`, visible: true, note: null, bytes: '000102ff' },
      { name: `${prefix}-2`, visible: false, note: 'changed', bytes: null },
    ]);
  }

  it('run and return rows in a knex transaction', async () => {
    await db.transaction((trx) => exercise(statementsOf(trx), 'knex'));
    expect(await db('things').where('name', 'like', 'knex-%').count({ n: '*' }).first()).to.deep.equal({ n: testBackend === 'postgres' ? '2' : 2 });
  });

  it("run and return rows as units of the send path's transactions, which keep nothing of a failed unit", async () => {
    const transactions = transactionsFor(db);
    const outcomes = await Promise.allSettled([
      transactions.run((tx) => exercise(tx, 'unit')),
      transactions.run(async (tx) => {
        await insertRows(tx, 'things', [{ name: 'doomed', visible: true }]);
        // Taken by the first unit: this one fails, and its first row goes with it.
        await insertRows(tx, 'things', [{ name: 'unit-1', visible: true }]);
      }),
    ]);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['fulfilled', 'rejected']);
    expect((await db('things').where('name', 'like', 'unit-%').orWhere({ name: 'doomed' }).pluck('name')).sort()).to.deep.equal(['unit-1', 'unit-2']);
  });
});
