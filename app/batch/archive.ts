// The batch file: one ZIP per batch, sealed by ePost, for the recipient's own systems.
//
//   mimetype                                   application/vnd.epost.batch+zip (stored, first)
//   META-INF/manifest.xml                      BatchManifest sealed by ePost (XAdES B-T): batch id,
//                                              recipient, sequence, time, and every file's SHA-256
//   manifest.json                              the batch for programs: each mail's facts and paths
//   mails/<registeredMailId>/<document name>   the registered document
//   mails/<registeredMailId>/evidence.zip      the mail's evidence bundle (verifiable on its own)
//   README.txt
//
// Verification checks the seal, every file against it, manifest.json against the sealed header,
// and each mail's evidence bundle with its document and recipient.
import { EpostError } from '../errors/index.js';
import {
  checkListedDigests,
  openSealedArchive,
  safeFileName,
  sealListing,
  verifyEvidenceBundle,
  writeArchive,
  type ArchiveFile,
  type BundleReport,
  type ProofSealer,
  type VerifiedSeal,
} from '../proofs/index.js';

export const BATCH_MEDIA_TYPE = 'application/vnd.epost.batch+zip';
export const BATCH_FORMAT = 'epost-batch/1';
const BATCH_ROLES = ['batch-manifest', 'document', 'evidence-bundle', 'readme'] as const;
type BatchRole = (typeof BATCH_ROLES)[number];
const HEADER = ['BatchId', 'Recipient', 'Sequence', 'CreatedAt'] as const;
const BATCH_SHAPE = {
  what: 'batch',
  mediaType: BATCH_MEDIA_TYPE,
  rootName: 'BatchManifest',
  headerNames: HEADER,
  roles: BATCH_ROLES,
  maxBytes: 2 * 1024 * 1024 * 1024 - 1,
  maxEntries: 3 * 10_000 + 8,
} as const;

/** One registered mail as manifest.json describes it. */
export interface BatchMailEntry {
  registeredMailId: string;
  senderReference: string;
  sender: { enterpriseNumber: string; name: string };
  subject: string;
  language: string | null;
  submissionTime: string;
  deliveredAt: string;
  eBoxMessageId: string;
  document: { path: string; fileName: string; mimeType: string; size: number; digestSha256: string };
  evidenceBundle: string;
}

export interface BatchManifestJson {
  format: typeof BATCH_FORMAT;
  batchId: string;
  sequence: number;
  createdAt: string;
  recipient: { kind: 'enterprise'; enterpriseNumber: string };
  mails: BatchMailEntry[];
}

/** What a batch is made of: what is kept for it, from which the same bytes are rebuilt. */
export interface BatchContent {
  manifestJson: Buffer;
  mails: Array<{ registeredMailId: string; documentPath: string; document: Buffer; evidenceBundle: Buffer }>;
}

const README = `ePost batch
===========

This archive holds registered mails delivered to your enterprise eBox, for your own systems:
manifest.json lists them (sender, reference, subject, times, document and evidence paths);
mails/<registeredMailId>/ holds each document and its evidence bundle (evidence.zip), which
proves submission and delivery and can be verified on its own.
META-INF/manifest.xml lists every file with its SHA-256 and is sealed by ePost.

Verify the whole batch offline:
    npm run verify -- this-batch.zip [--anchor root.pem]

Acknowledge its pick-up (this produces the handover evidence of each mail) with
    POST /batches/v1/enterprises/<enterprise number>/batches/<batch id>/pickup
    {"archiveSha256": "<hex SHA-256 of this file>"}
or, from the outbox folder, by writing that hex SHA-256 into <this file name>.ack beside it.
`;

export function documentPathOf(registeredMailId: string, fileName: string): string {
  return `mails/${registeredMailId}/${safeFileName(fileName)}`;
}

export function evidenceBundlePathOf(registeredMailId: string): string {
  return `mails/${registeredMailId}/evidence.zip`;
}

function filesOf(content: BatchContent): ArchiveFile<BatchRole>[] {
  const files: ArchiveFile<BatchRole>[] = [{ path: 'manifest.json', role: 'batch-manifest', content: content.manifestJson }];
  for (const mail of content.mails) {
    files.push({ path: mail.documentPath, role: 'document', content: mail.document });
    files.push({ path: evidenceBundlePathOf(mail.registeredMailId), role: 'evidence-bundle', content: mail.evidenceBundle });
  }
  files.push({ path: 'README.txt', role: 'readme', content: Buffer.from(README, 'utf8') });
  return files;
}

/** Seals the listing of a new batch. */
export function sealBatchManifest(sealer: ProofSealer, manifest: BatchManifestJson, content: BatchContent): Promise<Buffer> {
  const header: Array<[string, string]> = [
    ['BatchId', manifest.batchId],
    ['Recipient', `enterprise:${manifest.recipient.enterpriseNumber}`],
    ['Sequence', String(manifest.sequence)],
    ['CreatedAt', manifest.createdAt],
  ];
  return sealListing(sealer, 'BatchManifest', header, filesOf(content));
}

/** The batch ZIP; the same content, seal and time always give the same bytes. */
export function writeBatchArchive(sealedManifest: Buffer, content: BatchContent, createdAt: Date): Promise<Buffer> {
  return writeArchive(BATCH_MEDIA_TYPE, sealedManifest, filesOf(content), createdAt);
}

export interface BatchReport {
  batchId: string;
  sequence: number;
  recipient: { kind: 'enterprise'; enterpriseNumber: string };
  createdAt: Date;
  manifest: VerifiedSeal;
  mails: Array<{ registeredMailId: string; senderReference: string; document: string; bundle: BundleReport }>;
}

function refuse(reason: string, cause?: unknown): never {
  throw new EpostError('FailedCheck', reason, cause);
}

function parseManifestJson(bytes: Buffer): BatchManifestJson {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    return refuse('manifest.json is not UTF-8 JSON', err);
  }
  const m = json as BatchManifestJson;
  if (m?.format !== BATCH_FORMAT || typeof m.batchId !== 'string' || !Number.isInteger(m.sequence) || !Array.isArray(m.mails) || m.recipient?.kind !== 'enterprise') {
    refuse(`manifest.json is not an ${BATCH_FORMAT} manifest`);
  }
  return m;
}

/**
 * Verifies a batch offline against the trust anchors: the sealed listing and every file's digest,
 * manifest.json against the sealed header, and for every mail its evidence bundle (seal, chain,
 * timestamps) with the document beside it, addressed to the batch's recipient. Throws
 * EpostError('FailedCheck') naming the first failure.
 */
export async function verifyBatch(bytes: Buffer, anchorsPem: string[], options: { intermediatesPem?: string[] } = {}): Promise<BatchReport> {
  const intermediates = options.intermediatesPem ?? [];
  const { files, seal, header, entries } = await openSealedArchive(bytes, BATCH_SHAPE, anchorsPem, intermediates);
  checkListedDigests(files, entries);
  const manifest = parseManifestJson(files.get('manifest.json') ?? refuse('The batch has no manifest.json'));
  const createdAt = new Date(header.CreatedAt!);
  if (
    manifest.batchId !== header.BatchId ||
    `enterprise:${manifest.recipient.enterpriseNumber}` !== header.Recipient ||
    String(manifest.sequence) !== header.Sequence ||
    manifest.createdAt !== header.CreatedAt ||
    Number.isNaN(createdAt.getTime())
  ) {
    refuse('manifest.json does not agree with the sealed batch manifest (batch, recipient, sequence or time)');
  }
  const expected = new Set(['manifest.json', 'README.txt']);
  const mails: BatchReport['mails'] = [];
  for (const mail of manifest.mails) {
    const bundlePath = evidenceBundlePathOf(mail.registeredMailId);
    if (mail.evidenceBundle !== bundlePath || !mail.document || mail.document.path !== documentPathOf(mail.registeredMailId, mail.document.fileName)) {
      refuse(`manifest.json: the paths of mail ${mail.registeredMailId} are not where a batch puts them`);
    }
    const document = files.get(mail.document.path) ?? refuse(`${mail.document.path}: listed in manifest.json but not in the batch`);
    const bundle = files.get(bundlePath) ?? refuse(`${bundlePath}: listed in manifest.json but not in the batch`);
    expected.add(mail.document.path).add(bundlePath);
    let report: BundleReport;
    try {
      report = await verifyEvidenceBundle(bundle, anchorsPem, { intermediatesPem: intermediates, document });
    } catch (err) {
      return refuse(`${bundlePath}: ${(err as Error).message}`, err);
    }
    const first = report.evidences[0]!.facts;
    if (report.registeredMailId !== mail.registeredMailId) refuse(`${bundlePath}: its evidences are of mail ${report.registeredMailId}`);
    if (first.recipient?.kind !== 'enterprise' || first.recipient.id !== manifest.recipient.enterpriseNumber) refuse(`${bundlePath}: the mail is not addressed to the batch's recipient`);
    if (!report.evidences.some((e) => e.facts.event === 'ContentConsignment')) refuse(`${bundlePath}: the mail has no delivery (ContentConsignment) evidence`);
    if (first.senderReference !== mail.senderReference || first.document?.digestSha256 !== mail.document.digestSha256) {
      refuse(`manifest.json: the facts of mail ${mail.registeredMailId} differ from its evidences`);
    }
    mails.push({ registeredMailId: mail.registeredMailId, senderReference: mail.senderReference, document: mail.document.path, bundle: report });
  }
  for (const path of files.keys()) {
    if (!expected.has(path) && path !== 'mimetype' && path !== 'META-INF/manifest.xml') refuse(`${path}: the file belongs to no mail of manifest.json`);
  }
  return { batchId: manifest.batchId, sequence: manifest.sequence, recipient: manifest.recipient, createdAt, manifest: seal, mails };
}
