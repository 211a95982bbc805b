// Sealed archives: a ZIP whose META-INF/manifest.xml, sealed by ePost, lists every other file with
// its role, size and SHA-256 (ASiC-E-like: `mimetype` first and stored). The evidence bundle of one
// mail and the batch of the batch channel are both such archives; this is what they share: writing
// one, reading an untrusted one with bounds and name checks, and checking its files against the
// sealed listing.
import { createHash } from 'node:crypto';
import { DOMImplementation, XMLSerializer, type Element } from '@xmldom/xmldom';
import JSZip from 'jszip';
import { EpostError } from '../errors/index.js';
import { EVIDENCE_NS, EVIDENCE_VERSION } from './model.js';
import type { ProofSealer } from './seal.js';
import { verifySeal, type VerifiedSeal } from './verify.js';
import { SHA256, childElements } from './xml.js';

export const MANIFEST_PATH = 'META-INF/manifest.xml';
export const MIMETYPE_PATH = 'mimetype';
const SAFE_PATH = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,3}$/;

export interface ArchiveFile<Role extends string = string> {
  path: string;
  role: Role;
  content: Buffer;
}

export interface ListedEntry<Role extends string = string> {
  path: string;
  role: Role;
  size: number;
  digestSha256: string;
}

function refuse(reason: string, cause?: unknown): never {
  throw new EpostError('FailedCheck', reason, cause);
}

export const sha256Base64 = (data: Buffer): string => createHash('sha256').update(data).digest('base64');

/** Whether a path is one an archive may hold (also a safe relative path on every file system). */
export function isSafeArchivePath(path: string): boolean {
  return SAFE_PATH.test(path);
}

/** A file name that is safe in a ZIP and on every file system, derived from a document's name. */
export function safeFileName(name: string): string {
  const cleaned = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents off their letters: "été" becomes "ete"
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 100);
  return cleaned.length > 0 ? cleaned : 'document';
}

/** The unsigned listing: `header` elements in order, then one Entry per file; built with DOM calls only. */
function buildListing(rootName: string, header: Array<[string, string]>, files: ArchiveFile[]): string {
  const doc = new DOMImplementation().createDocument(EVIDENCE_NS, rootName, null);
  const root = doc.documentElement!;
  root.setAttribute('Version', EVIDENCE_VERSION);
  const add = (parent: Element, name: string, text?: string): Element => {
    const el = doc.createElementNS(EVIDENCE_NS, name);
    if (text !== undefined) el.appendChild(doc.createTextNode(text));
    parent.appendChild(doc.createTextNode('\n  ' + (parent === root ? '' : '  ')));
    parent.appendChild(el);
    return el;
  };
  for (const [name, value] of header) add(root, name, value);
  for (const file of files) {
    const el = add(root, 'Entry');
    el.setAttribute('Path', file.path);
    el.setAttribute('Role', file.role);
    el.setAttribute('Size', String(file.content.length));
    const digest = add(el, 'Digest', sha256Base64(file.content));
    digest.setAttribute('DigestMethod', SHA256);
    el.appendChild(doc.createTextNode('\n  '));
  }
  root.appendChild(doc.createTextNode('\n'));
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(doc)}`;
}

/** Seals the listing of `files` (root element `rootName`, then the `header` elements). */
export function sealListing(sealer: ProofSealer, rootName: string, header: Array<[string, string]>, files: ArchiveFile[]): Promise<Buffer> {
  return sealer.seal(buildListing(rootName, header, files));
}

/**
 * The ZIP: `mimetype` first and stored, the sealed listing, then the files in order. Given the same
 * inputs and date it gives the same bytes, so an archive can be rebuilt exactly from what is kept.
 */
export function writeArchive(mediaType: string, sealedListing: Buffer, files: ArchiveFile[], date: Date): Promise<Buffer> {
  const zip = new JSZip();
  // No implicit folder entries: JSZip would date them now, and the bytes would depend on when they were made.
  zip.file(MIMETYPE_PATH, mediaType, { compression: 'STORE', date, createFolders: false });
  zip.file(MANIFEST_PATH, sealedListing, { date, createFolders: false });
  for (const f of files) zip.file(f.path, f.content, { date, createFolders: false });
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 6 }, platform: 'UNIX' });
}

/** Whether the bytes look like a ZIP rather than an XML evidence. */
export function isZip(bytes: Buffer): boolean {
  return bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50;
}

/** The media type an archive declares in its `mimetype` file, if it has one (a cheap look, no verification). */
export async function archiveMediaType(bytes: Buffer): Promise<string | undefined> {
  try {
    const zip = await JSZip.loadAsync(bytes);
    return (await zip.file(MIMETYPE_PATH)?.async('string'))?.trim();
  } catch {
    return undefined;
  }
}

export interface ArchiveLimits {
  /** What the archive is called in refusals ("bundle", "batch"). */
  what: string;
  maxBytes: number;
  maxEntries: number;
}

/** The files of an untrusted archive, read with bounds and name checks. */
export async function readArchive(bytes: Buffer, limits: ArchiveLimits): Promise<Map<string, Buffer>> {
  const { what } = limits;
  if (bytes.length > limits.maxBytes) refuse(`The ${what} is too large`);
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(bytes, { checkCRC32: true });
  } catch (err) {
    return refuse(`The ${what} is not a readable ZIP archive (${(err as Error).message})`, err);
  }
  const entries = Object.values(zip.files).filter((f) => !f.dir);
  if (entries.length > limits.maxEntries) refuse(`The ${what} holds too many files`);
  let total = 0;
  const files = new Map<string, Buffer>();
  for (const entry of entries) {
    const original = (entry as { unsafeOriginalName?: string }).unsafeOriginalName ?? entry.name;
    if (original !== entry.name || (entry.name !== MIMETYPE_PATH && entry.name !== MANIFEST_PATH && !SAFE_PATH.test(entry.name))) {
      refuse(`The ${what} holds a file with an unsafe name: ${JSON.stringify(original)}`);
    }
    const declared = (entry as unknown as { _data?: { uncompressedSize?: number } })._data?.uncompressedSize ?? 0;
    total += declared;
    if (total > limits.maxBytes) refuse(`The ${what} expands to too much data`);
    let content: Buffer;
    try {
      content = await entry.async('nodebuffer');
    } catch (err) {
      return refuse(`${entry.name}: the file cannot be read from the archive (${(err as Error).message})`, err);
    }
    if (files.has(entry.name)) refuse(`The ${what} holds ${entry.name} twice`);
    files.set(entry.name, content);
  }
  return files;
}

/**
 * The header values and entries of a verified sealed listing. `headerNames` are the elements expected
 * before the entries, in order; every entry must have a safe path and one of `roles`.
 */
export function readListing<Role extends string>(
  seal: VerifiedSeal,
  headerNames: readonly string[],
  roles: readonly Role[],
): { header: Record<string, string>; entries: ListedEntry<Role>[] } {
  const root = seal.document.documentElement!;
  const children = childElements(root);
  const headerEls = children.slice(0, headerNames.length);
  const entryEls = children.slice(headerNames.length, -1); // the last child is ds:Signature (checked by verifySeal)
  const header: Record<string, string> = {};
  headerNames.forEach((name, i) => {
    const el = headerEls[i];
    if (el?.namespaceURI !== EVIDENCE_NS || el.localName !== name) refuse(`The sealed manifest is malformed (${name} expected)`);
    header[name] = el.textContent ?? '';
  });
  const entries = entryEls.map((el) => {
    const digest = childElements(el);
    const path = el.getAttribute('Path') ?? '';
    const role = el.getAttribute('Role') as Role;
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
      refuse('The sealed manifest holds a malformed entry');
    }
    return { path, role, size: Number(size), digestSha256: digest[0]!.textContent ?? '' };
  });
  if (new Set(entries.map((e) => e.path)).size !== entries.length) refuse('The sealed manifest lists a file twice');
  return { header, entries };
}

/** Every file of the archive is listed (nothing added) and every listed file is there (nothing removed). */
export function checkListedPresence(files: Map<string, Buffer>, entries: ListedEntry[]): void {
  const listed = new Set(entries.map((e) => e.path));
  for (const path of files.keys()) {
    if (path !== MIMETYPE_PATH && path !== MANIFEST_PATH && !listed.has(path)) refuse(`${path}: the file is not listed in the sealed manifest (added)`);
  }
  for (const path of listed) if (!files.has(path)) refuse(`${path}: the file listed in the sealed manifest is missing`);
}

/** Byte for byte: every listed file has the size and SHA-256 the sealed listing gives (also what no signature covers). */
export function checkListedDigests(files: Map<string, Buffer>, entries: ListedEntry[]): void {
  for (const entry of entries) {
    const content = files.get(entry.path)!;
    if (content.length !== entry.size || sha256Base64(content) !== entry.digestSha256) refuse(`${entry.path}: the file was altered (its SHA-256 differs from the sealed manifest)`);
  }
}

export interface SealedArchiveShape<Role extends string> extends ArchiveLimits {
  mediaType: string;
  /** Root element of the sealed listing, and the elements before its entries. */
  rootName: string;
  headerNames: readonly string[];
  roles: readonly Role[];
}

export interface OpenedArchive<Role extends string> {
  files: Map<string, Buffer>;
  seal: VerifiedSeal;
  header: Record<string, string>;
  entries: ListedEntry<Role>[];
}

/**
 * Opens an untrusted sealed archive: its files (bounded), its media type, the seal of its listing,
 * the listing itself, and that exactly the listed files are there. The files' digests are left to
 * checkListedDigests, which callers run last, after their own checks of the content.
 */
export async function openSealedArchive<Role extends string>(
  bytes: Buffer,
  shape: SealedArchiveShape<Role>,
  anchorsPem: string[],
  intermediatesPem: string[],
): Promise<OpenedArchive<Role>> {
  const { what } = shape;
  const files = await readArchive(bytes, shape);
  if (files.get(MIMETYPE_PATH)?.toString('utf8') !== shape.mediaType) refuse(`The archive is not an ePost ${what} (no "${MIMETYPE_PATH}" of ${shape.mediaType})`);
  const listingBytes = files.get(MANIFEST_PATH) ?? refuse(`The ${what} has no ${MANIFEST_PATH}`);
  let seal: VerifiedSeal;
  try {
    seal = await verifySeal(listingBytes, anchorsPem, intermediatesPem);
  } catch (err) {
    return refuse(`${MANIFEST_PATH}: ${(err as Error).message}`, err);
  }
  if (seal.root !== shape.rootName) refuse(`${MANIFEST_PATH} is not the manifest of an ePost ${what}`);
  const { header, entries } = readListing(seal, shape.headerNames, shape.roles);
  checkListedPresence(files, entries);
  return { files, seal, header, entries };
}
