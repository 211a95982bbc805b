// The processing log through the real service (HTTPS, development PKI, built-in TSA, a fresh
// database): each kind of processing leaves exactly one record with the required fields, records
// commit with their step, tree heads are signed and timestamped on their own, and what the log
// proves is checked with tools that share no code with ePost: openssl for the tree heads, a small
// Python RFC 6962 checker for inclusion and consistency proofs.
import { expect } from 'chai';
import { createHash, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SenderClient, SoapFault } from '../../app/client/index.js';
import { run } from '../helpers/run.js';
import { pkiLayout, startTestService, testBackend, type TestService } from '../helpers/service.js';
import { CITIZEN, lastRecordId, recordsAfter, runAudit, submission } from './helpers.js';

const CHECKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rfc6962_check.py');
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** Posts a signed SendRegisteredMail envelope and returns it with the registered-mail id of the answer. */
async function sendSigned(client: SenderClient, overrides = {}): Promise<{ envelope: string; registeredMailId: string; senderReference: string }> {
  const mail = submission(overrides);
  const envelope = client.sign(SenderClient.sendRegisteredMailElement(mail));
  const answer = await client.post(envelope, 'SendRegisteredMail');
  const registeredMailId = answer.getElementsByTagNameNS('*', 'RegisteredMailId')[0]!.textContent!;
  return { envelope, registeredMailId, senderReference: mail.senderReference };
}

describe(`processing log (HTTPS, ${testBackend}, development PKI)`, function () {
  let service: TestService;
  let client: SenderClient;
  let senderFingerprint: string;

  before(async () => {
    // Tree heads on demand (sealNow) in this file, so each test knows what is covered.
    service = await startTestService({ EPOST_LOG_TREE_INTERVAL: '3600' });
    client = service.client();
    senderFingerprint = sha256(new X509Certificate(fs.readFileSync(service.devPki.senders[0]!.certFile)).raw);
  });
  after(async () => service?.close());

  describe('every processing step leaves exactly one record', () => {
    it('an accepted send: one SendRegisteredMail record with the signed request attached, and one DeliverIntoEbox record', async () => {
      const before = await lastRecordId(service.ctx.db);
      const { envelope, registeredMailId, senderReference } = await sendSigned(client);
      const rows = await recordsAfter(service.ctx.db, before);
      expect(rows.map((r) => r.operation)).to.deep.equal(['SendRegisteredMail', 'DeliverIntoEbox']);
      const [send, delivery] = rows;

      expect(send.recorded_at).to.match(ISO_MS);
      expect(send).to.include({
        outcome: 'accepted',
        responsible: service.devPki.senders[0]!.enterpriseNumber,
        executor_fingerprint: senderFingerprint,
        registered_mail_id: registeredMailId,
        recipient: `citizen:${CITIZEN}`,
        disturbance_code: null,
        payload_sha256: sha256(envelope),
      });
      expect(send.executor).to.contain('ePost sender');
      expect(Number(send.payload_size)).to.equal(Buffer.byteLength(envelope));
      const proofs = await service.ctx.db('proofs').where({ registered_mail_id: registeredMailId }).select('id', 'sealed_xml');
      expect(proofs.map((p) => p.id), 'the record names a stored evidence').to.include(send.evidence_id);

      // The signed request is kept whole, encrypted at rest, bound to its record.
      const stored = await service.ctx.db('audit_payloads').where({ record_id: send.id }).first();
      expect(Buffer.from(stored.ciphertext).includes(Buffer.from(senderReference))).to.equal(false);
      expect((await service.ctx.audit.payload(Number(send.id)))!.toString('utf8')).to.equal(envelope);

      expect(delivery.recorded_at).to.match(ISO_MS);
      expect(delivery).to.include({ outcome: 'completed', responsible: send.responsible, executor: 'ePost eBox delivery', registered_mail_id: registeredMailId, recipient: `citizen:${CITIZEN}` });
      expect(proofs.map((p) => p.id)).to.include(delivery.evidence_id);
      expect(delivery.evidence_id).to.not.equal(send.evidence_id);
    });

    it('a proof fetch: one GetProofOfDelivery record', async () => {
      const { registeredMailId } = await sendSigned(client);
      const before = await lastRecordId(service.ctx.db);
      await client.getProofOfDelivery({ registeredMailId });
      const rows = await recordsAfter(service.ctx.db, before);
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ operation: 'GetProofOfDelivery', outcome: 'accepted', registered_mail_id: registeredMailId, recipient: `citizen:${CITIZEN}`, executor_fingerprint: senderFingerprint });
      expect(rows[0].payload_sha256).to.match(/^[0-9a-f]{64}$/);
    });

    it('an idempotent retry: one SendRegisteredMail record that says so, and no second delivery', async () => {
      const mail = submission();
      const first = await client.sendRegisteredMail(mail);
      const before = await lastRecordId(service.ctx.db);
      await client.sendRegisteredMail(mail);
      const rows = await recordsAfter(service.ctx.db, before);
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ operation: 'SendRegisteredMail', outcome: 'accepted', registered_mail_id: first.registeredMailId });
      expect(JSON.parse(rows[0].details)).to.deep.equal({ idempotentRetry: true });
    });

    it('a refused request: one disturbance record with the fault, its reason and the request digest', async () => {
      const unsigned =
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/><soap:Body>' +
        SenderClient.sendRegisteredMailElement(submission()) +
        '</soap:Body></soap:Envelope>';
      const before = await lastRecordId(service.ctx.db);
      const fault = await client.post(unsigned, 'SendRegisteredMail').catch((e: unknown) => e);
      expect(fault).to.be.instanceOf(SoapFault);
      const rows = await recordsAfter(service.ctx.db, before);
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ operation: 'SoapRequest', outcome: 'refused', disturbance_code: 'InvalidSecurity', executor: null, payload_sha256: sha256(unsigned) });
      expect(rows[0].disturbance_reason).to.equal((fault as SoapFault).reason);
      expect(rows[0].recorded_at).to.match(ISO_MS);
    });

    it('a refused request of an identified sender: the disturbance names the sender and the operation', async () => {
      const mail = submission();
      await client.sendRegisteredMail(mail);
      const before = await lastRecordId(service.ctx.db);
      const fault = await client.sendRegisteredMail({ ...mail, subject: 'Other content' }).catch((e: unknown) => e);
      expect((fault as SoapFault).code).to.equal('DuplicateReference');
      const rows = await recordsAfter(service.ctx.db, before);
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({
        operation: 'SendRegisteredMail',
        outcome: 'refused',
        disturbance_code: 'DuplicateReference',
        responsible: service.devPki.senders[0]!.enterpriseNumber,
        executor_fingerprint: senderFingerprint,
      });
    });

    it('several steps appended at once are stored in order, each payload on its own record', async () => {
      const step = (n: number, payload?: string) => ({
        operation: 'AdministrativeChange' as const,
        outcome: 'completed' as const,
        executor: 'test',
        details: { change: `step ${n}` },
        ...(payload ? { payload: Buffer.from(payload) } : {}),
      });
      const steps = [step(1), step(2, 'payload of step 2'), step(3), step(4, 'payload of step 4'), step(5, 'payload of step 5')];
      const ids = await service.ctx.db.transaction((trx) => service.ctx.audit.append(trx, steps));
      expect(ids).to.have.length(5);
      expect([...ids].sort((a, b) => a - b)).to.deep.equal(ids);
      const rows = await service.ctx.db('audit_records').whereIn('id', ids).orderBy('id');
      expect(rows.map((r) => JSON.parse(r.details).change)).to.deep.equal(['step 1', 'step 2', 'step 3', 'step 4', 'step 5']);
      const payloads = await Promise.all(ids.map(async (id) => (await service.ctx.audit.payload(id))?.toString('utf8')));
      expect(payloads).to.deep.equal([undefined, 'payload of step 2', undefined, 'payload of step 4', 'payload of step 5']);
    });

    it('a record commits or rolls back with the transaction of its step', async () => {
      const before = await lastRecordId(service.ctx.db);
      const step = { operation: 'AdministrativeChange' as const, outcome: 'completed' as const, executor: 'test', details: { change: 'rolled back' } };
      await service.ctx.db
        .transaction(async (trx) => {
          await service.ctx.audit.append(trx, step);
          throw new Error('the step fails');
        })
        .catch(() => undefined);
      expect(await recordsAfter(service.ctx.db, before)).to.have.length(0);
      await service.ctx.db.transaction((trx) => service.ctx.audit.append(trx, { ...step, details: { change: 'committed' } }));
      expect((await recordsAfter(service.ctx.db, before)).map((r) => JSON.parse(r.details).change)).to.deep.equal(['committed']);
    });

    it('a backlog larger than one sealer transaction (250 records) is numbered in several, without a hole, under one tree head', async () => {
      await service.ctx.audit.sealNow();
      const step = (n: number) => ({ operation: 'AdministrativeChange' as const, outcome: 'completed' as const, executor: 'test', details: { change: `backlog ${n}` } });
      await service.ctx.db.transaction((trx) => service.ctx.audit.append(trx, Array.from({ length: 751 }, (_, n) => step(n))));
      const head = await service.ctx.audit.sealNow();
      const seqs = (await service.ctx.db('audit_records').orderBy('seq').select('seq')).map((r) => r.seq);
      expect(seqs.every((seq) => seq !== null), 'every record numbered').to.equal(true);
      expect(seqs.map(Number)).to.deep.equal(seqs.map((_, i) => i));
      expect(head?.treeSize).to.equal(seqs.length);
      const verified = await runAudit(service, ['verify']);
      expect(verified.status, verified.stdout + verified.stderr).to.equal(0);
    });
  });

  describe('signed tree heads and proofs, checked without our code', () => {
    let dir: string;
    let evidenceId: string;
    let registeredMailId: string;
    let firstHead: number;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-audit-proof-'));
      firstHead = (await service.ctx.audit.sealNow())?.treeSize ?? (await service.ctx.audit.latestTreeHead())!.treeSize;
      ({ registeredMailId } = await sendSigned(client));
      const record = await service.ctx.db('audit_records').where({ registered_mail_id: registeredMailId, operation: 'SendRegisteredMail' }).first();
      evidenceId = record.evidence_id;
      await service.ctx.audit.sealNow();
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('`audit prove` prints an inclusion proof that the independent RFC 6962 checker accepts, and a changed one it refuses', async () => {
      const proved = await runAudit(service, ['prove', evidenceId, '--out-dir', dir]);
      expect(proved.status, proved.stderr).to.equal(0);
      const proof = JSON.parse(proved.stdout);
      expect(proof).to.include({ evidenceId });
      expect(JSON.parse(Buffer.from(proof.leaf, 'base64').toString('utf8'))).to.include({ evidenceId, registeredMailId, operation: 'SendRegisteredMail' });

      const checked = await run('/usr/bin/python3', [CHECKER, path.join(dir, 'inclusion-proof.json'), evidenceId]);
      expect(checked.status, checked.stdout + checked.stderr).to.equal(0);
      expect(checked.stdout).to.match(/^OK: record \d+ \(SendRegisteredMail/);

      const bent = structuredClone(proof);
      bent.auditPath[0] = (bent.auditPath[0][0] === '0' ? '1' : '0') + bent.auditPath[0].slice(1);
      const bentFile = path.join(dir, 'bent-proof.json');
      fs.writeFileSync(bentFile, JSON.stringify(bent));
      const refused = await run('/usr/bin/python3', [CHECKER, bentFile, evidenceId]);
      expect(refused.status).to.equal(1);
      expect(refused.stdout).to.match(/^FAIL: the audit path leads to/);

      const otherLeaf = structuredClone(proof);
      otherLeaf.leaf = Buffer.from(Buffer.from(proof.leaf, 'base64').toString('utf8').replace('"outcome":"accepted"', '"outcome":"refused"')).toString('base64');
      delete otherLeaf.leafHash;
      fs.writeFileSync(bentFile, JSON.stringify(otherLeaf));
      expect((await run('/usr/bin/python3', [CHECKER, bentFile, evidenceId])).status, 'an edited record').to.equal(1);
    });

    it('its tree head verifies with openssl: the signature by the sealing certificate and the RFC 3161 timestamp', async () => {
      const layout = pkiLayout(service.certsDir);
      const file = (name: string) => path.join(dir, name);
      const chain = await run('openssl', ['verify', '-CAfile', service.devPki.rootCaCert, file('log-signer.pem')]);
      expect(chain.status, chain.stdout + chain.stderr).to.equal(0);
      expect(fs.readFileSync(file('log-signer.pem'), 'utf8').trim()).to.equal(fs.readFileSync(layout.sealingCert, 'utf8').trim());
      const pub = await run('openssl', ['x509', '-in', file('log-signer.pem'), '-pubkey', '-noout', '-out', file('log-signer.pub')]);
      expect(pub.status, pub.stderr).to.equal(0);
      const signature = await run('openssl', ['dgst', '-sha256', '-verify', file('log-signer.pub'), '-signature', file('tree-head.sig'), file('tree-head.bin')]);
      expect(signature.stdout + signature.stderr).to.contain('Verified OK');
      const stamp = await run('openssl', ['ts', '-verify', '-data', file('tree-head.sig'), '-in', file('tree-head.tst'), '-token_in', '-CAfile', service.devPki.rootCaCert, '-untrusted', layout.tsaCert]);
      expect(stamp.status, stamp.stdout + stamp.stderr).to.equal(0);
      expect(stamp.stdout).to.contain('Verification: OK');

      // The signed bytes are RFC 6962's TreeHeadSignature for the proof's tree head, and a changed byte fails.
      const proof = JSON.parse(fs.readFileSync(file('inclusion-proof.json'), 'utf8'));
      const signed = fs.readFileSync(file('tree-head.bin'));
      expect(signed.subarray(18).toString('hex')).to.equal(proof.treeHead.rootHash);
      expect(Number(signed.readBigUInt64BE(10))).to.equal(proof.treeSize);
      signed[20]! ^= 1;
      fs.writeFileSync(file('tree-head.bin'), signed);
      const forged = await run('openssl', ['dgst', '-sha256', '-verify', file('log-signer.pub'), '-signature', file('tree-head.sig'), file('tree-head.bin')]);
      expect(forged.status).to.not.equal(0);
    });

    it('`audit consistency` proves an earlier signed tree head a prefix of a later one, as the independent checker confirms', async () => {
      const latest = (await service.ctx.audit.latestTreeHead())!.treeSize;
      const answer = await runAudit(service, ['consistency', String(firstHead), String(latest)]);
      expect(answer.status, answer.stderr).to.equal(0);
      const proofFile = path.join(dir, 'consistency.json');
      fs.writeFileSync(proofFile, answer.stdout);
      const checked = await run('/usr/bin/python3', [CHECKER, 'consistency', proofFile]);
      expect(checked.status, checked.stdout).to.equal(0);
      const proof = JSON.parse(answer.stdout);
      expect(proof.oldRoot).to.equal((await service.ctx.audit.treeHead(firstHead))!.rootHash.toString('hex'));
      proof.oldRoot = proof.newRoot;
      fs.writeFileSync(proofFile, JSON.stringify(proof));
      expect((await run('/usr/bin/python3', [CHECKER, 'consistency', proofFile])).status).to.equal(1);
    });

    it('`audit verify` passes on the untouched log, payloads included', async () => {
      const verified = await runAudit(service, ['verify', '--payloads']);
      expect(verified.status, verified.stdout + verified.stderr).to.equal(0);
      expect(verified.stdout).to.match(/^OK: \d+ records, \d+ signed tree heads .*payloads decrypted and checked/);
    });
  });

  describe('tree heads come on their own', () => {
    it('every EPOST_LOG_TREE_INTERVAL seconds', async () => {
      const timed = await startTestService({ EPOST_LOG_TREE_INTERVAL: '1' });
      try {
        await timed.client().sendRegisteredMail(submission());
        const total = Number((await timed.ctx.db('audit_records').count({ n: '*' }))[0]!.n);
        await waitFor(async () => ((await timed.ctx.audit.latestTreeHead())?.treeSize ?? 0) >= total, 5000);
      } finally {
        await timed.close();
      }
    });

    it('as soon as EPOST_LOG_TREE_BATCH records wait, without waiting for the interval', async () => {
      const batched = await startTestService({ EPOST_LOG_TREE_INTERVAL: '3600', EPOST_LOG_TREE_BATCH: '2' });
      try {
        await batched.client().sendRegisteredMail(submission());
        await waitFor(async () => ((await batched.ctx.audit.latestTreeHead())?.treeSize ?? 0) >= 2, 5000);
      } finally {
        await batched.close();
      }
    });
  });

  describe('several instances on one database', () => {
    it('number every record once, without a hole, while sending and sealing concurrently', async () => {
      const second = await startTestService({ ...service.databaseEnv, EPOST_LOG_TREE_INTERVAL: '3600' });
      try {
        const clients = [client, second.client()];
        const logs = [service.ctx.audit, second.ctx.audit];
        await Promise.all(
          Array.from({ length: 12 }, async (_, i) => {
            await clients[i % 2]!.sendRegisteredMail(submission());
            await logs[(i + 1) % 2]!.sealNow();
          }),
        );
        await Promise.all(logs.map((l) => l.sealNow()));
        const seqs = (await service.ctx.db('audit_records').orderBy('seq').select('seq')).map((r) => r.seq);
        expect(seqs.every((s) => s !== null), 'every committed record numbered').to.equal(true);
        expect(seqs.map(Number)).to.deep.equal(seqs.map((_, i) => i));
        const verified = await runAudit(service, ['verify']);
        expect(verified.status, verified.stdout + verified.stderr).to.equal(0);
      } finally {
        await second.close();
      }
    });
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
