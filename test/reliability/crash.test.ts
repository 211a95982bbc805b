// Crash test: a loader sends registered mails while the service process is killed with SIGKILL at
// random moments, again and again. After every restart, each mail whose send-proof reached the
// client must exist, delivered, with proofs that verify; no mail may exist without its companions;
// and a retry of every unanswered submission (same SenderReference) yields exactly one mail.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SenderClient, SoapFault, type RegisteredMailSubmission } from '../../app/client/index.js';
import { loadConfig, projectRoot } from '../../app/config/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { verifySealedProof } from '../../app/proofs/index.js';
import { openDatabase, type Database } from '../../app/storage/index.js';
import { run } from '../helpers/run.js';
import { startTestService, testBackend, type TestService } from '../helpers/service.js';

const CYCLES = Number(process.env.EPOST_CRASH_CYCLES ?? 20);
const IN_FLIGHT = 4;
const tsxLoader = pathToFileURL(path.join(projectRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')).href;

interface ServiceProcess {
  child: ChildProcess;
  baseUrl: string;
  exited: Promise<void>;
}

/** Starts `app/main.ts` (a primary and its workers) on the given database and waits until it listens. */
function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  return new Promise((resolve, reject) => {
    // Its own process group, so that one SIGKILL takes the primary and its workers down together.
    const child = spawn(process.execPath, ['--import', tsxLoader, path.join(projectRoot, 'app', 'main.ts')], {
      env: { ...process.env, EPOST_PORT: '0', EPOST_MTLS_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${out}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (https:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, baseUrl: m[1]!, exited });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`service exited (${code}) before listening:\n${out}`));
    });
  });
}

describe(`crash safety: SIGKILL during sends (${testBackend})`, function () {
  this.timeout(10 * 60_000);
  let setup: TestService;
  let db: Database;
  const acknowledged = new Map<string, { registeredMailId: string; sendProof: Buffer }>();
  const unanswered = new Map<string, RegisteredMailSubmission>();
  let env: Record<string, string>;

  before(async () => {
    // A test service prepares the database (migrations, demo senders) and is closed again: the
    // service under test is a separate process that we kill.
    setup = await startTestService();
    env = { ...setup.databaseEnv, EPOST_CERTS_DIR: setup.certsDir };
    db = await openDatabase(loadConfig({ EPOST_CERTS_DIR: setup.certsDir, ...setup.databaseEnv }));
  });
  after(async () => {
    await db?.destroy();
    await setup?.close();
  });

  function clientFor(baseUrl: string): SenderClient {
    const sender = setup.devPki.senders[0]!;
    return new SenderClient({
      baseUrl,
      certificatePem: fs.readFileSync(sender.certFile, 'utf8'),
      privateKeyPem: fs.readFileSync(sender.keyFile, 'utf8'),
      tlsCaPem: setup.rootCaPem,
    });
  }

  function newSubmission(): RegisteredMailSubmission {
    return {
      senderReference: `crash-${randomUUID()}`,
      recipient: { kind: 'citizen', ssin: ssinFrom('850730033') },
      subject: 'Crash test',
      document: { fileName: 'c.txt', mimeType: 'text/plain', content: Buffer.from(`crash test ${randomUUID()}`) },
    };
  }

  /** Sends until stopped; each answered submission is acknowledged, each failed one is kept for a retry. */
  async function load(client: SenderClient, stop: { stopped: boolean }): Promise<void> {
    const worker = async () => {
      while (!stop.stopped) {
        const submission = unanswered.size > 0 && Math.random() < 0.5 ? takeUnanswered() : newSubmission();
        try {
          const sent = await client.sendRegisteredMail(submission);
          acknowledged.set(submission.senderReference, sent);
          unanswered.delete(submission.senderReference);
        } catch (err) {
          if (err instanceof SoapFault && !err.retryable) throw err;
          unanswered.set(submission.senderReference, submission);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  }

  function takeUnanswered(): RegisteredMailSubmission {
    const [reference, submission] = unanswered.entries().next().value as [string, RegisteredMailSubmission];
    unanswered.delete(reference);
    return submission;
  }

  it(`loses no acknowledged mail and leaves no orphan over ${CYCLES} kill/restart cycles`, async () => {
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const service = await startServiceProcess(env);
      const stop = { stopped: false };
      const loading = load(clientFor(service.baseUrl), stop);
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
      process.kill(-service.child.pid!, 'SIGKILL'); // the primary and every worker, at once
      stop.stopped = true;
      await loading;
      await service.exited;
      await expectNoOrphans();
    }

    const unansweredAtEnd = unanswered.size;
    // Recovery: every unanswered submission, retried with its SenderReference, succeeds exactly once.
    const service = await startServiceProcess(env);
    try {
      const client = clientFor(service.baseUrl);
      for (const [reference, submission] of unanswered) {
        acknowledged.set(reference, await client.sendRegisteredMail(submission));
      }
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }

    expect(acknowledged.size, 'mails acknowledged during the run').to.be.greaterThan(CYCLES);
    for (const [reference, sent] of acknowledged) {
      const mails = await db('registered_mails').where({ sender_reference: reference });
      expect(mails, `exactly one mail for ${reference}`).to.have.length(1);
      expect(mails[0].id).to.equal(sent.registeredMailId);
      const stored = await db('proofs').where({ registered_mail_id: sent.registeredMailId, kind: 'SendProof' }).first();
      expect(Buffer.from(stored.sealed_xml).equals(sent.sendProof), 'the stored send-proof is the one handed out').to.equal(true);
    }
    await expectNoOrphans();
    console.log(
      `      crash test: ${CYCLES} SIGKILL cycles, ${acknowledged.size} mails acknowledged ` +
        `(${unansweredAtEnd} unanswered at a kill, then retried once each), 0 lost, 0 orphans`,
    );
    // The processing log, written by killed and restarted processes, still verifies end to end.
    const audit = await run(process.execPath, ['--import', tsxLoader, path.join(projectRoot, 'scripts', 'audit.ts'), 'verify'], {
      env: { ...process.env, ...env },
    });
    expect(audit.status, audit.stdout + audit.stderr).to.equal(0);
    // The proofs of a sample of acknowledged mails verify.
    const anchors = [fs.readFileSync(setup.devPki.rootCaCert, 'utf8')];
    for (const sent of [...acknowledged.values()].slice(0, 10)) {
      const verified = await verifySealedProof(sent.sendProof, anchors);
      expect(verified.registeredMailId).to.equal(sent.registeredMailId);
    }
  });

  /** Every stored mail has its document, eBox entry and both proofs; nothing refers to a missing mail. */
  async function expectNoOrphans(): Promise<void> {
    const mails: { id: string }[] = await db('registered_mails').select('id');
    for (const { id } of mails) {
      const count = async (table: string, column = 'registered_mail_id') => Number((await db(table).where({ [column]: id }).count({ n: '*' }))[0]!.n);
      expect(await count('documents'), `document of ${id}`).to.equal(1);
      expect(await count('ebox_messages'), `eBox entry of ${id}`).to.equal(1);
      expect(await count('proofs'), `proofs of ${id}`).to.be.at.least(2);
    }
    const orphanProofs = await db('proofs').whereNotIn('registered_mail_id', db('registered_mails').select('id')).count({ n: '*' });
    expect(Number(orphanProofs[0]!.n), 'proofs without a mail').to.equal(0);
    const orphanEntries = await db('ebox_messages').whereNotIn('registered_mail_id', db('registered_mails').select('id')).count({ n: '*' });
    expect(Number(orphanEntries[0]!.n), 'eBox entries without a mail').to.equal(0);
  }
});
