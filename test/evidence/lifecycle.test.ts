// One registered mail through submission, delivery and opening on the real service (HTTPS, database,
// development PKI): every evidence checked by xmlsec1, openssl ts and our verifier; the mail's bundle
// verified offline by `npm run verify` and refused after a one-byte change of any of its files; and
// the PDF reproduction read back with pdftotext and pdfdetach.
import { expect } from 'chai';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Document as XmlDocument } from '@xmldom/xmldom';
import { SenderClient, type SendResult } from '../../app/client/index.js';
import { EpostError, EPOST_NS } from '../../app/errors/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import {
  evidenceBundleForSender,
  evidenceOfMail,
  followingEvidence,
  latestEvidenceOfMail,
  readEvidence,
  recordEvidence,
  reproductionForSender,
  verifyEvidence,
  verifyEvidenceBundle,
} from '../../app/proofs/index.js';
import { run } from '../helpers/run.js';
import { startTestService, testBackend, type TestService } from '../helpers/service.js';
import { bundleFiles, opensslTimestamp, reproduceCli, scratch, verifyCli, withOneByteChanged, xmlsec1 } from './tools.js';

const CITIZEN = ssinFrom('850730033');

describe(`evidence: one registered mail through submission, delivery and opening (${testBackend})`, function () {
  this.timeout(300_000);
  let service: TestService;
  let client: SenderClient;
  let work: string;
  let rootFile: string;
  const document = Buffer.from(`%PDF-1.7 Avertissement-extrait de rôle 2025 ${randomUUID()}\n`, 'utf8');
  let sent: SendResult;
  let openedAt: Date;
  /** The Evidence list of GetProofOfDelivery after the opening. */
  let evidences: Buffer[];
  let response: XmlDocument;
  let bundle: Buffer;
  let bundleFile: string;
  let documentFile: string;

  async function fetchProofs(registeredMailId: string): Promise<XmlDocument> {
    return client.post(client.sign(SenderClient.getProofOfDeliveryElement({ registeredMailId })), 'GetProofOfDelivery');
  }

  const listOf = (doc: XmlDocument, name: string): Buffer[] =>
    Array.from(doc.getElementsByTagNameNS(EPOST_NS, name)).map((el) => Buffer.from(el.textContent ?? '', 'base64'));

  before(async () => {
    service = await startTestService();
    client = service.client();
    work = scratch('epost-evidence-life-');
    rootFile = service.devPki.rootCaCert;
    sent = await client.sendRegisteredMail({
      senderReference: `evidence-${randomUUID()}`,
      recipient: { kind: 'citizen', ssin: CITIZEN },
      subject: 'Avertissement-extrait de rôle 2025',
      language: 'fr',
      document: { fileName: 'avertissement été.pdf', mimeType: 'application/pdf', content: document },
    });
    // The opening: the eBox reader comes later, so the ContentHandover is sealed through the proofs API,
    // following the mail's last evidence, and stored where GetProofOfDelivery finds it.
    openedAt = new Date();
    const previous = await latestEvidenceOfMail(service.ctx.db, sent.registeredMailId);
    const handover = await service.ctx.sealer.sealEvidence(followingEvidence(previous!, { event: 'ContentHandover', evidenceId: randomUUID(), eventTime: openedAt }));
    await recordEvidence(service.ctx.db, handover);

    response = await fetchProofs(sent.registeredMailId);
    evidences = listOf(response, 'Evidence');
    evidences.forEach((e, i) => fs.writeFileSync(path.join(work, `evidence-${i + 1}.xml`), e));
    ({ bundle } = await evidenceBundleForSender({
      db: service.ctx.db,
      sealer: service.ctx.sealer,
      senderEnterpriseNumber: service.devPki.senders[0]!.enterpriseNumber,
      registeredMailId: sent.registeredMailId,
      anchorsPem: [service.rootCaPem],
      document,
    }));
    bundleFile = path.join(work, 'bundle.zip');
    fs.writeFileSync(bundleFile, bundle);
    documentFile = path.join(work, 'document.pdf');
    fs.writeFileSync(documentFile, document);
  });

  after(async () => {
    await service?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  describe('GetProofOfDelivery', () => {
    it('returns every evidence in order (acceptance, consignment, handover), SendProof and DeliveryProof as before', () => {
      expect(evidences.map((e) => readEvidence(e.toString('utf8')).event)).to.deep.equal(['SubmissionAcceptance', 'ContentConsignment', 'ContentHandover']);
      expect(evidences[0]!.equals(sent.sendProof), 'the first evidence is the send-proof').to.equal(true);
      expect(listOf(response, 'SendProof')[0]!.equals(sent.sendProof)).to.equal(true);
      expect(listOf(response, 'DeliveryProof')[0]!.equals(evidences[1]!), 'the delivery proof is the consignment').to.equal(true);
      expect(response.getElementsByTagNameNS(EPOST_NS, 'Status').item(0)!.textContent).to.be.oneOf(['DELIVERED', 'READ']);
    });

    it('each evidence names the mail, its sender reference, the sender, the recipient and the document, and follows the one before it', () => {
      const facts = evidences.map((e) => readEvidence(e.toString('utf8')));
      for (const [i, f] of facts.entries()) {
        expect(f.registeredMailId).to.equal(sent.registeredMailId);
        expect(f.senderReference).to.match(/^evidence-/);
        expect(f.sender.enterpriseNumber).to.equal(service.devPki.senders[0]!.enterpriseNumber);
        expect(f.recipient).to.deep.equal({ kind: 'citizen', id: CITIZEN });
        expect(f.document).to.deep.equal({ fileName: 'avertissement été.pdf', mimeType: 'application/pdf', size: document.length, digestSha256: createHash('sha256').update(document).digest('base64') });
        if (i > 0) expect(f.previous).to.deep.equal({ evidenceId: facts[i - 1]!.evidenceId, event: facts[i - 1]!.event, digestSha256: createHash('sha256').update(evidences[i - 1]!).digest('base64') });
      }
      expect(facts[0]!.eventTime.toISOString()).to.equal(sent.submissionTime.toISOString());
      expect(facts[1]!.eBox).to.include({ kind: 'citizen', ownerId: CITIZEN });
      expect(facts[2]!.eventTime.toISOString()).to.equal(openedAt.toISOString());
    });

    it('lists the same evidences, in the same order, as the store', async () => {
      const stored = await evidenceOfMail(service.ctx.db, sent.registeredMailId);
      expect(stored.map((s) => s.toString('base64'))).to.deep.equal(evidences.map((e) => e.toString('base64')));
    });
  });

  describe('every evidence, independently', () => {
    for (const [i, event] of ['SubmissionAcceptance', 'ContentConsignment', 'ContentHandover'].entries()) {
      it(`${event}: xmlsec1 verifies the signature, openssl ts the token over the c14n SignatureValue, our verifier everything`, async () => {
        const file = path.join(work, `evidence-${i + 1}.xml`);
        const xmlsec = await xmlsec1(file, rootFile);
        expect(xmlsec.status, xmlsec.stderr).to.equal(0);
        expect(xmlsec.stderr + xmlsec.stdout).to.contain('SignedInfo References (ok/all): 2/2');
        const ts = await opensslTimestamp(file, rootFile);
        expect(ts.status, ts.stdout + ts.stderr).to.equal(0);
        expect(ts.stdout).to.contain('Verification: OK');
        const verified = await verifyEvidence(evidences[i]!, [service.rootCaPem]);
        expect(verified.facts.event).to.equal(event);
      });
    }
  });

  describe('npm run verify on the bundle', () => {
    it('accepts it, with the document inside and given separately, and says what it checked', async () => {
      const result = await verifyCli([bundleFile, '--anchor', rootFile, '--document', documentFile]);
      expect(result.status, result.stdout + result.stderr).to.equal(0);
      expect(result.stdout).to.match(/^VALID: evidence bundle of registered mail /);
      expect(result.stdout).to.contain(sent.registeredMailId);
      expect(result.stdout).to.match(/1\. SubmissionAcceptance[\s\S]*2\. ContentConsignment[\s\S]*3\. ContentHandover/);
      expect(result.stdout).to.contain('event chain');
      expect(result.stdout).to.match(/document document\/avertissement_ete\.pdf: SHA-256 [0-9a-f]{64} and \d+ bytes match/);
    });

    it('holds the evidences, their tokens and timestamped octets, the certificates, the document and a sealed manifest', async () => {
      expect((await bundleFiles(bundle)).sort()).to.deep.equal(
        [
          'META-INF/manifest.xml',
          'README.txt',
          'certificates/anchor.pem',
          'certificates/sealing-1.pem',
          'certificates/timestamping-1.pem',
          'document/avertissement_ete.pdf',
          'evidence/01-SubmissionAcceptance.sigvalue.c14n',
          'evidence/01-SubmissionAcceptance.tst',
          'evidence/01-SubmissionAcceptance.xml',
          'evidence/02-ContentConsignment.sigvalue.c14n',
          'evidence/02-ContentConsignment.tst',
          'evidence/02-ContentConsignment.xml',
          'evidence/03-ContentHandover.sigvalue.c14n',
          'evidence/03-ContentHandover.tst',
          'evidence/03-ContentHandover.xml',
          'mimetype',
        ].sort(),
      );
      const report = await verifyEvidenceBundle(bundle, [service.rootCaPem]);
      expect(report.evidences.map((e) => e.bytes.toString('base64'))).to.deep.equal(evidences.map((e) => e.toString('base64')));
    });

    const tamperings: Array<[string, string, RegExp]> = [
      ['an evidence', 'evidence/02-ContentConsignment.xml', /evidence\/02-ContentConsignment\.xml/],
      ['a certificate', 'certificates/sealing-1.pem', /certificates\/sealing-1\.pem/],
      ['a timestamp token', 'evidence/01-SubmissionAcceptance.tst', /evidence\/01-SubmissionAcceptance\.tst/],
      ['the timestamped octets', 'evidence/03-ContentHandover.sigvalue.c14n', /evidence\/03-ContentHandover\.sigvalue\.c14n/],
      ['the document', 'document/avertissement_ete.pdf', /document\/avertissement_ete\.pdf/],
    ];
    for (const [kind, file, names] of tamperings) {
      it(`refuses it after one byte of ${kind} is changed, naming the file (exit 1)`, async () => {
        const tampered = path.join(work, `tampered-${path.basename(file)}.zip`);
        fs.writeFileSync(tampered, await withOneByteChanged(bundle, file, Math.floor((await sizeOf(file)) / 2)));
        const result = await verifyCli([tampered, '--anchor', rootFile]);
        expect(result.status, result.stdout + result.stderr).to.equal(1);
        expect(result.stdout).to.match(/^INVALID: /);
        expect(result.stdout).to.match(names);
      });
    }

    async function sizeOf(file: string): Promise<number> {
      const { default: JSZip } = await import('jszip');
      return (await (await JSZip.loadAsync(bundle)).file(file)!.async('nodebuffer')).length;
    }

    it('refuses a change of any one byte of any file: first, middle and last byte of each (library verifier)', async () => {
      for (const file of await bundleFiles(bundle)) {
        const size = await sizeOf(file);
        for (const position of [0, Math.floor(size / 2), size - 1]) {
          const tampered = await withOneByteChanged(bundle, file, position);
          let refused: unknown;
          try {
            await verifyEvidenceBundle(tampered, [service.rootCaPem]);
          } catch (err) {
            refused = err;
          }
          expect(refused, `${file} byte ${position}`).to.be.instanceOf(EpostError);
        }
      }
    });

    it('refuses a document given separately that is not the registered one', async () => {
      const other = path.join(work, 'other.pdf');
      fs.writeFileSync(other, Buffer.concat([document, Buffer.from(' ')]));
      const result = await verifyCli([bundleFile, '--anchor', rootFile, '--document', other]);
      expect(result.status).to.equal(1);
      expect(result.stdout).to.match(/^INVALID: The document given does not match the SHA-256 digest/);
    });

    it('refuses the bundle against another anchor', async () => {
      const result = await verifyCli([bundleFile, '--anchor', path.join(service.certsDir, 'service', 'tsa.pem')]);
      expect(result.status).to.equal(1);
      expect(result.stdout).to.match(/^INVALID: META-INF\/manifest\.xml: /);
    });
  });

  describe('npm run verify on one evidence', () => {
    it('accepts it alone, with its document', async () => {
      const result = await verifyCli([path.join(work, 'evidence-3.xml'), '--anchor', rootFile, '--document', documentFile]);
      expect(result.status, result.stdout + result.stderr).to.equal(0);
      expect(result.stdout).to.match(/^VALID: ContentHandover evidence /);
      expect(result.stdout).to.contain('document');
    });

    it('refuses it after one byte of its signed content is changed, naming the signature', async () => {
      const xml = evidences[2]!.toString('utf8');
      const tampered = path.join(work, 'evidence-3-tampered.xml');
      fs.writeFileSync(tampered, xml.replace(/<EventTime>(\d)/, (_, d: string) => `<EventTime>${(Number(d) + 1) % 10}`));
      const result = await verifyCli([tampered, '--anchor', rootFile]);
      expect(result.status).to.equal(1);
      expect(result.stdout).to.match(/^INVALID: .*signature does not verify/);
    });
  });

  describe('the readable reproduction', () => {
    let pdfFile: string;
    let text: string;
    let extracted: string;

    before(async () => {
      const { pdf } = await reproductionForSender({
        db: service.ctx.db,
        sealer: service.ctx.sealer,
        senderEnterpriseNumber: service.devPki.senders[0]!.enterpriseNumber,
        registeredMailId: sent.registeredMailId,
        anchorsPem: [service.rootCaPem],
        document,
      });
      pdfFile = path.join(work, 'reproduction.pdf');
      fs.writeFileSync(pdfFile, pdf);
      const pdftotext = await run('pdftotext', [pdfFile, '-']);
      expect(pdftotext.status, pdftotext.stderr).to.equal(0);
      text = pdftotext.stdout.replace(/\s+/g, ' ');
      extracted = path.join(work, 'attachments');
      fs.mkdirSync(extracted);
      const detach = await run('pdfdetach', ['-saveall', '-o', extracted, pdfFile]);
      expect(detach.status, detach.stderr).to.equal(0);
    });

    it('states in plain language who sent what to whom, when, delivery, opening, digests and the verdict', () => {
      const sender = service.devPki.senders[0]!;
      expect(text).to.contain(`${sender.name} (enterprise number ${sender.enterpriseNumber}) sent a registered mail to the citizen with national register number ${CITIZEN}`);
      expect(text).to.contain(`registered mail ${sent.registeredMailId}`);
      expect(text).to.contain('Subject: Avertissement-extrait de rôle 2025');
      expect(text).to.contain(createHash('sha256').update(document).digest('hex'));
      expect(text).to.match(/Submitted: ePost received and accepted the registered mail on \d+ \w+ \d{4} at [\d:.]+ UTC/);
      expect(text).to.match(/Delivered: the registered mail was placed in the recipient's citizen eBox/);
      expect(text).to.contain(`Opened: the recipient opened the document for the first time on`);
      expect(text).to.contain(`${openedAt.toISOString().slice(11, 23)} UTC`);
      expect(text).to.match(/VALID\. Every seal signature, certificate path, timestamp token and timestamp imprint is valid/);
      expect(text).to.contain('http://uri.etsi.org/19522/Event/ContentHandover');
    });

    it('carries every evidence XML and the bundle as attachments, and what is extracted verifies', async () => {
      const names = fs.readdirSync(extracted).sort();
      expect(names).to.deep.equal([
        `evidence-01-SubmissionAcceptance.xml`,
        `evidence-02-ContentConsignment.xml`,
        `evidence-03-ContentHandover.xml`,
        `evidence-bundle-${sent.registeredMailId}.zip`,
      ]);
      for (const [i, name] of names.slice(0, 3).entries()) {
        const bytes = fs.readFileSync(path.join(extracted, name));
        expect(bytes.equals(evidences[i]!), `${name} is the evidence byte for byte`).to.equal(true);
        const xmlsec = await xmlsec1(path.join(extracted, name), rootFile);
        expect(xmlsec.status, xmlsec.stderr).to.equal(0);
        await verifyEvidence(bytes, [service.rootCaPem]);
      }
      const result = await verifyCli([path.join(extracted, names[3]!), '--anchor', rootFile, '--document', documentFile]);
      expect(result.status, result.stdout + result.stderr).to.equal(0);
      expect(result.stdout).to.match(/^VALID/);
    });

    it('npm run reproduce renders it from the bundle file, and refuses a tampered bundle', async () => {
      const out = path.join(work, 'from-cli.pdf');
      const ok = await reproduceCli([bundleFile, '--anchor', rootFile, '--out', out]);
      expect(ok.status, ok.stdout + ok.stderr).to.equal(0);
      const cliText = (await run('pdftotext', [out, '-'])).stdout.replace(/\s+/g, ' ');
      expect(cliText).to.contain(`registered mail ${sent.registeredMailId}`);
      const tampered = path.join(work, 'tampered-for-pdf.zip');
      fs.writeFileSync(tampered, await withOneByteChanged(bundle, 'evidence/01-SubmissionAcceptance.xml', 500));
      const refused = await reproduceCli([tampered, '--anchor', rootFile, '--out', path.join(work, 'never.pdf')]);
      expect(refused.status).to.equal(1);
      expect(refused.stdout).to.match(/^INVALID: evidence\/01-SubmissionAcceptance\.xml/);
      expect(fs.existsSync(path.join(work, 'never.pdf'))).to.equal(false);
    });

    it('is given to the mail\'s own sender only', async () => {
      const other = service.devPki.senders[1]!;
      let refused: unknown;
      try {
        await reproductionForSender({ db: service.ctx.db, sealer: service.ctx.sealer, senderEnterpriseNumber: other.enterpriseNumber, registeredMailId: sent.registeredMailId, anchorsPem: [service.rootCaPem] });
      } catch (err) {
        refused = err;
      }
      expect(refused).to.be.instanceOf(EpostError);
      expect((refused as EpostError).code).to.equal('UnknownRegisteredMail');
    });
  });
});
