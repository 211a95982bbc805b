// The evidence bundle: one ZIP file per registered mail holding everything a court or an auditor needs
// to verify its evidences offline: the sealed evidence documents in order, each one's signature
// timestamp token and the exact octets that token covers, the certificates of every path (sealing,
// timestamping, the anchor), optionally the document itself, and a manifest sealed by ePost at export
// that lists every file with its SHA-256 (ASiC-E-like: `mimetype` first and stored, the signed
// manifest under META-INF/), so that a change of any byte of any file is detected.
import { createHash } from 'node:crypto';
import { DOMImplementation, XMLSerializer, type Element } from '@xmldom/xmldom';
import JSZip from 'jszip';
import { EpostError } from '../errors/index.js';
import { parsePemCertificates, x509 } from '../pki/index.js';
import { EVENT_RULES, EVIDENCE_NS, EVIDENCE_VERSION, type EvidenceFacts } from './model.js';
import type { ProofSealer } from './seal.js';
import { verifyEvidence, verifySeal, type VerifiedEvidence, type VerifiedSeal } from './verify.js';
import { SHA256, childElements } from './xml.js';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.epost.evidence-bundle+zip';
const MANIFEST_PATH = 'META-INF/manifest.xml';
const MIMETYPE_PATH = 'mimetype';
const SAFE_PATH = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,3}$/;
/** A bundle is read whole into memory: these bound what an untrusted one may cost. */
const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;
const MAX_ENTRIES = 256;

export type BundleRole = 'evidence' | 'timestamp-token' | 'timestamped-data' | 'certificate' | 'document' | 'readme';

interface ManifestEntry {
  path: string;
  role: BundleRole;
  size: number;
  digestSha256: string;
}

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

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('base64');
const der = (cert: x509.X509Certificate): Buffer => Buffer.from(cert.rawData);
const fingerprint = (cert: x509.X509Certificate): string => createHash('sha256').update(der(cert)).digest('hex');

/** A file name that is safe in a ZIP and on every file system, derived from the document's name. */
function safeFileName(name: string): string {
  const cleaned = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents off their letters: "été" becomes "ete"
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 100);
  return cleaned.length > 0 ? cleaned : 'document';
}

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

/** The unsigned bundle manifest, built with DOM calls only. */
function buildManifest(registeredMailId: string, createdAt: Date, entries: ManifestEntry[]): string {
  const doc = new DOMImplementation().createDocument(EVIDENCE_NS, 'EvidenceBundleManifest', null);
  const root = doc.documentElement!;
  root.setAttribute('Version', EVIDENCE_VERSION);
  const add = (parent: Element, name: string, text?: string): Element => {
    const el = doc.createElementNS(EVIDENCE_NS, name);
    if (text !== undefined) el.appendChild(doc.createTextNode(text));
    parent.appendChild(doc.createTextNode('\n  ' + (parent === root ? '' : '  ')));
    parent.appendChild(el);
    return el;
  };
  add(root, 'RegisteredMailId', registeredMailId);
  add(root, 'CreatedAt', createdAt.toISOString());
  for (const entry of entries) {
    const el = add(root, 'Entry');
    el.setAttribute('Path', entry.path);
    el.setAttribute('Role', entry.role);
    el.setAttribute('Size', String(entry.size));
    const digest = add(el, 'Digest', entry.digestSha256);
    digest.setAttribute('DigestMethod', SHA256);
    el.appendChild(doc.createTextNode('\n  '));
  }
  root.appendChild(doc.createTextNode('\n'));
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(doc)}`;
}

function readManifest(seal: VerifiedSeal): { registeredMailId: string; createdAt: Date; entries: ManifestEntry[] } {
  const root = seal.document.documentElement!;
  const children = childElements(root);
  const [idEl, createdEl, ...rest] = children;
  const entryEls = rest.slice(0, -1); // the last child is ds:Signature (checked by verifySeal)
  if (idEl?.localName !== 'RegisteredMailId' || createdEl?.localName !== 'CreatedAt') refuse('The bundle manifest is malformed');
  const roles: BundleRole[] = ['evidence', 'timestamp-token', 'timestamped-data', 'certificate', 'document', 'readme'];
  const entries = entryEls.map((el) => {
    const digest = childElements(el);
    const path = el.getAttribute('Path') ?? '';
    const role = el.getAttribute('Role') as BundleRole;
    const size = el.getAttribute('Size') ?? '';
    if (
      el.namespaceURI !== EVIDENCE_NS ||
      el.localName !== 'Entry' ||
      !SAFE_PATH.test(path) ||
      !roles.includes(role) ||
      !/^(0|[1-9][0-9]{0,15})$/.test(size) ||
      digest.length !== 1 ||
      digest[0]!.localName !== 'Digest' ||
      digest[0]!.getAttribute('DigestMethod') !== SHA256
    ) {
      refuse('The bundle manifest holds a malformed entry');
    }
    return { path, role, size: Number(size), digestSha256: digest[0]!.textContent ?? '' };
  });
  const createdAt = new Date(createdEl.textContent ?? '');
  if (Number.isNaN(createdAt.getTime())) refuse('The bundle manifest has no valid creation time');
  return { registeredMailId: idEl.textContent ?? '', createdAt, entries };
}

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

  const files: Array<{ path: string; role: BundleRole; content: Buffer }> = [];
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

  const manifest = await input.sealer.seal(
    buildManifest(
      facts.registeredMailId,
      now,
      files.map((f) => ({ path: f.path, role: f.role, size: f.content.length, digestSha256: sha256(f.content) })),
    ),
  );
  const zip = new JSZip();
  const date = now;
  zip.file(MIMETYPE_PATH, BUNDLE_MEDIA_TYPE, { compression: 'STORE', date });
  zip.file(MANIFEST_PATH, manifest, { date });
  for (const f of files) zip.file(f.path, f.content, { date });
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 6 }, platform: 'UNIX' });
}

/** Whether the bytes look like a ZIP (a bundle) rather than an XML evidence. */
export function isBundle(bytes: Buffer): boolean {
  return bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50;
}

/** The files of a bundle, read with bounds and name checks (the archive is untrusted). */
async function readBundleFiles(bundle: Buffer): Promise<Map<string, Buffer>> {
  if (bundle.length > MAX_BUNDLE_BYTES) refuse('The bundle is too large');
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(bundle, { checkCRC32: true });
  } catch (err) {
    return refuse(`The bundle is not a readable ZIP archive (${(err as Error).message})`, err);
  }
  const entries = Object.values(zip.files).filter((f) => !f.dir);
  if (entries.length > MAX_ENTRIES) refuse('The bundle holds too many files');
  let total = 0;
  const files = new Map<string, Buffer>();
  for (const entry of entries) {
    const original = (entry as { unsafeOriginalName?: string }).unsafeOriginalName ?? entry.name;
    if (original !== entry.name || (entry.name !== MIMETYPE_PATH && entry.name !== MANIFEST_PATH && !SAFE_PATH.test(entry.name))) {
      refuse(`The bundle holds a file with an unsafe name: ${JSON.stringify(original)}`);
    }
    const declared = (entry as unknown as { _data?: { uncompressedSize?: number } })._data?.uncompressedSize ?? 0;
    total += declared;
    if (total > MAX_BUNDLE_BYTES) refuse('The bundle expands to too much data');
    let content: Buffer;
    try {
      content = await entry.async('nodebuffer');
    } catch (err) {
      return refuse(`${entry.name}: the file cannot be read from the archive (${(err as Error).message})`, err);
    }
    if (files.has(entry.name)) refuse(`The bundle holds ${entry.name} twice`);
    files.set(entry.name, content);
  }
  return files;
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
  const files = await readBundleFiles(bundle);
  if (files.get(MIMETYPE_PATH)?.toString('utf8') !== BUNDLE_MEDIA_TYPE) refuse(`The archive is not an ePost evidence bundle (no "${MIMETYPE_PATH}" of ${BUNDLE_MEDIA_TYPE})`);
  const manifestBytes = files.get(MANIFEST_PATH) ?? refuse(`The bundle has no ${MANIFEST_PATH}`);
  let manifestSeal: VerifiedSeal;
  try {
    manifestSeal = await verifySeal(manifestBytes, anchorsPem, intermediates);
  } catch (err) {
    return refuse(`${MANIFEST_PATH}: ${(err as Error).message}`, err);
  }
  if (manifestSeal.root !== 'EvidenceBundleManifest') refuse(`${MANIFEST_PATH} is not an evidence bundle manifest`);
  const manifest = readManifest(manifestSeal);
  const listed = new Set(manifest.entries.map((e) => e.path));
  if (listed.size !== manifest.entries.length) refuse('The bundle manifest lists a file twice');
  for (const path of files.keys()) {
    if (path !== MIMETYPE_PATH && path !== MANIFEST_PATH && !listed.has(path)) refuse(`${path}: the file is not listed in the sealed manifest (added)`);
  }
  for (const path of listed) if (!files.has(path)) refuse(`${path}: the file listed in the sealed manifest is missing`);

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
  for (const entry of manifest.entries) {
    const content = files.get(entry.path)!;
    if (content.length !== entry.size || sha256(content) !== entry.digestSha256) refuse(`${entry.path}: the file was altered (its SHA-256 differs from the sealed manifest)`);
  }
  return { registeredMailId: facts.registeredMailId, evidences, manifest: manifestSeal, anchor, ...(document ? { document } : {}), externalDocumentMatched };
}
