// Two service instances on one PostgreSQL database, as behind a load balancer: the same submission
// (same SenderReference) arrives several times at once on both instances. Idempotency must hold
// across processes' worth of state: exactly one mail per reference, every answer the same mail and
// the same send-proof, and the audit tree written by both instances must verify as one.
import { expect } from 'chai';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type RegisteredMailSubmission, type SendResult } from '../../app/client/index.js';
import { projectRoot } from '../../app/config/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { run } from '../helpers/run.js';
import { startTestService, testBackend, type TestService } from '../helpers/service.js';

const REFERENCES = 40;
const COPIES = 3;
const tsxLoader = pathToFileURL(path.join(projectRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')).href;

describe(`two instances on one database: concurrent duplicate SenderReferences (${testBackend})`, function () {
  this.timeout(5 * 60_000);
  let a: TestService | undefined;
  let b: TestService | undefined;

  before(async function () {
    if (testBackend !== 'postgres') {
      console.log('      (skipped under SQLite: several instances share one PostgreSQL database; this runs in the PostgreSQL run of the suite)');
      this.skip();
    }
    a = await startTestService();
    b = await startTestService(a.databaseEnv);
  });
  after(async () => {
    // b first: only a drops the shared database.
    await b?.close();
    await a?.close();
  });

  it(`stores exactly one mail per reference when each of ${REFERENCES} references is sent ${COPIES} times at once across both instances`, async () => {
    const clients = [a!.client(), b!.client()];
    const runId = Date.now().toString(36);
    const submissions: RegisteredMailSubmission[] = Array.from({ length: REFERENCES }, (_, i) => ({
      senderReference: `multi-${runId}-${i}`,
      recipient: { kind: 'citizen', ssin: ssinFrom('850730033') },
      subject: `Two instances ${i}`,
      document: { fileName: `m${i}.txt`, mimeType: 'text/plain', content: Buffer.from(`multi-instance letter ${i} ${runId}`) },
    }));

    // Every copy is signed separately (its own wsu:Timestamp and signature, so replay protection
    // does not refuse it) and all copies of all references are in flight together; copy k of
    // reference i goes to instance (i + k) % 2, so each reference reaches both instances.
    const attempts = submissions.flatMap((submission, i) =>
      Array.from({ length: COPIES }, (_, k) => ({ submission, instance: (i + k) % 2 })),
    );
    const answers = await Promise.all(
      attempts.map(async ({ submission, instance }) => ({
        reference: submission.senderReference,
        instance,
        result: await clients[instance]!.sendRegisteredMail(submission),
      })),
    );

    const byReference = new Map<string, { instance: number; result: SendResult }[]>();
    for (const { reference, instance, result } of answers) {
      byReference.set(reference, [...(byReference.get(reference) ?? []), { instance, result }]);
    }
    expect(byReference.size).to.equal(REFERENCES);
    const db = a!.ctx.db;
    for (const [reference, got] of byReference) {
      expect(new Set(got.map((g) => g.instance)), `${reference} reached both instances`).to.have.length(2);
      const first = got[0]!.result;
      for (const { result } of got) {
        expect(result.registeredMailId, `same RegisteredMailId for every answer to ${reference}`).to.equal(first.registeredMailId);
        expect(result.sendProof.equals(first.sendProof), `same send-proof for every answer to ${reference}`).to.equal(true);
      }
      const mails = await db('registered_mails').where({ sender_reference: reference });
      expect(mails, `exactly one mail for ${reference}`).to.have.length(1);
      expect(mails[0].id).to.equal(first.registeredMailId);
      const sendProofs = await db('proofs').where({ registered_mail_id: first.registeredMailId, kind: 'SendProof' });
      expect(sendProofs, `exactly one send-proof for ${reference}`).to.have.length(1);
      const eboxEntries = await db('ebox_messages').where({ registered_mail_id: first.registeredMailId });
      expect(eboxEntries, `exactly one eBox entry for ${reference}`).to.have.length(1);
    }
    expect(await a!.counts()).to.deep.include({ mails: REFERENCES, eboxMessages: REFERENCES });

    // Both instances number and seal their waiting records into the one tree; the audit CLI, a
    // separate process, recomputes it from the database and checks every signed tree head.
    await a!.ctx.audit.sealNow();
    await b!.ctx.audit.sealNow();
    const audit = await run(process.execPath, ['--import', tsxLoader, path.join(projectRoot, 'scripts', 'audit.ts'), 'verify'], {
      cwd: projectRoot,
      env: { ...process.env, ...a!.databaseEnv, EPOST_CERTS_DIR: a!.certsDir },
      timeoutMs: 120_000,
    });
    expect(audit.status, audit.stdout + audit.stderr).to.equal(0);
  });
});
