// The durability settings issue 7 names, read back from the connection the service itself uses:
// SQLite in WAL mode with synchronous=FULL (better-sqlite3 is built with WAL databases defaulting to
// NORMAL, which can lose the last commits in a power cut), PostgreSQL with synchronous_commit=on.
// Without them a send-proof could leave for a mail that a power cut then loses.
import { expect } from 'chai';
import { startTestService, testBackend, type TestService } from '../helpers/service.js';

describe(`the database's durability settings (${testBackend})`, function () {
  let service: TestService;
  before(async () => {
    service = await startTestService();
  });
  after(async () => service?.close());

  it(testBackend === 'sqlite' ? 'SQLite: WAL, synchronous=FULL, foreign keys on' : 'PostgreSQL: synchronous_commit=on', async () => {
    const { db } = service.ctx;
    if (testBackend === 'sqlite') {
      expect((await db.raw('PRAGMA journal_mode'))[0].journal_mode).to.equal('wal');
      expect((await db.raw('PRAGMA synchronous'))[0].synchronous).to.equal(2); // 2 = FULL
      expect((await db.raw('PRAGMA foreign_keys'))[0].foreign_keys).to.equal(1);
    } else {
      expect((await db.raw('SHOW synchronous_commit')).rows[0].synchronous_commit).to.equal('on');
    }
  });
});
