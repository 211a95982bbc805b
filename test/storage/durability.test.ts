// The durability settings issue 7 names, read back from the connection the service itself uses:
// SQLite in WAL mode with synchronous=FULL (better-sqlite3 is built with WAL databases defaulting to
// NORMAL, which can lose the last commits in a power cut), PostgreSQL with synchronous_commit=on.
// Without them a send-proof could leave for a mail that a power cut then loses.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ssinFrom } from '../../app/identifiers/index.js';
import { WRITER_AUTOCHECKPOINT_PAGES } from '../../app/storage/checkpointer.js';
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

// better-sqlite3 has no type declarations; the test below needs one read-only query.
const SqliteFile = createRequire(import.meta.url)('better-sqlite3') as new (file: string, options: { readonly: boolean }) => {
  prepare(sql: string): { get(bindings: unknown[]): { n: number } };
  close(): void;
};

// The WAL is copied into the database file by the service's checkpoint thread, not inside some
// writer's COMMIT on the event loop (which held every request of that worker 10–40 ms): the writers'
// own automatic checkpoint is only a fallback at 10,000 pages, yet a few sends reach the file itself.
(testBackend === 'sqlite' ? describe : describe.skip)('the WAL checkpoint thread (sqlite)', function () {
  let service: TestService;
  before(async () => {
    service = await startTestService();
  });
  after(async () => service?.close());

  it('copies committed mails into the database file within moments, while writers checkpoint only past 10,000 pages', async () => {
    expect((await service.ctx.db.raw('PRAGMA wal_autocheckpoint'))[0].wal_autocheckpoint).to.equal(WRITER_AUTOCHECKPOINT_PAGES);
    const references = [1, 2, 3].map((i) => `checkpoint-${i}-${randomUUID()}`);
    for (const senderReference of references) {
      await service.client().sendRegisteredMail({
        senderReference,
        recipient: { kind: 'citizen', ssin: ssinFrom('850730033') },
        subject: 'Checkpoint',
        document: { fileName: 'c.txt', mimeType: 'text/plain', content: Buffer.from(senderReference) },
      });
    }
    // The database file alone, without its WAL: what a checkpoint has copied, and nothing else.
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-checkpoint-'));
    const copy = path.join(scratch, 'file-only.sqlite');
    const inFileOnly = (): number => {
      fs.copyFileSync(service.dbFile, copy);
      const file = new SqliteFile(copy, { readonly: true });
      try {
        return file.prepare(`SELECT count(*) AS n FROM registered_mails WHERE sender_reference IN (${references.map(() => '?').join(',')})`).get(references).n;
      } catch {
        return 0; // copied in the middle of a checkpoint's writes: look again
      } finally {
        file.close();
      }
    };
    let found = 0;
    for (const deadline = Date.now() + 5000; Date.now() < deadline && found < references.length; await new Promise((r) => setTimeout(r, 50))) found = inFileOnly();
    fs.rmSync(scratch, { recursive: true, force: true });
    expect(found, 'mails in the database file without its WAL').to.equal(references.length);
  });
});
