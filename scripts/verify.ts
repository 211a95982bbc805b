// npm run verify -- <evidence.xml | bundle.zip | batch.zip> [--document <file>] [--anchor <root.pem>]... [--intermediate <ca.pem>]...
// Verifies ePost evidence offline, without the server: the XML signature (XAdES B-T), the certificate
// chain to the trusted anchor, the signature timestamp and its imprint, the event chain and sealed
// manifest of a bundle, every mail of a batch-channel batch, and the document's digest when the document is given. Prints a short verdict;
// exits 0 when valid, 1 naming what failed, 2 on a usage error. Anchors default to certs/anchors.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { loadConfig } from '../app/config/index.js';
import { BATCH_MEDIA_TYPE, verifyBatch } from '../app/batch/index.js';
import { pkiLayout } from '../app/pki/index.js';
import { archiveMediaType, EVENT_DESCRIPTIONS, isBundle, verifyEvidence, verifyEvidenceBundle, type VerifiedEvidence } from '../app/proofs/index.js';
import { fail, readFile } from './cli.js';

const usage = 'usage: npm run verify -- <evidence.xml | bundle.zip | batch.zip> [--document <file>] [--anchor <root.pem>]... [--intermediate <ca.pem>]...';

function anchorsFrom(files: string[] | undefined): { pems: string[]; from: string } {
  if (files && files.length > 0) return { pems: files.map(readFile), from: files.join(', ') };
  const dir = pkiLayout(loadConfig().certsDir).anchorsDir;
  const found = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.pem')).sort() : [];
  if (found.length === 0) fail(`no trust anchor: give --anchor <root.pem> (none under ${dir})`);
  return { pems: found.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')), from: dir };
}

function describe(e: VerifiedEvidence, index?: number): string {
  const f = e.facts;
  const n = index === undefined ? '' : `${index + 1}. `;
  return `  ${n}${f.event} at ${f.eventTime.toISOString()}: ${EVENT_DESCRIPTIONS[f.event]}\n       sealed by ${e.signerSubject}, timestamped ${e.timestamp.genTime.toISOString()} by ${e.timestamp.tsaSubject}`;
}

const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { document: { type: 'string' }, anchor: { type: 'string', multiple: true }, intermediate: { type: 'string', multiple: true } },
  });
  if (positionals.length !== 1) fail(usage);
  const file = positionals[0]!;
  if (!fs.existsSync(file)) fail(`${file}: no such file`);
  const bytes = fs.readFileSync(file);
  const anchors = anchorsFrom(values.anchor);
  const intermediates = (values.intermediate ?? []).map(readFile);
  const document = values.document ? fs.readFileSync(path.resolve(values.document)) : undefined;
  if (values.document && !document) fail(`${values.document}: no such file`);

  try {
    if (isBundle(bytes) && (await archiveMediaType(bytes)) === BATCH_MEDIA_TYPE) {
      if (document) fail('--document is for an evidence or a bundle: a batch carries its documents');
      const report = await verifyBatch(bytes, anchors.pems, { intermediatesPem: intermediates });
      console.log(`VALID: batch ${report.sequence} (${report.batchId}) for enterprise ${report.recipient.enterpriseNumber}, ${report.mails.length} registered mail(s)`);
      console.log(`  trust anchors: ${anchors.from}`);
      console.log(`  manifest sealed by ${report.manifest.signerSubject}, timestamped ${report.manifest.timestamp.genTime.toISOString()}: every file of the batch is intact`);
      for (const mail of report.mails) {
        const events = mail.bundle.evidences.map((e) => e.facts.event).join(' → ');
        console.log(`  ${mail.registeredMailId} (reference ${mail.senderReference}): ${events}; ${mail.document} matches its evidences`);
      }
      return 0;
    }
    if (isBundle(bytes)) {
      const report = await verifyEvidenceBundle(bytes, anchors.pems, { intermediatesPem: intermediates, ...(document ? { document } : {}) });
      const facts = report.evidences[0]!.facts;
      const anchorFingerprint = createHash('sha256').update(Buffer.from(report.anchor.rawData)).digest('hex');
      console.log(`VALID: evidence bundle of registered mail ${report.registeredMailId}`);
      console.log(`  trusted anchor: ${report.anchor.subject} (SHA-256 ${anchorFingerprint})`);
      console.log(`  sender ${facts.sender.name} (${facts.sender.enterpriseNumber}), reference ${facts.senderReference ?? '-'}`);
      report.evidences.forEach((e, i) => console.log(describe(e, i)));
      console.log('  event chain: each evidence references the SHA-256 of the exact bytes of the one before it');
      console.log(`  manifest sealed ${report.manifest.timestamp.genTime.toISOString()}: every file of the bundle is intact`);
      if (facts.document) {
        const d = facts.document;
        if (report.document) console.log(`  document ${report.document.path}: SHA-256 ${hex(d.digestSha256)} and ${d.size} bytes match`);
        if (report.externalDocumentMatched) console.log(`  document ${values.document}: SHA-256 ${hex(d.digestSha256)} matches`);
      }
      return 0;
    }
    const verified = await verifyEvidence(bytes, anchors.pems, intermediates);
    const facts = verified.facts;
    if (document) {
      const digest = createHash('sha256').update(document).digest('base64');
      if (!facts.document || digest !== facts.document.digestSha256) throw new Error(`the document ${values.document} does not match the SHA-256 digest the evidence attests`);
    }
    console.log(`VALID: ${facts.event} evidence ${facts.evidenceId} of registered mail ${facts.registeredMailId}`);
    console.log(`  trust anchors: ${anchors.from}`);
    console.log(describe(verified));
    if (facts.previous) console.log(`  follows ${facts.previous.event} evidence ${facts.previous.evidenceId} (verify the bundle to check that link)`);
    if (document) console.log(`  document ${values.document}: SHA-256 matches`);
    return 0;
  } catch (err) {
    console.log(`INVALID: ${(err as Error).message}`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`error: ${(err as Error)?.message ?? String(err)}`);
    process.exit(2);
  },
);
