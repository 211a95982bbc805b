// The PostgreSQL client (app/storage/postgresClient.ts), on a fresh database of the server the suite
// runs against: statements with parameters are prepared once per connection under a name, and a
// connection whose prepared statement went stale (another instance changed the table's columns) is
// closed rather than lent again, so that the next statement prepares anew and succeeds.
import { expect } from 'chai';
import { openDatabase, type Database } from '../../app/storage/index.js';
import { freshDatabase, testBackend } from '../helpers/service.js';

describe(`the PostgreSQL client: prepared statements (${testBackend})`, function () {
  let db: Database | undefined;
  let drop: (() => Promise<void>) | undefined;

  before(async function () {
    if (testBackend !== 'postgres') {
      console.log('      (skipped under SQLite: this runs in the PostgreSQL run of the suite)');
      this.skip();
    }
    const fresh = await freshDatabase();
    drop = fresh.drop;
    db = await openDatabase({ dbFile: '', databaseUrl: fresh.env.DATABASE_URL });
    await db.schema.createTable('items', (t) => {
      t.string('id').primary();
      t.string('note');
    });
    await db('items').insert([{ id: 'a', note: 'first' }, { id: 'b', note: 'second' }]);
  });
  after(async () => {
    await db?.destroy();
    await drop?.();
  });

  it('prepares a statement with parameters once per connection, under a name, and reuses it', async () => {
    const sql = db!('items').where({ id: 'a' }).first('note').toSQL().toNative().sql;
    const prepared = await db!.transaction(async (trx) => {
      // One transaction: one connection, whose own prepared statements the view lists.
      for (const id of ['a', 'b', 'a']) expect((await trx('items').where({ id }).first('note'))?.note).to.equal(id === 'a' ? 'first' : 'second');
      return (await trx.raw('SELECT name FROM pg_prepared_statements WHERE statement = ?', [sql])).rows as Array<{ name: string }>;
    });
    // Three runs, one statement prepared.
    expect(prepared).to.have.length(1);
    expect(prepared[0]!.name).to.match(/^epost_\d+$/);
  });

  it('leaves statements without parameters to the simple protocol', async () => {
    const unnamed = await db!.transaction(async (trx) => {
      await trx.raw('SELECT count(*) FROM items');
      return (await trx.raw(`SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%count(*)%'`)).rows as unknown[];
    });
    expect(unnamed).to.deep.equal([]);
  });

  it('closes a connection whose prepared statement a column change made stale; the next statement succeeds', async () => {
    const all = () => db!('items').where({ id: 'a' }).select('*');
    expect(await all()).to.deep.equal([{ id: 'a', note: 'first' }]);
    await db!.schema.alterTable('items', (t) => t.string('added'));
    // The connection that prepared `SELECT *` before the change can no longer run it…
    const stale = await all().then(
      () => undefined,
      (err: unknown) => err as { code?: string; message?: string },
    );
    expect(stale?.code, stale?.message).to.equal('0A000');
    // …and is not lent again: every later run gets a connection that prepares the new shape.
    for (let i = 0; i < 3; i++) expect(await all()).to.deep.equal([{ id: 'a', note: 'first', added: null }]);
  });
});
