// The evidence bundle: one ZIP file per registered mail holding everything a court or an auditor needs
// to verify its evidences offline: the sealed evidence documents in order, each one's signature
// timestamp token and the exact octets that token covers, the certificates of every path (sealing,
// timestamping, the anchor), optionally the document itself, and a manifest sealed by ePost at export
// that lists every file with its SHA-256 (ASiC-E-like: `mimetype` first and stored, the signed
// manifest under META-INF/), so that a change of any byte of any file is detected.
import { createHash } from 'node:crypto';
import { EpostError } from '../errors/index.js';
import { parsePemCertificates, x509 } from '../pki/index.js';
import {
  checkListedDigests,
  isZip,
  MANIFEST_PATH,
  openSealedArchive,
  sha256Base64 as sha256,
  safeFileName,
  sealListing,
  writeArchive,
  type ArchiveFile,
} from './archive.js';
import { EVENT_RULES, type EvidenceFacts } from './model.js';
import type { ProofSealer } from './seal.js';
import { verifyEvidence, verifySeal, type VerifiedEvidence, type VerifiedSeal } from './verify.js';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.epost.evidence-bundle+zip';
/** A bundle is read whole into memory: these bound what an untrusted one may cost. */
const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;
const MAX_ENTRIES = 256;

const BUNDLE_ROLES = ['evidence', 'timestamp-token', 'timestamped-data', 'certificate', 'document', 'readme'] as const;
export type BundleRole = (typeof BUNDLE_ROLES)[number];
const BUNDLE_SHAPE = {
  what: 'evidence bundle',
  mediaType: BUNDLE_MEDIA_TYPE,
  rootName: 'EvidenceBundleManifest',
  headerNames: ['RegisteredMailId', 'CreatedAt'],
  roles: BUNDLE_ROLES,
  maxBytes: MAX_BUNDLE_BYTES,
  maxEntries: MAX_ENTRIES,
} as const;

export interface EvidenceBundleInput {
  /** The sealed evidences of one registered mail, in order (each follows the one before). */
  evidences: Buffer[];
  /** Anchors the evidences are verified against before export; the one they chain to is copied in. */
  anchorsPem: string[];
  intermediatesPem?: string[];
  /** The registered document, when the bundle should carry it. */
  document?: Buffer;
  /** Seals the bundle manifest. */
  sealer: ProofSealer;
  /** Export time (defaults to now). */
  now?: Date;
}

export interface BundleReport {
  registeredMailId: string;
  evidences: VerifiedEvidence[];
  manifest: VerifiedSeal;
  /** The trusted anchor the evidences chain to. */
  anchor: x509.X509Certificate;
  /** Present when the bundle carries the document (it matched the evidences). */
  document?: { path: string; size: number };
  /** True when a document given separately matched the evidences' digest. */
  externalDocumentMatched: boolean;
}

function refuse(reason: string, cause?: unknown): never {
  throw new EpostError('FailedCheck', reason, cause);
}

const der = (cert: x509.X509Certificate): Buffer => Buffer.from(cert.rawData);
const fingerprint = (cert: x509.X509Certificate): string => createHash('sha256').update(der(cert)).digest('hex');

const README = `ePost evidence bundle
=====================

This archive holds the sealed evidences of one registered mail, in order (evidence/NN-<Event>.xml),
each evidence's RFC 3161 signature timestamp token (.tst) and the exact octets it covers
(.sigvalue.c14n: the exclusive C14N form of ds:SignatureValue), the certificates needed to verify
them (certificates/), optionally the registered document (document/), and META-INF/manifest.xml,
which lists every file with its SHA-256 and is itself sealed by ePost.

Verify everything at once with ePost's offline verifier:
    npm run verify -- this-bundle.zip [--anchor root.pem] [--document the-document]

Or with standard tools alone, for each evidence:
    xmlsec1 --verify --trusted-pem certificates/anchor.pem evidence/01-SubmissionAcceptance.xml
    openssl ts -verify -in evidence/01-SubmissionAcceptance.tst -token_in \\
        -data evidence/01-SubmissionAcceptance.sigvalue.c14n \\
        -CAfile certificates/anchor.pem -untrusted certificates/timestamping-1.pem
    sha256sum document/*     # compare with <Document><Digest> (base64) in the evidences

Compare certificates/anchor.pem with the ePost root certificate published by ePost (SHA-256
fingerprint); trust it only if they are identical.
`;

/** The mail facts every evidence of one mail repeats; they must agree. */
function sameMailFacts(a: EvidenceFacts, b: EvidenceFacts): boolean {
  const pick = (f: EvidenceFacts) =>
    JSON.stringify([f.registeredMailId, f.senderReference, f.submissionTime.toISOString(), f.sender, f.recipient, f.subject, f.language, f.document]);
  return pick(a) === pick(b);
}

/**
 * Checks the order of a mail's evidences: the first starts the chain, each other one follows an
 * event it may follow, references the previous evidence by id, event and the SHA-256 of its exact
 * bytes, repeats the same mail facts, and happened no earlier than the previous one.
 */
export function verifyEvidenceChain(evidences: Array<{ bytes: Buffer; facts: EvidenceFacts; name: string }>): void {
  if (evidences.length === 0) refuse('The bundle holds no evidence');
  evidences.forEach(({ facts, name }, i) => {
    if (i === 0) {
      if (facts.previous || EVENT_RULES[facts.event].follows.length > 0) refuse(`${name}: the first evidence must be a SubmissionAcceptance or SubmissionRejection, not a ${facts.event} that follows another`);
      return;
    }
    const before = evidences[i - 1]!;
    const link = facts.previous;
    if (!link) refuse(`${name}: it does not reference the evidence before it`);
    if (link.evidenceId !== before.facts.evidenceId || link.event !== before.facts.event) refuse(`${name}: it references evidence ${link.evidenceId} (${link.event}), not ${before.name}`);
    if (link.digestSha256 !== sha256(before.bytes)) refuse(`${name}: the digest it holds of ${before.name} does not match that evidence's bytes (the evidence before it was altered or replaced)`);
    if (!EVENT_RULES[facts.event].follows.includes(before.facts.event)) refuse(`${name}: a ${facts.event} cannot follow a ${before.facts.event}`);
    if (!sameMailFacts(facts, before.facts)) refuse(`${name}: its registered-mail facts differ from those of ${before.name}`);
    if (facts.eventTime.getTime() < before.facts.eventTime.getTime()) refuse(`${name}: its event time is before that of ${before.name}`);
  });
}

/** Exports the evidence bundle of one registered mail (verifying every evidence first). */
export async function exportEvidenceBundle(input: EvidenceBundleInput): Promise<Buffer> {
  const now = input.now ?? new Date();
  const intermediates = input.intermediatesPem ?? [];
  const verified: VerifiedEvidence[] = [];
  for (const [i, sealed] of input.evidences.entries()) {
    try {
      verified.push(await verifyEvidence(sealed, input.anchorsPem, intermediates));
    } catch (err) {
      throw new EpostError('ServiceUnavailable', `Evidence ${i + 1} of the mail does not verify and is not exported: ${(err as Error).message}`, err);
    }
  }
  try {
    verifyEvidenceChain(verified.map((v, i) => ({ bytes: input.evidences[i]!, facts: v.facts, name: `evidence ${i + 1}` })));
  } catch (err) {
    throw new EpostError('ServiceUnavailable', `The evidences of the mail do not form a chain: ${(err as Error).message}`, err);
  }
  const facts = verified[0]!.facts;

  const files: ArchiveFile<BundleRole>[] = [];
  verified.forEach((v, i) => {
    const base = `evidence/${String(i + 1).padStart(2, '0')}-${v.facts.event}`;
    files.push({ path: `${base}.xml`, role: 'evidence', content: input.evidences[i]! });
    files.push({ path: `${base}.tst`, role: 'timestamp-token', content: v.token });
    files.push({ path: `${base}.sigvalue.c14n`, role: 'timestamped-data', content: Buffer.from(v.signatureValueC14n, 'utf8') });
  });
  // Every certificate of every validated path, once; the anchor under a fixed name.
  const seen = new Set<string>();
  const anchor = verified[0]!.sealingPath.at(-1)!;
  seen.add(fingerprint(anchor));
  files.push({ path: 'certificates/anchor.pem', role: 'certificate', content: Buffer.from(anchor.toString('pem') + '\n') });
  const addCertificates = (path: x509.X509Certificate[], kind: string) => {
    let n = 0;
    for (const cert of path) {
      if (seen.has(fingerprint(cert))) continue;
      seen.add(fingerprint(cert));
      files.push({ path: `certificates/${kind}-${++n}.pem`, role: 'certificate', content: Buffer.from(cert.toString('pem') + '\n') });
    }
  };
  // The sealer's own certificates too: after a key rotation the manifest is sealed by a newer certificate.
  addCertificates([...verified.flatMap((v) => v.sealingPath), ...input.sealer.certificates], 'sealing');
  addCertificates(verified.flatMap((v) => v.timestamp.certificatePath), 'timestamping');
  if (input.document) {
    if (!facts.document || sha256(input.document) !== facts.document.digestSha256) {
      throw new EpostError('ServiceUnavailable', 'The document given for the bundle is not the one the evidences describe');
    }
    files.push({ path: `document/${safeFileName(facts.document.fileName)}`, role: 'document', content: input.document });
  }
  files.push({ path: 'README.txt', role: 'readme', content: Buffer.from(README, 'utf8') });

  const manifest = await sealListing(input.sealer, 'EvidenceBundleManifest', [['RegisteredMailId', facts.registeredMailId], ['CreatedAt', now.toISOString()]], files);
  return writeArchive(BUNDLE_MEDIA_TYPE, manifest, files, now);
}

/** Whether the bytes look like a ZIP (a bundle) rather than an XML evidence. */
export function isBundle(bytes: Buffer): boolean {
  return isZip(bytes);
}

export interface VerifyBundleOptions {
  intermediatesPem?: string[];
  /** The document as the verifier holds it, to check against the evidences' digest. */
  document?: Buffer;
}

/**
 * Verifies a bundle offline: the sealed manifest, every evidence (seal, chain, timestamp), the token
 * and timestamped-data files against their evidence, every certificate against the validated paths,
 * the anchor copy against the trusted anchors, the document's digest, and finally the SHA-256 of
 * every file against the manifest. Throws EpostError('FailedCheck') naming the first failure.
 */
export async function verifyEvidenceBundle(bundle: Buffer, anchorsPem: string[], options: VerifyBundleOptions = {}): Promise<BundleReport> {
  const intermediates = options.intermediatesPem ?? [];
  const { files, seal: manifestSeal, header, entries } = await openSealedArchive(bundle, BUNDLE_SHAPE, anchorsPem, intermediates);
  const manifest = { registeredMailId: header.RegisteredMailId!, entries };
  if (Number.isNaN(new Date(header.CreatedAt!).getTime())) refuse('The bundle manifest has no valid creation time');

  // Evidences in manifest order, each with its token and timestamped data.
  const evidenceEntries = manifest.entries.filter((e) => e.role === 'evidence');
  const evidences: VerifiedEvidence[] = [];
  for (const entry of evidenceEntries) {
    const bytes = files.get(entry.path)!;
    let verified: VerifiedEvidence;
    try {
      verified = await verifyEvidence(bytes, anchorsPem, intermediates);
    } catch (err) {
      return refuse(`${entry.path}: ${(err as Error).message}`, err);
    }
    const base = entry.path.replace(/\.xml$/, '');
    const token = files.get(`${base}.tst`);
    if (!token || !token.equals(verified.token)) refuse(`${base}.tst: it is not the signature timestamp token of ${entry.path}`);
    const c14n = files.get(`${base}.sigvalue.c14n`);
    if (!c14n || !c14n.equals(Buffer.from(verified.signatureValueC14n, 'utf8'))) refuse(`${base}.sigvalue.c14n: it is not the canonical SignatureValue of ${entry.path}`);
    evidences.push(verified);
  }
  verifyEvidenceChain(evidences.map((v, i) => ({ bytes: files.get(evidenceEntries[i]!.path)!, facts: v.facts, name: evidenceEntries[i]!.path })));
  const facts = evidences[0]!.facts;
  if (manifest.registeredMailId !== facts.registeredMailId) refuse(`${MANIFEST_PATH}: it names registered mail ${manifest.registeredMailId}, the evidences ${facts.registeredMailId}`);

  // Certificates: each one must be a certificate some validated path uses; the anchor copy a trusted anchor.
  const anchors = parsePemCertificates(anchorsPem, 'trust anchor');
  const used = new Set([manifestSeal, ...evidences].flatMap((v) => [...v.sealingPath, ...v.timestamp.certificatePath]).map(fingerprint));
  const anchor = evidences[0]!.sealingPath.at(-1)!;
  for (const entry of manifest.entries.filter((e) => e.role === 'certificate')) {
    let certs: x509.X509Certificate[];
    try {
      certs = parsePemCertificates([files.get(entry.path)!.toString('utf8')], entry.path);
    } catch (err) {
      return refuse(`${entry.path}: not a readable certificate`, err);
    }
    if (certs.length !== 1) refuse(`${entry.path}: it must hold exactly one certificate`);
    if (!used.has(fingerprint(certs[0]!))) refuse(`${entry.path}: the certificate is not one the evidences' certificate paths use (altered or foreign)`);
    if (entry.path === 'certificates/anchor.pem' && !anchors.some((a) => der(a).equals(der(certs[0]!)))) refuse(`${entry.path}: it is not the trusted anchor`);
  }

  // The document: the bundle's copy and any copy given separately must have the evidences' digest and size.
  let document: BundleReport['document'];
  for (const entry of manifest.entries.filter((e) => e.role === 'document')) {
    const content = files.get(entry.path)!;
    if (document) refuse('The bundle holds more than one document');
    if (!facts.document || sha256(content) !== facts.document.digestSha256 || content.length !== facts.document.size) {
      refuse(`${entry.path}: the document's SHA-256 or size differs from the one the evidences attest`);
    }
    document = { path: entry.path, size: content.length };
  }
  let externalDocumentMatched = false;
  if (options.document) {
    if (!facts.document || sha256(options.document) !== facts.document.digestSha256) refuse("The document given does not match the SHA-256 digest the evidences attest");
    externalDocumentMatched = true;
  }

  // Last, byte for byte: every file against the sealed manifest (also what no signature covers).
  checkListedDigests(files, entries);
  return { registeredMailId: facts.registeredMailId, evidences, manifest: manifestSeal, anchor, ...(document ? { document } : {}), externalDocumentMatched };
}
