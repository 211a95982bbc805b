// Faults of the storage under a running service: a full disk (SQLite on a size-limited tmpfs), the
// database refusing connections or turned read-only (PostgreSQL). Each must give the sender a
// retryable fault, store nothing partial, and a retry with the same SenderReference must then
// succeed exactly once.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexModule from 'knex';
import { SoapFault, type RegisteredMailSubmission, type SenderClient, type SendResult } from '../../app/client/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { startTestService, testBackend, type TestService } from '../helpers/service.js';

function submission(size = 1024): RegisteredMailSubmission {
  return {
    senderReference: `fault-${randomUUID()}`,
    recipient: { kind: 'citizen', ssin: ssinFrom('850730033') },
    subject: 'Fault test',
    document: { fileName: 'f.bin', mimeType: 'application/octet-stream', content: Buffer.alloc(size, 1) },
  };
}

async function expectRetryableFault(service: TestService, send: () => Promise<unknown>): Promise<void> {
  const before = await service.counts();
  const fault = await send().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(fault, 'a fault').to.be.instanceOf(SoapFault);
  expect((fault as SoapFault).code).to.equal('ServiceUnavailable');
  expect((fault as SoapFault).retryable).to.equal(true);
  expect((fault as SoapFault).reason).to.not.match(/SQLITE|ENOSPC|terminat|read-only transaction/i); // no internals
  expect(await service.counts(), 'nothing partial stored').to.deep.equal(before);
}

/** A sender retries a retryable fault with the same SenderReference until it is answered. */
async function retryUntilAnswered(client: SenderClient, mail: RegisteredMailSubmission): Promise<SendResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.sendRegisteredMail(mail);
    } catch (err) {
      if (!(err instanceof SoapFault) || !err.retryable || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

async function expectExactlyOnce(service: TestService, mail: RegisteredMailSubmission, sent: SendResult): Promise<void> {
  const mails = await service.ctx.db('registered_mails').where({ sender_reference: mail.senderReference });
  expect(mails).to.have.length(1);
  expect(mails[0].id).to.equal(sent.registeredMailId);
  expect(await service.ctx.db('proofs').where({ registered_mail_id: sent.registeredMailId }).count({ n: '*' }).then((r) => Number(r[0]!.n))).to.be.at.least(2);
}

describe('storage faults give a retryable fault, store nothing partial, and a retry succeeds once', function () {
  this.timeout(120_000);

  describe('disk full (SQLite on a size-limited tmpfs)', function () {
    let mountPoint: string | undefined;
    let service: TestService | undefined;

    before(function () {
      if (testBackend !== 'sqlite') {
        console.log('      (skipped under PostgreSQL: the disk-full case is tested on the SQLite file)');
        this.skip();
      }
      mountPoint = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-tiny-'));
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint], { stdio: 'pipe' });
      } catch {
        console.log('      (skipped: mounting a size-limited tmpfs needs root; run as root, as CI does)');
        fs.rmSync(mountPoint, { recursive: true, force: true });
        mountPoint = undefined;
        this.skip();
      }
    });
    after(async () => {
      await service?.close().catch(() => undefined);
      if (mountPoint) {
        execFileSync('umount', [mountPoint]);
        fs.rmSync(mountPoint, { recursive: true, force: true });
      }
    });

    it('refuses a send while the disk is full and accepts its retry once space is back', async () => {
      service = await startTestService({ EPOST_DB: path.join(mountPoint!, 'epost.sqlite') });
      const client = service.client();
      await client.sendRegisteredMail(submission()); // the database works before the disk fills
      const filler = path.join(mountPoint!, 'filler');
      const fd = fs.openSync(filler, 'w');
      try {
        const block = Buffer.alloc(64 * 1024);
        for (;;) fs.writeSync(fd, block);
      } catch {
        // ENOSPC: the disk is full now
      } finally {
        fs.closeSync(fd);
      }
      const mail = submission(256 * 1024);
      await expectRetryableFault(service, () => client.sendRegisteredMail(mail));
      fs.rmSync(filler);
      const sent = await retryUntilAnswered(client, mail);
      await expectExactlyOnce(service, mail, sent);
    });
  });

  describe('PostgreSQL unavailable or read-only', function () {
    let service: TestService | undefined;
    let admin: ReturnType<typeof knexModule> | undefined;
    let database = '';

    before(async function () {
      if (testBackend !== 'postgres') {
        console.log('      (skipped under SQLite: these cases run in the PostgreSQL run of the suite)');
        this.skip();
      }
      service = await startTestService();
      const url = new URL(service.databaseEnv.DATABASE_URL!);
      database = url.pathname.slice(1);
      url.pathname = '/postgres';
      admin = knexModule({ client: 'pg', connection: url.toString(), pool: { min: 0, max: 1 } });
    });
    after(async () => {
      if (admin && database) {
        await admin.raw(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS true`);
        await admin.raw(`ALTER DATABASE ${database} RESET default_transaction_read_only`);
      }
      await admin?.destroy();
      await service?.close();
    });

    const dropSessions = () => admin!.raw('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()', [database]);

    it('refuses a send while the database refuses connections, then accepts its retry once', async () => {
      const client = service!.client();
      await client.sendRegisteredMail(submission());
      const mail = submission();
      await admin!.raw(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS false`);
      await dropSessions();
      const fault = await client.sendRegisteredMail(mail).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(fault).to.be.instanceOf(SoapFault);
      expect((fault as SoapFault).code).to.equal('ServiceUnavailable');
      expect((fault as SoapFault).retryable).to.equal(true);
      await admin!.raw(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS true`);
      const sent = await retryUntilAnswered(client, mail);
      await expectExactlyOnce(service!, mail, sent);
    });

    it('refuses a send while the database is read-only, then accepts its retry once', async () => {
      const client = service!.client();
      const mail = submission();
      await admin!.raw(`ALTER DATABASE ${database} SET default_transaction_read_only = on`);
      await dropSessions();
      // The first attempt may meet a terminated session, the next ones the read-only database.
      for (let i = 0; i < 2; i++) {
        const fault = await client.sendRegisteredMail(mail).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(fault).to.be.instanceOf(SoapFault);
        expect((fault as SoapFault).code).to.equal('ServiceUnavailable');
      }
      expect(await service!.ctx.db('registered_mails').where({ sender_reference: mail.senderReference })).to.have.length(0);
      await admin!.raw(`ALTER DATABASE ${database} RESET default_transaction_read_only`);
      await dropSessions();
      const sent = await retryUntilAnswered(client, mail);
      await expectExactlyOnce(service!, mail, sent);
    });
  });
});
