// Retention: the log is kept at least ten years and the database refuses its premature deletion;
// documents are purged at the end of their sender's retention period, leaving every digest, so the
// proofs and the log still verify; each purge is itself a record.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setSenderDocumentRetention } from '../../app/audit/index.js';
import { loadConfig } from '../../app/config/index.js';
import { verifyProofIndependently } from '../helpers/independentVerifiers.js';
import { run } from '../helpers/run.js';
import { pkiLayout, startTestService, testBackend, type TestService } from '../helpers/service.js';
import { lastRecordId, recordsAfter, refusalOf, runAudit, submission } from './helpers.js';

const CHECKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rfc6962_check.py');
const DAY_MS = 24 * 3600 * 1000;

describe(`retention of the log and of documents (${testBackend})`, function () {
  let service: TestService;
  before(async () => {
    service = await startTestService({ EPOST_LOG_TREE_INTERVAL: '3600' });
    await service.client().sendRegisteredMail(submission());
    await service.ctx.audit.sealNow();
  });
  after(async () => service?.close());

  it('the log retention is configurable but never below ten years', () => {
    expect(loadConfig({}).logRetentionYears).to.equal(10);
    expect(loadConfig({ EPOST_LOG_RETENTION_YEARS: '30' }).logRetentionYears).to.equal(30);
    expect(() => loadConfig({ EPOST_LOG_RETENTION_YEARS: '9' })).to.throw(/EPOST_LOG_RETENTION_YEARS/);
  });

  it('the database refuses to delete or change the log before its time, whoever asks', async () => {
    const db = service.ctx.db;
    const record = await db('audit_records').whereNotNull('payload_sha256').first();
    const refusals = [
      await refusalOf(db('audit_records').where({ id: record.id }).delete()),
      await refusalOf(db('audit_records').where({ id: record.id }).update({ outcome: 'refused' })),
      await refusalOf(db('audit_records').delete()),
      await refusalOf(db('audit_payloads').where({ record_id: record.id }).delete()),
      await refusalOf(db('audit_tree_heads').delete()),
      await refusalOf(db('audit_tree_nodes').where({ level: 0 }).delete()),
      await refusalOf(db('audit_tree_nodes').update({ hash: '00'.repeat(32) })),
      await refusalOf(db('audit_log_head').update({ tree_size: 0 })),
      await refusalOf(db('audit_log_head').update({ retention_years: 5 })),
    ];
    for (const message of refusals) expect(message).to.match(/append-only/);
    if (testBackend === 'postgres') expect(await refusalOf(db.raw('TRUNCATE audit_records CASCADE'))).to.match(/append-only/);
    const verified = await runAudit(service, ['verify']);
    expect(verified.status, verified.stdout).to.equal(0);
  });

  describe('a purge after the sender’s retention period', () => {
    let mailId: string;
    let sendProof: Buffer;
    let evidenceId: string;
    let digest: string;
    let lastBeforePurge: number;
    let purgeOutput: string;
    let proofsBefore: number;
    const proofCount = async () => Number((await service.ctx.db('proofs').where({ registered_mail_id: mailId }).count({ n: '*' }))[0]!.n);

    before(async () => {
      const sender = service.devPki.senders[0]!.enterpriseNumber;
      const sent = await service.client().sendRegisteredMail(submission());
      mailId = sent.registeredMailId;
      sendProof = sent.sendProof;
      const sendRecord = await service.ctx.db('audit_records').where({ registered_mail_id: mailId, operation: 'SendRegisteredMail' }).first();
      evidenceId = sendRecord.evidence_id;
      digest = (await service.ctx.db('registered_mails').where({ id: mailId }).first()).digest_sha256;
      await service.ctx.audit.sealNow();

      await setSenderDocumentRetention(service.ctx.db, service.ctx.audit, sender, 30, { executor: 'test administrator' });
      // Forty days pass for this mail (registered_mails is not part of the log).
      await service.ctx.db('registered_mails').where({ id: mailId }).update({ submission_time: new Date(Date.now() - 40 * DAY_MS).toISOString() });
      lastBeforePurge = await lastRecordId(service.ctx.db);
      proofsBefore = await proofCount();
      const purged = await runAudit(service, ['purge']);
      expect(purged.status, purged.stderr).to.equal(0);
      purgeOutput = purged.stdout;
    });

    it('setting the retention period was an administrative change in the log', async () => {
      const change = await service.ctx.db('audit_records').where({ operation: 'AdministrativeChange' }).orderBy('id', 'desc').first();
      expect(JSON.parse(change.details)).to.deep.equal({ change: 'sender.documentRetention', enterpriseNumber: service.devPki.senders[0]!.enterpriseNumber, retentionDays: 30 });
    });

    it('removes the document and the logged request that carried it, keeps the digests, and purges nothing else', async () => {
      expect(purgeOutput).to.contain(`purged ${mailId}`).and.contain('1 document(s) purged.');
      expect(await service.ctx.db('documents').where({ registered_mail_id: mailId }).first()).to.equal(undefined);
      expect(await service.ctx.db('audit_payloads').where({ registered_mail_id: mailId }).first()).to.equal(undefined);
      const mail = await service.ctx.db('registered_mails').where({ id: mailId }).first();
      expect(mail.digest_sha256).to.equal(digest);
      expect(mail.document_purged_at).to.be.a('string');
      expect(proofsBefore).to.be.greaterThan(0);
      expect(await proofCount(), 'every proof is kept').to.equal(proofsBefore);
      const records = await service.ctx.db('audit_records').where({ registered_mail_id: mailId, operation: 'SendRegisteredMail' }).first();
      expect(records.payload_sha256, 'the record keeps the digest of the purged request').to.match(/^[0-9a-f]{64}$/);
      expect(Number((await service.ctx.db('documents').count({ n: '*' }))[0]!.n), 'the other mail keeps its document').to.be.greaterThan(0);
    });

    it('is itself a record: who, what, and the digest that remains', async () => {
      const rows = await recordsAfter(service.ctx.db, lastBeforePurge);
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ operation: 'PurgeDocument', outcome: 'completed', registered_mail_id: mailId, responsible: service.devPki.senders[0]!.enterpriseNumber, executor: 'ePost document retention' });
      expect(JSON.parse(rows[0].details)).to.include({ documentDigestSha256: digest, retentionDays: 30, documentsRemoved: 1, logPayloadsRemoved: 1 });
    });

    it('leaves the proofs verifiable, the evidence provably in the log, and `audit verify` passing', async () => {
      const layout = pkiLayout(service.certsDir);
      const verdict = verifyProofIndependently(sendProof, service.devPki.rootCaCert, layout.tsaCert);
      expect(verdict.xmlsec1.ok, verdict.xmlsec1.output).to.equal(true);
      expect(verdict.openssl.ok, verdict.openssl.output).to.equal(true);

      await service.ctx.audit.sealNow();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-purge-'));
      try {
        const proved = await runAudit(service, ['prove', evidenceId, '--out-dir', dir]);
        expect(proved.status, proved.stderr).to.equal(0);
        const checked = await run('/usr/bin/python3', [CHECKER, path.join(dir, 'inclusion-proof.json'), evidenceId]);
        expect(checked.status, checked.stdout).to.equal(0);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      const verified = await runAudit(service, ['verify', '--payloads']);
      expect(verified.status, verified.stdout + verified.stderr).to.equal(0);
      expect(verified.stdout).to.match(/^OK: /);
    });
  });
});
