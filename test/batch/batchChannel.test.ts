// The batch channel, end to end against the real service: an enterprise user chooses it over HTTPS;
// registered mails delivered afterwards are assembled into a sealed batch that our verifier (and
// xmlsec1 for its manifest) accepts, written to the enterprise's outbox folder, announced by a notice
// in its eBox; the batch is downloaded over HTTPS (resumable with Range), its pick-up acknowledged by
// SHA-256 hands each mail over with ContentHandover evidence exactly once; batches are idempotent,
// rebuilt identically after an interruption, and refused by the verifier when altered.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import JSZip from 'jszip';
import { createMandate } from '../../app/access/mandates.js';
import { defineMessageType } from '../../app/ebox/index.js';
import { assembleBatch, assembleDueBatches, batchArchive, pickUpBatch, sweepOutboxes, verifyBatch, type BatchSummary } from '../../app/batch/index.js';
import { EpostError } from '../../app/errors/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { pkiLayout, readPemTexts } from '../../app/pki/index.js';
import { verifyEvidence } from '../../app/proofs/index.js';
import { readerFor, records, sendMail, startEboxService, ENTERPRISE_BASE, type EboxTestBed, type ReaderClient, type SentMail } from '../ebox/helpers.js';
import { run } from '../helpers/run.js';

const BASE = '/batches/v1/enterprises';
const CHECK_BATCH = fileURLToPath(new URL('./check_batch.py', import.meta.url));
const MANDATARY = ssinFrom('750101002');
const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('batch channel (sealed batches, outbox, HTTPS pull, pick-up evidence)', function () {
  let bed: EboxTestBed;
  let employer: string;
  let outbox: string;
  let anchors: string[];
  let first: BatchSummary;
  let mails: SentMail[];
  let mandatary: ReaderClient;
  const ctx = () => bed.service.ctx;
  const batchFile = (b: BatchSummary) => path.join(outbox, employer, b.fileName);
  const handovers = async (ids: string[]) => Number((await ctx().db('proofs').whereIn('registered_mail_id', ids).where({ kind: 'ContentHandover' }).count({ n: '*' }))[0]!.n);

  /** The queue depths /metrics reports (read from the database at scrape time). */
  const queueDepths = async (): Promise<Record<string, number>> => {
    const text = (await bed.enterpriseUser.at(bed.service.baseUrl).get('/metrics')).text();
    return Object.fromEntries([...text.matchAll(/^epost_queue_depth\{queue="([a-z_]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
  };

  before(async () => {
    outbox = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-outbox-'));
    // The interval is long: these tests drive assembly and sweeps themselves, step by step.
    bed = await startEboxService({ EPOST_OUTBOX_DIR: outbox, EPOST_BATCH_INTERVAL: '3600', EPOST_BATCH_MAX_BYTES: '1024' });
    employer = bed.readers.enterpriseUser.enterpriseNumber;
    anchors = readPemTexts(pkiLayout(bed.service.certsDir).anchorsDir);
  });
  after(async () => {
    await bed?.service.close();
    fs.rmSync(outbox, { recursive: true, force: true });
  });

  it('an enterprise user chooses the batch channel over HTTPS; choosing again changes nothing; the choice is logged', async () => {
    await sendMail(bed.service, { kind: 'enterprise', enterpriseNumber: employer }, { subject: 'Before the choice' });
    const chosen = await bed.enterpriseUser.request('PUT', `${BASE}/${employer}/subscription`);
    expect(chosen.status, chosen.text()).to.equal(201);
    expect(chosen.json()).to.include({ enterpriseNumber: employer, batchChannel: true });
    const again = await bed.enterpriseUser.request('PUT', `${BASE}/${employer}/subscription`);
    expect(again.status).to.equal(200);
    expect(again.json().chosenAt).to.equal(chosen.json().chosenAt);
    const logged = (await records(bed.service, 'ChooseBatchChannel')).filter((r) => r.outcome === 'completed');
    expect(logged).to.have.length(1);
    expect(logged[0]).to.include({ responsible: employer, recipient: `enterprise:${employer}` });
    expect(logged[0]!.executor).to.contain(bed.readers.enterpriseUser.name);
    expect(logged[0]!.details).to.include({ change: 'choose', capacity: 'enterpriseUser' });
    // A mail delivered before the choice stays in the eBox only.
    expect(await assembleDueBatches(ctx())).to.deep.equal([]);
  });

  it('mails delivered afterwards make one sealed batch, verified by our verifier, with each document and evidence bundle', async () => {
    const nsso = bed.service.devPki.senders[1]!;
    mails = [
      await sendMail(bed.service, { kind: 'enterprise', enterpriseNumber: employer }, { subject: 'Payslips March', fileName: 'fiches de paie.pdf' }),
      await sendMail(bed.service, { kind: 'enterprise', enterpriseNumber: employer }, { sender: nsso.slug, subject: 'Contributions Q1' }),
      await sendMail(bed.service, { kind: 'enterprise', enterpriseNumber: employer }, { subject: 'Withholding tax' }),
    ];
    await sendMail(bed.service, { kind: 'citizen', ssin: bed.readers.citizen.ssin }, { subject: 'Not for the employer' });
    expect(await queueDepths()).to.include({ batch_channel_mails_waiting: 3, batches_unwritten: 0 });
    const made = await assembleDueBatches(ctx());
    expect(await queueDepths()).to.include({ batch_channel_mails_waiting: 0, batches_unwritten: 1, batches_awaiting_pickup: 1 });
    expect(made).to.have.length(1);
    first = made[0]!;
    expect(first).to.include({ enterpriseNumber: employer, sequence: 1, mailCount: 3 });

    const archive = await batchArchive(ctx(), first.batchId);
    expect(sha256Hex(archive)).to.equal(first.archiveSha256);
    const report = await verifyBatch(archive, anchors);
    expect(report).to.include({ batchId: first.batchId, sequence: 1 });
    expect(report.recipient).to.deep.equal({ kind: 'enterprise', enterpriseNumber: employer });
    expect(report.mails.map((m) => m.registeredMailId)).to.deep.equal(mails.map((m) => m.registeredMailId));
    for (const mail of report.mails) expect(mail.bundle.evidences.map((e) => e.facts.event)).to.deep.equal(['SubmissionAcceptance', 'ContentConsignment']);
    const zip = await JSZip.loadAsync(archive);
    const manifest = JSON.parse(await zip.file('manifest.json')!.async('string'));
    expect(manifest.mails[0].document.path).to.equal(`mails/${mails[0]!.registeredMailId}/fiches_de_paie.pdf`);
    for (const [i, mail] of mails.entries()) {
      expect((await zip.file(manifest.mails[i].document.path)!.async('nodebuffer')).equals(mail.content)).to.equal(true);
    }
    const assembled = await records(bed.service, 'AssembleBatch');
    expect(assembled.map((r) => r.registered_mail_id)).to.deep.equal(mails.map((m) => m.registeredMailId));
    expect(assembled[0]!.details).to.include({ batchId: first.batchId, sequence: 1, archiveSha256: first.archiveSha256 });
  });

  it('the batch is written to the enterprise outbox; `npm run verify`, xmlsec1 and an independent Python check accept it', async () => {
    const sweep = await sweepOutboxes(ctx());
    expect(sweep.failures).to.deep.equal([]);
    expect(sweep.written).to.deep.equal([batchFile(first)]);
    const written = fs.readFileSync(batchFile(first));
    expect(sha256Hex(written)).to.equal(first.archiveSha256);
    expect(fs.readdirSync(path.join(outbox, employer)).filter((f) => f.endsWith('.part'))).to.deep.equal([]);

    const verified = await run('npx', ['tsx', 'scripts/verify.ts', batchFile(first), '--anchor', bed.service.devPki.rootCaCert], { timeoutMs: 120_000 });
    expect(verified.status, verified.stdout + verified.stderr).to.equal(0);
    expect(verified.stdout).to.contain(`VALID: batch 1 (${first.batchId}) for enterprise ${employer}, 3 registered mail(s)`);

    // The sealed manifest, checked by a verifier that shares no code with ePost.
    const manifestFile = path.join(outbox, 'manifest.xml');
    fs.writeFileSync(manifestFile, await (await JSZip.loadAsync(written)).file('META-INF/manifest.xml')!.async('nodebuffer'));
    const xmlsec = await run('xmlsec1', ['--verify', '--trusted-pem', bed.service.devPki.rootCaCert, manifestFile]);
    expect(xmlsec.status, xmlsec.stderr).to.equal(0);
    // And the whole batch: every file against that manifest, every evidence of every mail (Python, lxml, xmlsec1).
    const independent = await run('/usr/bin/python3', [CHECK_BATCH, batchFile(first), bed.service.devPki.rootCaCert], { timeoutMs: 120_000 });
    expect(independent.status, independent.stdout + independent.stderr).to.equal(0);
    expect(independent.stdout).to.contain('OK 8 files');
  });

  it('a notice in the enterprise eBox announces the batch (not a registered mail), saying how to take it', async () => {
    const row = await ctx().db('batches').where({ id: first.batchId }).first('notice_message_id');
    const headers = { 'ebox-enterprise-number': employer };
    const notices = await bed.enterpriseUser.get(`${ENTERPRISE_BASE}/ebox/messages?registeredMail=false`, headers);
    expect(notices.status, notices.text()).to.equal(200);
    const notice = notices.json().items.find((m: { messageId: string }) => m.messageId === row.notice_message_id);
    expect(notice, JSON.stringify(notices.json())).to.not.equal(undefined);
    expect(notice.registeredMail).to.equal(false);
    expect(JSON.stringify(notice.subject)).to.contain('3');
    const text = await bed.enterpriseUser.get(`${ENTERPRISE_BASE}/ebox/messages/${notice.messageId}/attachments/${notice.attachments.items[0].attachmentId}/content`, headers);
    expect(text.status, text.text()).to.equal(200);
    expect(text.text()).to.contain(first.archiveSha256).and.contain(first.fileName).and.contain(`/batches/v1/enterprises/${employer}/batches/${first.batchId}`);
    // Every mandatary sees the notice, whatever its scope: it names no mail (subjects stay in the batch).
    for (const subject of ['Payslips March', 'Contributions Q1', 'Withholding tax']) expect(text.text()).to.not.contain(subject);
  });

  it('is idempotent: nothing is batched twice; a later mail goes into batch 2', async () => {
    expect(await assembleDueBatches(ctx())).to.deep.equal([]);
    const later = await sendMail(bed.service, { kind: 'enterprise', enterpriseNumber: employer }, { subject: 'Later' });
    // Two assemblers at once (on PostgreSQL: two connections racing): one batch, the mail in it once.
    const raced = (await Promise.all([assembleBatch(ctx(), employer), assembleBatch(ctx(), employer)])).filter((b) => b !== undefined);
    expect(raced).to.have.length(1);
    expect(raced[0]).to.include({ sequence: 2, mailCount: 1 });
    const inBatches = await ctx().db('batch_mails').where({ registered_mail_id: later.registeredMailId }).count({ n: '*' });
    expect(Number(inBatches[0]!.n)).to.equal(1);
  });

  it('is listed and downloaded over HTTPS; an interrupted download resumes with Range to the same bytes', async () => {
    const list = await bed.enterpriseUser.get(`${BASE}/${employer}/batches`);
    expect(list.status, list.text()).to.equal(200);
    expect(list.json().items.map((b: { sequence: number }) => b.sequence)).to.deep.equal([2, 1]);
    const href = list.json().items[1].href;
    const whole = await bed.enterpriseUser.get(href);
    expect(whole.status).to.equal(200);
    expect(whole.headers['content-type']).to.contain('application/vnd.epost.batch+zip');
    expect(whole.headers.etag).to.equal(`"${first.archiveSha256}"`);
    expect(sha256Hex(whole.body)).to.equal(first.archiveSha256);
    const head = await bed.enterpriseUser.get(href, { range: 'bytes=0-999' });
    expect(head.status).to.equal(206);
    expect(head.headers['content-range']).to.equal(`bytes 0-999/${whole.body.length}`);
    const rest = await bed.enterpriseUser.get(href, { range: `bytes=${head.body.length}-`, 'if-range': `"${first.archiveSha256}"` });
    expect(rest.status).to.equal(206);
    expect(Buffer.concat([head.body, rest.body]).equals(whole.body)).to.equal(true);
    const beyond = await bed.enterpriseUser.get(href, { range: `bytes=${whole.body.length}-` });
    expect(beyond.status).to.equal(416);
    // The outbox copy is served when intact; one altered in the recipient's folder is not: the batch is rebuilt.
    fs.writeFileSync(batchFile(first), Buffer.concat([whole.body.subarray(0, 100), Buffer.from('altered'), whole.body.subarray(107)]));
    const rebuilt = await bed.enterpriseUser.get(href);
    expect(rebuilt.body.equals(whole.body)).to.equal(true);
    fs.writeFileSync(batchFile(first), whole.body);
    const downloads = (await records(bed.service, 'DownloadDocument')).filter((r) => r.details.batchId === first.batchId);
    expect(downloads.length).to.be.greaterThanOrEqual(3);
    expect(downloads[0]!.executor).to.contain(bed.readers.enterpriseUser.name);
  });

  it('pick-up: a wrong SHA-256 is refused; the right one gives one verifying ContentHandover per mail; a repeat changes nothing', async () => {
    const ids = mails.map((m) => m.registeredMailId);
    const pickup = `${BASE}/${employer}/batches/${first.batchId}/pickup`;
    const wrong = await bed.enterpriseUser.request('POST', pickup, { body: JSON.stringify({ archiveSha256: '0'.repeat(64) }), headers: { 'content-type': 'application/json' } });
    expect(wrong.status).to.equal(400);
    expect(wrong.headers['content-type']).to.contain('application/problem+json');
    expect(wrong.json()).to.include({ title: 'InvalidRequest' });
    expect(await handovers(ids)).to.equal(0);

    // One mail opened in the eBox first: it was handed over then, and is not handed over twice.
    const opened = await bed.enterpriseUser.get(`${ENTERPRISE_BASE}/ebox/messages/${mails[2]!.messageId}/attachments/document/content`, { 'ebox-enterprise-number': employer });
    expect(opened.status).to.equal(200);
    expect(await handovers(ids)).to.equal(1);

    const right = await bed.enterpriseUser.request('POST', pickup, { body: JSON.stringify({ archiveSha256: first.archiveSha256 }), headers: { 'content-type': 'application/json' } });
    expect(right.status, right.text()).to.equal(201);
    const result = right.json();
    expect(result.firstPickUp).to.equal(true);
    expect(result.mails.map((m: { registeredMailId: string }) => m.registeredMailId)).to.deep.equal(ids);
    expect(result.mails[2].handoverEvidenceId).to.equal(null);
    expect(await handovers(ids)).to.equal(3);
    for (const m of result.mails.slice(0, 2)) {
      const proof = await ctx().db('proofs').where({ id: m.handoverEvidenceId }).first('sealed_xml');
      const verified = await verifyEvidence(Buffer.from(proof.sealed_xml), anchors);
      expect(verified.facts).to.include({ event: 'ContentHandover', registeredMailId: m.registeredMailId });
    }
    const statuses = await ctx().db('registered_mails').whereIn('id', ids).pluck('status');
    expect(statuses).to.deep.equal(['READ', 'READ', 'READ']);
    const picked = await records(bed.service, 'PickUpBatch');
    expect(picked.filter((r) => r.outcome === 'completed').map((r) => r.registered_mail_id)).to.deep.equal(ids);
    expect(picked.find((r) => r.outcome === 'refused')!.disturbance_code).to.equal('InvalidRequest');

    const repeat = await bed.enterpriseUser.request('POST', pickup, { body: JSON.stringify({ archiveSha256: first.archiveSha256 }) });
    expect(repeat.status).to.equal(200);
    expect(repeat.json()).to.deep.include({ firstPickUp: false, mails: result.mails, pickedUpAt: result.pickedUpAt });
    expect(await handovers(ids)).to.equal(3);
  });

  it('a batch whose file was lost before it was written is rebuilt byte for byte by the next sweep', async () => {
    const second = (await ctx().db('batches').where({ enterprise_number: employer, sequence: 2 }).first())!;
    // As after a crash between the commit and the write: no file, not marked written.
    expect(second.written_at).to.equal(null);
    const sweep = await sweepOutboxes(ctx());
    expect(sweep.failures).to.deep.equal([]);
    const file = path.join(outbox, employer, second.file_name);
    expect(sweep.written).to.deep.equal([file]);
    const firstBytes = fs.readFileSync(file);
    fs.rmSync(file);
    await ctx().db('batches').where({ id: second.id }).update({ written_at: null, written_to: null });
    await sweepOutboxes(ctx());
    expect(fs.readFileSync(file).equals(firstBytes)).to.equal(true);
    expect(sha256Hex(firstBytes)).to.equal(second.archive_sha256);
  });

  it('the outbox acknowledgement file picks a batch up; a wrong one is set aside and reported', async () => {
    const second = (await ctx().db('batches').where({ enterprise_number: employer, sequence: 2 }).first())!;
    const file = path.join(outbox, employer, second.file_name);
    fs.writeFileSync(`${file}.ack`, 'f'.repeat(64));
    const refused = await sweepOutboxes(ctx());
    expect(refused.failures).to.have.length(1);
    expect(refused.failures[0]).to.contain('SHA-256');
    expect(fs.existsSync(`${file}.ack.refused`)).to.equal(true);
    fs.writeFileSync(`${file}.ack`, `${second.archive_sha256}\n`);
    const taken = await sweepOutboxes(ctx());
    expect(taken.pickedUp).to.deep.equal([second.id]);
    const row = await ctx().db('batches').where({ id: second.id }).first('picked_up_at', 'picked_up_by');
    expect(row.picked_up_by).to.contain('outbox acknowledgement');
    expect((await sweepOutboxes(ctx())).pickedUp).to.deep.equal([]);
  });

  it('the verifier (and the independent check) refuses an altered document, a removed mail and a foreign anchor, naming what failed', async () => {
    const archive = fs.readFileSync(batchFile(first));
    const refusal = async (bytes: Buffer, trust = anchors) => {
      try {
        await verifyBatch(bytes, trust);
      } catch (err) {
        expect(err).to.be.instanceOf(EpostError);
        return (err as EpostError).message;
      }
      throw new Error('the altered batch was accepted');
    };
    const altered = await JSZip.loadAsync(archive);
    const docPath = `mails/${mails[1]!.registeredMailId}/avertissement.pdf`;
    altered.file(docPath, Buffer.from('%PDF-1.7 forged'));
    const alteredBytes = await altered.generateAsync({ type: 'nodebuffer' });
    expect(await refusal(alteredBytes)).to.contain(docPath);
    const alteredFile = path.join(outbox, 'altered.zip');
    fs.writeFileSync(alteredFile, alteredBytes);
    const independent = await run('/usr/bin/python3', [CHECK_BATCH, alteredFile, bed.service.devPki.rootCaCert], { timeoutMs: 120_000 });
    expect(independent.status).to.equal(1);
    expect(independent.stdout).to.contain(`FAILED: ${docPath}`);
    const removed = await JSZip.loadAsync(archive);
    removed.remove(`mails/${mails[0]!.registeredMailId}/evidence.zip`);
    expect(await refusal(await removed.generateAsync({ type: 'nodebuffer' }))).to.contain('missing');
    expect(await refusal(archive, [fs.readFileSync(bed.readers.citizenCaCert, 'utf8')])).to.contain('META-INF/manifest.xml');
  });

  it('refuses callers without a right: no certificate (401), a stranger (403), a mandatary whose mandate does not cover the batch (403), all logged', async () => {
    const anonymous = await bed.enterpriseUser.at(bed.service.baseUrl).get(`${BASE}/${employer}/batches`);
    expect(anonymous.status).to.equal(401);
    const stranger = await readerFor(bed.service, { ssin: ssinFrom('920412311'), name: 'Stranger' });
    const strangerAnswer = await stranger.get(`${BASE}/${employer}/batches`);
    expect(strangerAnswer.status).to.equal(403);
    expect(strangerAnswer.json()).to.include({ title: 'NotAuthorized' });
    const strangerChoice = await stranger.request('DELETE', `${BASE}/${employer}/subscription`);
    expect(strangerChoice.status).to.equal(403);

    const admin = { db: ctx().db, audit: ctx().audit, now: () => ctx().now() };
    await defineMessageType(admin, { id: 'SOME_OTHER_TYPE', name: { en: 'Some other type' } }, 'test set-up');
    await createMandate(
      admin,
      { mandatorEnterpriseNumber: employer, mandatary: { kind: 'person', ssin: MANDATARY }, messageTypeIds: ['SOME_OTHER_TYPE'], validFrom: new Date(Date.now() - 60_000) },
      'test set-up',
    );
    mandatary = await readerFor(bed.service, { ssin: MANDATARY, name: 'Mandatary' });
    expect((await mandatary.get(`${BASE}/${employer}/batches`)).status).to.equal(200);
    const download = await mandatary.get(`${BASE}/${employer}/batches/${first.batchId}`);
    expect(download.status).to.equal(403);
    expect(download.json().detail).to.contain('mandate');
    const refusals = [...(await records(bed.service, 'ListEboxMessages')), ...(await records(bed.service, 'DownloadDocument'))].filter((r) => r.outcome === 'refused' && r.details.batchChannel);
    expect(refusals.map((r) => r.disturbance_code)).to.include.members(['FailedAuthentication', 'NotAuthorized']);
  });

  it('a batch is bounded in document bytes (it is built in memory): the mails that do not fit go into the next one; racing pick-ups hand over once', async () => {
    const big = [0, 1].map((i) => Buffer.alloc(800, 65 + i));
    const sent = [];
    for (const content of big) sent.push(await sendMail(bed.service, { kind: 'enterprise', enterpriseNumber: employer }, { content, fileName: 'big.txt', mimeType: 'text/plain' }));
    const made = await assembleDueBatches(ctx());
    expect(made.map((b) => b.mailCount)).to.deep.equal([1, 1]);
    expect(made.map((b) => b.sequence)).to.deep.equal([3, 4]);

    // Two acknowledgements of batch 3 at once (on PostgreSQL: two connections racing): one pick-up,
    // one handover evidence, and both answers name it.
    const by = { executor: 'test', channel: 'https' as const, capacity: 'enterpriseUser', archiveSha256: made[0]!.archiveSha256 };
    const [a, b] = await Promise.all([pickUpBatch(ctx(), employer, made[0]!.batchId, by), pickUpBatch(ctx(), employer, made[0]!.batchId, by)]);
    expect([a.firstPickUp, b.firstPickUp].sort()).to.deep.equal([false, true]);
    expect(a.mails).to.deep.equal(b.mails);
    expect(a.mails[0]!.handoverEvidenceId).to.be.a('string');
    expect(await handovers([sent[0]!.registeredMailId])).to.equal(1);
  });

  it('leaving the channel stops batching; the batches made stay available; a mandatary may choose it again', async () => {
    const left = await bed.enterpriseUser.request('DELETE', `${BASE}/${employer}/subscription`);
    expect(left.status).to.equal(204);
    await sendMail(bed.service, { kind: 'enterprise', enterpriseNumber: employer }, { subject: 'After leaving' });
    expect(await assembleDueBatches(ctx())).to.deep.equal([]);
    expect((await bed.enterpriseUser.get(`${BASE}/${employer}/batches`)).json().items).to.have.length(4);
    const status = await bed.enterpriseUser.get(`${BASE}/${employer}/subscription`);
    expect(status.json()).to.include({ batchChannel: false });

    // A mandatary of the enterprise may choose it for the enterprise too; the record names its mandate.
    const again = await mandatary.request('PUT', `${BASE}/${employer}/subscription`);
    expect(again.status, again.text()).to.equal(201);
    const choice = (await records(bed.service, 'ChooseBatchChannel')).filter((r) => r.outcome === 'completed').at(-1)!;
    expect(choice.executor).to.contain('Mandatary');
    expect(choice.details.capacity).to.match(/^mandatary \(mandates [0-9a-f-]+\)$/);
  });
});

describe('batch channel run by the service itself, and its admin command', function () {
  let bed: EboxTestBed;
  let outbox: string;
  before(async () => {
    outbox = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-outbox-'));
    bed = await startEboxService({ EPOST_OUTBOX_DIR: outbox, EPOST_BATCH_INTERVAL: '1' });
  });
  after(async () => {
    await bed?.service.close();
    fs.rmSync(outbox, { recursive: true, force: true });
  });

  it('`npm run admin -- batch-channel choose|list|batches|leave` (logged, refusals exit 1, usage 2); the service batches and writes a delivered mail by itself', async () => {
    const employer = bed.readers.enterpriseUser.enterpriseNumber;
    const env = { ...process.env, ...bed.service.databaseEnv, EPOST_CERTS_DIR: bed.service.certsDir, EPOST_OUTBOX_DIR: outbox };
    const own = path.join(outbox, 'secretariat-share');
    const chosen = await run('npx', ['tsx', 'scripts/admin.ts', 'batch-channel', 'choose', employer, '--outbox', own, '--json', '--by', 'operator-1'], { env, timeoutMs: 120_000 });
    expect(chosen.status, chosen.stderr).to.equal(0);
    expect(JSON.parse(chosen.stdout)).to.include({ enterpriseNumber: employer, outboxDir: own, changed: true });
    const relative = await run('npx', ['tsx', 'scripts/admin.ts', 'batch-channel', 'choose', employer, '--outbox', 'relative/dir'], { env, timeoutMs: 120_000 });
    expect(relative.status).to.equal(1);
    expect(relative.stderr).to.contain('absolute');
    const usage = await run('npx', ['tsx', 'scripts/admin.ts', 'batch-channel', 'choose'], { env, timeoutMs: 120_000 });
    expect(usage.status).to.equal(2);
    const logged = (await records(bed.service, 'ChooseBatchChannel')).at(-1)!;
    expect(logged.executor).to.equal('admin:operator-1');

    const mail = await sendMail(bed.service, { kind: 'enterprise', enterpriseNumber: employer }, { subject: 'By itself' });
    const deadline = Date.now() + 30_000;
    let files: string[] = [];
    while (Date.now() < deadline) {
      files = fs.existsSync(own) ? fs.readdirSync(own).filter((f) => f.endsWith('.zip')) : [];
      if (files.length > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(files).to.deep.equal([`epost-batch-${employer}-000001.zip`]);
    const report = await verifyBatch(fs.readFileSync(path.join(own, files[0]!)), readPemTexts(pkiLayout(bed.service.certsDir).anchorsDir));
    expect(report.mails.map((m) => m.registeredMailId)).to.deep.equal([mail.registeredMailId]);

    const listed = await run('npx', ['tsx', 'scripts/admin.ts', 'batch-channel', 'batches', employer, '--json'], { env, timeoutMs: 120_000 });
    expect(listed.status, listed.stderr).to.equal(0);
    expect(JSON.parse(listed.stdout)[0]).to.include({ sequence: 1, mailCount: 1, writtenTo: path.join(own, files[0]!) });
    const channels = await run('npx', ['tsx', 'scripts/admin.ts', 'batch-channel', 'list'], { env, timeoutMs: 120_000 });
    expect(channels.status, channels.stderr).to.equal(0);
    expect(channels.stdout).to.contain(employer).and.contain(own);

    const left = await run('npx', ['tsx', 'scripts/admin.ts', 'batch-channel', 'leave', employer, '--json', '--by', 'operator-2'], { env, timeoutMs: 120_000 });
    expect(left.status, left.stderr).to.equal(0);
    expect(JSON.parse(left.stdout)).to.deep.equal({ enterpriseNumber: employer, left: true });
    const leftAgain = await run('npx', ['tsx', 'scripts/admin.ts', 'batch-channel', 'leave', employer], { env, timeoutMs: 120_000 });
    expect(leftAgain.status).to.equal(0);
    expect(leftAgain.stdout).to.contain('was not on the batch channel');
    const leaving = (await records(bed.service, 'ChooseBatchChannel')).filter((r) => r.details.change === 'leave');
    expect(leaving).to.have.length(1);
    expect(leaving[0]).to.include({ executor: 'admin:operator-2', responsible: employer });
    const invalid = await run('npx', ['tsx', 'scripts/admin.ts', 'batch-channel', 'choose', '12345', '--json'], { env, timeoutMs: 120_000 });
    expect(invalid.status).to.equal(1);
    expect(JSON.parse(invalid.stdout).error).to.include({ code: 'InvalidRequest' });
  });
});
