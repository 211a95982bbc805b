// Group commit and the SQLite client (app/storage/groupCommit.ts, app/storage/sqliteClient.ts), on a
// real SQLite file opened as the service opens it: sends arriving together share one durable commit,
// each in a savepoint of its own; a failing one rolls back alone; nobody hears of success before the
// commit; a failed commit keeps nothing of anyone; a transaction that reads before it writes waits
// for another connection's commit instead of failing; and waiting for another connection's write
// lock never stalls the event loop.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, transactionsFor, type Database, type Statements } from '../../app/storage/index.js';

const insertUnit = (tx: Statements, id: string, note: string) => tx.run('insert into units (id, note) values (?, ?)', [id, note]);

describe('group commit on SQLite', function () {
  let dir: string;
  let db: Database;
  let statements: string[];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-group-'));
    db = await openDatabase({ dbFile: path.join(dir, 'epost.sqlite'), databaseUrl: undefined });
    await db.schema.createTable('units', (t) => {
      t.string('id').primary();
      t.string('note');
    });
    // Checked only when the outermost transaction commits: the way to make a shared commit fail.
    await db.raw('CREATE TABLE parents (id TEXT PRIMARY KEY)');
    await db.raw('CREATE TABLE children (id TEXT PRIMARY KEY, parent TEXT REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)');
    statements = [];
    db.on('query', (q: { sql: string }) => statements.push(q.sql));
  });
  afterEach(async () => {
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const begins = () => statements.filter((sql) => /^BEGIN/i.test(sql)).length;

  it('units that arrive together share one transaction, each in its own savepoint', async () => {
    const transactions = transactionsFor(db);
    const ids = Array.from({ length: 8 }, (_, i) => `u${i}`);
    const results = await Promise.all(ids.map((id) => transactions.run(async (tx) => {
      await insertUnit(tx, id, 'first');
      expect(await tx.run('update units set note = ? where id = ?', ['second', id])).to.equal(1);
      expect(await tx.rows('select note from units where id = ?', [id])).to.deep.equal([{ note: 'second' }]);
      return id;
    })));
    expect(results).to.deep.equal(ids);
    expect(begins()).to.equal(1);
    expect(transactions.stats).to.deep.equal({ units: 8, commits: 1 });
    expect((await db('units').select('id', 'note')).map((r) => `${r.id}:${r.note}`).sort()).to.deep.equal(ids.map((id) => `${id}:second`));
  });

  it('a failing unit rolls back alone: the others are stored, nothing of it is', async () => {
    await db('units').insert({ id: 'taken', note: 'before' });
    const transactions = transactionsFor(db);
    const outcomes = await Promise.allSettled(['a', 'b', 'c'].map((id) => transactions.run(async (tx) => {
      await insertUnit(tx, id, 'stored');
      // b's second row collides: its first row must go too.
      if (id === 'b') await insertUnit(tx, 'taken', 'collision');
      return id;
    })));
    expect(outcomes.map((o) => o.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
    expect(transactions.stats).to.deep.equal({ units: 2, commits: 1 });
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).to.match(/UNIQUE constraint failed: units\.id/);
    expect(begins()).to.equal(1);
    const rows = await db('units').orderBy('id').select('id', 'note');
    expect(rows).to.deep.equal([{ id: 'a', note: 'stored' }, { id: 'c', note: 'stored' }, { id: 'taken', note: 'before' }]);
  });

  it('a unit that throws before its first statement fails alone, as one that rejects does', async () => {
    const transactions = transactionsFor(db);
    const outcomes = await Promise.allSettled([
      transactions.run((tx) => insertUnit(tx, 'a', 'stored')),
      transactions.run((() => {
        throw new Error('refused before any statement');
      }) as (tx: Statements) => Promise<void>),
      transactions.run((tx) => insertUnit(tx, 'c', 'stored')),
    ]);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).to.match(/refused before any statement/);
    expect(await db('units').orderBy('id').pluck('id')).to.deep.equal(['a', 'c']);
  });

  it("a failed unit's query that arrives after its rollback is refused, not committed with the group", async () => {
    await db('units').insert({ id: 'taken', note: 'before' });
    const transactions = transactionsFor(db);
    let late: Promise<unknown> = Promise.resolve();
    const outcomes = await Promise.allSettled([
      transactions.run(async (tx) => {
        // A statement the unit started but did not wait for: it reaches the database after the unit failed.
        late = new Promise((settled) => setImmediate(() => insertUnit(tx, 'late', 'after the rollback').then(settled, settled)));
        await insertUnit(tx, 'taken', 'collision');
      }),
      transactions.run(async (tx) => {
        await late;
        await insertUnit(tx, 'next', 'stored');
      }),
    ]);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['rejected', 'fulfilled']);
    expect(String(await late)).to.match(/A statement after its unit of work ended is refused/);
    expect(await db('units').orderBy('id').pluck('id')).to.deep.equal(['next', 'taken']);
  });

  it('nobody is answered before the commit: another connection already sees the rows when a unit resolves', async () => {
    const other = await openDatabase({ dbFile: path.join(dir, 'epost.sqlite'), databaseUrl: undefined });
    try {
      const transactions = transactionsFor(db);
      const seen = await Promise.all(['x', 'y', 'z'].map((id) =>
        transactions.run((tx) => insertUnit(tx, id, 'n')).then(() => other('units').where({ id }).first('id')),
      ));
      expect(seen.map((r) => r?.id)).to.deep.equal(['x', 'y', 'z']);
    } finally {
      await other.destroy();
    }
  });

  it('a shared commit that fails fails every unit in it and keeps nothing of any', async () => {
    const transactions = transactionsFor(db);
    const outcomes = await Promise.allSettled([
      transactions.run((tx) => insertUnit(tx, 'innocent', 'n')),
      // Accepted by its savepoint; refused at COMMIT (deferred foreign key).
      transactions.run((tx) => tx.run('insert into children (id, parent) values (?, ?)', ['orphan', 'nobody'])),
      transactions.run((tx) => insertUnit(tx, 'bystander', 'n')),
    ]);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['rejected', 'rejected', 'rejected']);
    expect(transactions.stats).to.deep.equal({ units: 0, commits: 0 });
    expect(String((outcomes[0] as PromiseRejectedResult).reason)).to.match(/FOREIGN KEY/);
    expect(await db('units').count({ n: '*' }).first()).to.deep.equal({ n: 0 });
    expect(await db('children').count({ n: '*' }).first()).to.deep.equal({ n: 0 });
    // The next group commits normally.
    await transactions.run((tx) => insertUnit(tx, 'after', 'n'));
    expect(await db('units').pluck('id')).to.deep.equal(['after']);
  });

  it('a unit the database itself fails (a full database) fails the whole group, and nothing of any unit is kept', async () => {
    // A few pages more than the schema holds: the big row of the second unit does not fit.
    const { page_count: pages } = (await db.raw('PRAGMA page_count'))[0] as { page_count: number };
    await db.raw(`PRAGMA max_page_count = ${pages + 4}`);
    const transactions = transactionsFor(db);
    const ran: string[] = [];
    const unit = (id: string, note: string) => transactions.run(async (tx) => {
      ran.push(id);
      await insertUnit(tx, id, note);
    });
    const outcomes = await Promise.allSettled([unit('small', 'n'), unit('big', 'x'.repeat(200_000)), unit('never-run', 'n')]);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['rejected', 'rejected', 'rejected']);
    for (const outcome of outcomes) expect((outcome as PromiseRejectedResult).reason).to.have.property('code', 'SQLITE_FULL');
    expect(ran).to.deep.equal(['small', 'big']);
    expect(await db('units').count({ n: '*' }).first()).to.deep.equal({ n: 0 });
    expect(transactions.stats).to.deep.equal({ units: 0, commits: 0 });
    // Space is back: the next group commits.
    await db.raw('PRAGMA max_page_count = 1073741823');
    await transactions.run((tx) => insertUnit(tx, 'after', 'n'));
    expect(await db('units').pluck('id')).to.deep.equal(['after']);
  });

  it('a transaction that reads, then writes after another connection committed, waits its turn instead of failing', async () => {
    // What failed as "database is locked" (SQLITE_BUSY_SNAPSHOT) when transactions began deferred:
    // an administrative change reading first while the service committed.
    await db('units').insert({ id: 'existing', note: 'n' });
    const other = await openDatabase({ dbFile: path.join(dir, 'epost.sqlite'), databaseUrl: undefined });
    try {
      let proceed!: () => void;
      let hasRead!: () => void;
      const read = new Promise<void>((done) => (hasRead = done));
      const reader = db.transaction(async (trx) => {
        const seen = await trx('units').pluck('id');
        hasRead();
        await new Promise<void>((go) => (proceed = go));
        await trx('units').insert({ id: 'after-read', note: String(seen.length) });
      });
      await read;
      // The other connection commits a write while the first transaction is open.
      const writer = other('units').insert({ id: 'concurrent', note: 'n' }).then(() => undefined);
      await new Promise((r) => setTimeout(r, 20));
      proceed();
      await Promise.all([reader, writer]);
      expect(await db('units').orderBy('id').pluck('id')).to.deep.equal(['after-read', 'concurrent', 'existing']);
      // The reader saw the table as it was when it began: nothing slipped in between its read and its write.
      expect(await db('units').where({ id: 'after-read' }).first('note')).to.deep.equal({ note: '1' });
    } finally {
      await other.destroy();
    }
  });

  it('a unit waiting for another connection\'s write lock waits without stalling the event loop, then commits', async () => {
    const other = await openDatabase({ dbFile: path.join(dir, 'epost.sqlite'), databaseUrl: undefined });
    try {
      let releaseLock!: () => void;
      const lockHeld = new Promise<void>((held) => {
        void other.transaction(async (trx) => {
          await trx('units').insert({ id: 'holder', note: 'n' }); // takes the write lock
          held();
          await new Promise<void>((release) => (releaseLock = release));
        });
      });
      await lockHeld;
      const waiting = transactionsFor(db).run((tx) => insertUnit(tx, 'waiter', 'n'));
      // The event loop still turns while the unit waits (SQLite's own busy handler would block it).
      let ticks = 0;
      await new Promise<void>((done) => {
        const timer = setInterval(() => {
          if (++ticks === 5) {
            clearInterval(timer);
            done();
          }
        }, 10);
      });
      releaseLock();
      await waiting;
      expect((await db('units').orderBy('id').pluck('id'))).to.deep.equal(['holder', 'waiter']);
    } finally {
      await other.destroy();
    }
  });
});
