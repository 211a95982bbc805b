// Turns the (already signature-verified) request element into typed values. Mirrors wsdl/RegisteredMail.xsd
// and adds what a schema cannot say (check digits). Every problem is collected so the sender can fix them
// all at once; the most specific code wins (DocumentTooLarge, then InvalidRecipient, then InvalidRequest).
import type { Element as XmlElement, Node as XmlNode } from '@xmldom/xmldom';
import { EpostError, EPOST_NS } from '../errors/index.js';
import { isValidEnterpriseNumber, isValidSsin } from '../identifiers/index.js';
import { displayName, REQUEST_ELEMENTS, type SoapElement } from './operations.js';

export const SHA256_DIGEST_METHOD = 'http://www.w3.org/2001/04/xmlenc#sha256';

export type Language = 'fr' | 'nl' | 'de' | 'en';
const LANGUAGES: readonly Language[] = ['fr', 'nl', 'de', 'en'];

export interface SendRegisteredMailRequest {
  senderReference: string;
  recipient: { kind: 'citizen' | 'enterprise'; id: string };
  subject: string;
  language?: Language;
  document: { fileName: string; mimeType: string; content: Buffer; digestSha256: Buffer /* as asserted */ };
}

export type ProofLookup = { registeredMailId: string } | { senderReference: string };

type ProblemCode = 'DocumentTooLarge' | 'InvalidRecipient' | 'InvalidRequest';
const PRECEDENCE: readonly ProblemCode[] = ['DocumentTooLarge', 'InvalidRecipient', 'InvalidRequest'];
/** A hostile request could produce thousands of problems; the reason lists the first ones. */
const MAX_LISTED_PROBLEMS = 20;

class Problems {
  private readonly list: { code: ProblemCode; text: string }[] = [];
  add(code: ProblemCode, text: string): void {
    this.list.push({ code, text });
  }
  get empty(): boolean {
    return this.list.length === 0;
  }
  /** Throws one EpostError with the highest-precedence code; the reason lists every problem, that code's first. */
  throwIfAny(what: string): void {
    if (this.list.length === 0) return;
    const rank = (code: ProblemCode) => PRECEDENCE.indexOf(code);
    const sorted = [...this.list].sort((a, b) => rank(a.code) - rank(b.code));
    const code = sorted[0]!.code;
    const listed = sorted.slice(0, MAX_LISTED_PROBLEMS).map((p) => p.text);
    if (sorted.length > MAX_LISTED_PROBLEMS) listed.push(`and ${sorted.length - MAX_LISTED_PROBLEMS} more problems`);
    throw new EpostError(code, `${what} refused: ${listed.join('; ')}`);
  }
}

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;

function qualifiedName(node: XmlElement): string {
  return node.namespaceURI === EPOST_NS ? displayName(node.localName) : `{${displayName(node.namespaceURI)}}${displayName(node.localName)}`;
}

/** Attributes without a namespace are ours (the schema is attributeFormDefault="unqualified"); others (xmlns, wsu:Id...) are ignored. */
function checkAttributes(el: XmlElement, path: string, allowed: readonly string[], problems: Problems): void {
  for (let i = 0; i < el.attributes.length; i++) {
    const attr = el.attributes.item(i)!;
    if (attr.namespaceURI) continue;
    if (!allowed.includes(attr.localName ?? attr.name)) {
      problems.add('InvalidRequest', `${path} has an unexpected attribute ${displayName(attr.name)}`);
    }
  }
}

/** Element children of a structure; text other than indentation is a problem. */
function elementChildren(el: XmlElement, path: string, problems: Problems): XmlElement[] {
  const out: XmlElement[] = [];
  let strayText = false;
  for (let n: XmlNode | null = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === ELEMENT_NODE) out.push(n as XmlElement);
    else if ((n.nodeType === TEXT_NODE || n.nodeType === CDATA_SECTION_NODE) && /[^ \t\r\n]/.test(n.nodeValue ?? '')) strayText = true;
  }
  if (strayText) problems.add('InvalidRequest', `${path} holds text outside its child elements`);
  return out;
}

interface Slot {
  name: string;
  optional?: boolean;
}

/**
 * Matches the children of `el` against an xs:sequence of single elements: reports unexpected, repeated,
 * out-of-order and missing ones, and returns those found by local name.
 */
function sequence(el: XmlElement, path: string, slots: readonly Slot[], problems: Problems): Map<string, XmlElement> {
  const found = new Map<string, XmlElement>();
  let lastIndex = -1;
  let outOfOrder = false;
  for (const child of elementChildren(el, path, problems)) {
    const index = child.namespaceURI === EPOST_NS ? slots.findIndex((s) => s.name === child.localName) : -1;
    if (index < 0) {
      problems.add('InvalidRequest', `${path} holds an unexpected element ${qualifiedName(child)}`);
    } else if (found.has(child.localName!)) {
      problems.add('InvalidRequest', `${path}/${child.localName} appears more than once`);
    } else {
      if (index < lastIndex) outOfOrder = true;
      lastIndex = Math.max(lastIndex, index);
      found.set(child.localName!, child);
    }
  }
  if (outOfOrder) problems.add('InvalidRequest', `the children of ${path} are out of order (expected ${slots.map((s) => s.name).join(', ')})`);
  for (const slot of slots) {
    if (!slot.optional && !found.has(slot.name)) problems.add('InvalidRequest', `${path}/${slot.name} is missing`);
  }
  return found;
}

/** Children of an xs:choice: unexpected elements are reported; the caller judges how many alternatives were given. */
function choice(el: XmlElement, path: string, names: readonly string[], problems: Problems): XmlElement[] {
  const chosen: XmlElement[] = [];
  for (const child of elementChildren(el, path, problems)) {
    if (child.namespaceURI === EPOST_NS && names.includes(child.localName!)) chosen.push(child);
    else problems.add('InvalidRequest', `${path} holds an unexpected element ${qualifiedName(child)}`);
  }
  return chosen;
}

/** The character content of a simple-typed element, or undefined (and a problem) when it holds elements. */
function textOf(el: XmlElement, path: string, problems: Problems, allowedAttributes: readonly string[] = []): string | undefined {
  checkAttributes(el, path, allowedAttributes, problems);
  let text = '';
  let nested = false;
  for (let n: XmlNode | null = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === ELEMENT_NODE) nested = true;
    else if (n.nodeType === TEXT_NODE || n.nodeType === CDATA_SECTION_NODE) text += n.nodeValue ?? '';
  }
  if (nested) {
    problems.add('InvalidRequest', `${path} must hold text, not elements`);
    return undefined;
  }
  return text;
}

/** Length in characters (code points), as XML Schema counts them. */
function charLength(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

// One line, no leading or trailing blank: the same patterns as the XSD (whose \s is only these four characters).
const SINGLE_LINE = /^[^ \t\n\r](?:[^\t\n\r]*[^ \t\n\r])?$/;
const FILE_NAME = /^[^ \t\n\r/\\](?:[^\t\n\r/\\]*[^ \t\n\r/\\])?$/;
const MIME_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&\-^_.+]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&\-^_.+]{0,126}$/;
const REGISTERED_MAIL_ID = /^[!-~]{1,64}$/;
const isXmlBlank = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
/** xs:token whitespace handling: leading and trailing blanks do not count. A loop, since /\s+$/ is quadratic on long blank runs. */
function trimXml(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isXmlBlank(value.charCodeAt(start))) start++;
  while (end > start && isXmlBlank(value.charCodeAt(end - 1))) end--;
  return value.slice(start, end);
}

function singleLine(el: XmlElement | undefined, path: string, max: number, problems: Problems, pattern = SINGLE_LINE, rule = 'one line without leading or trailing blanks'): string | undefined {
  if (!el) return undefined;
  const value = textOf(el, path, problems);
  if (value === undefined) return undefined;
  const length = charLength(value);
  if (length === 0) {
    problems.add('InvalidRequest', `${path} is empty`);
    return undefined;
  }
  let ok = true;
  if (length > max) {
    problems.add('InvalidRequest', `${path} is ${length} characters long, the maximum is ${max}`);
    ok = false;
  }
  // Only a value of acceptable length is matched, so a hostile megabyte value costs no regex work.
  if (ok && !pattern.test(value)) {
    problems.add('InvalidRequest', `${path} must be ${rule}`);
    ok = false;
  }
  return ok ? value : undefined;
}

/**
 * Strict base64 as XML Schema's base64Binary lexical space (canonical padding bits), with blanks and line
 * breaks allowed anywhere. Only native string scans: the size is judged before anything is decoded.
 */
function scanBase64(text: string): { ok: boolean; decodedLength: number } {
  const compact = /[ \t\r\n]/.test(text) ? text.replace(/[ \t\r\n]+/g, '') : text;
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  const symbols = compact.length - padding;
  const decodedLength = Math.floor((symbols * 3) / 4);
  // A search for a foreign character (including '=' before the end) needs no backtracking, unlike ^[...]*$.
  let ok = compact.length % 4 === 0 && !/[^A-Za-z0-9+/]/.test(compact.slice(0, symbols));
  if (ok && padding > 0) {
    // The bits after the last whole byte must be zero, as base64Binary's lexical grammar requires.
    const value = base64Value(compact.charCodeAt(symbols - 1));
    if (padding === 1 && (value & 0b11) !== 0) ok = false;
    if (padding === 2 && (value & 0b1111) !== 0) ok = false;
  }
  return { ok, decodedLength };
}

function base64Value(c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  return c === 0x2b ? 62 : 63;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB (${n} bytes)`;
  return `${n} bytes`;
}

function parseRecipient(el: XmlElement | undefined, problems: Problems): SendRegisteredMailRequest['recipient'] | undefined {
  if (!el) return undefined;
  checkAttributes(el, 'Recipient', [], problems);
  const chosen = choice(el, 'Recipient', ['SSIN', 'EnterpriseNumber'], problems);
  if (chosen.length !== 1) {
    problems.add('InvalidRecipient', `Recipient must hold exactly one SSIN or EnterpriseNumber, it holds ${chosen.length}`);
    return undefined;
  }
  const idElement = chosen[0]!;
  const raw = textOf(idElement, `Recipient/${idElement.localName}`, problems);
  if (raw === undefined) return undefined;
  const id = trimXml(raw);
  if (idElement.localName === 'SSIN') {
    if (isValidSsin(id)) return { kind: 'citizen', id };
    problems.add('InvalidRecipient', 'Recipient/SSIN is not a valid national register number (11 digits with valid check digits)');
  } else {
    if (isValidEnterpriseNumber(id)) return { kind: 'enterprise', id };
    problems.add('InvalidRecipient', 'Recipient/EnterpriseNumber is not a valid enterprise number (10 digits starting with 0 or 1, with valid check digits)');
  }
  return undefined;
}

function parseDocument(el: XmlElement | undefined, limits: { maxDocumentBytes: number }, problems: Problems): SendRegisteredMailRequest['document'] | undefined {
  if (!el) return undefined;
  checkAttributes(el, 'Document', [], problems);
  const parts = sequence(el, 'Document', [{ name: 'FileName' }, { name: 'MimeType' }, { name: 'Content' }, { name: 'Digest' }], problems);

  const fileName = singleLine(parts.get('FileName'), 'Document/FileName', 255, problems, FILE_NAME, 'a file name on one line, without / or \\ and without leading or trailing blanks');

  let mimeType: string | undefined;
  const mimeElement = parts.get('MimeType');
  if (mimeElement) {
    const raw = textOf(mimeElement, 'Document/MimeType', problems);
    if (raw !== undefined) {
      mimeType = trimXml(raw);
      if (!MIME_TYPE.test(mimeType)) {
        problems.add('InvalidRequest', 'Document/MimeType must be a media type of the form type/subtype, without parameters');
        mimeType = undefined;
      }
    }
  }

  let content: Buffer | undefined;
  const contentElement = parts.get('Content');
  if (contentElement) {
    const text = textOf(contentElement, 'Document/Content', problems);
    if (text !== undefined) {
      const scan = scanBase64(text);
      if (scan.decodedLength > limits.maxDocumentBytes) {
        problems.add('DocumentTooLarge', `Document/Content is ${formatBytes(scan.decodedLength)} once decoded, above the limit of ${formatBytes(limits.maxDocumentBytes)}`);
      } else if (!scan.ok) {
        problems.add('InvalidRequest', 'Document/Content is not valid base64');
      } else if (scan.decodedLength === 0) {
        problems.add('InvalidRequest', 'Document/Content is empty');
      } else {
        content = Buffer.from(text, 'base64'); // Node skips the blanks and line breaks scanBase64 accepted
      }
    }
  }

  let digestSha256: Buffer | undefined;
  const digestElement = parts.get('Digest');
  if (digestElement) {
    const method = digestElement.getAttributeNode('DigestMethod');
    if (!method || method.namespaceURI) {
      problems.add('InvalidRequest', `Document/Digest lacks its DigestMethod attribute (${SHA256_DIGEST_METHOD})`);
    } else if (trimXml(method.value) !== SHA256_DIGEST_METHOD) {
      problems.add('InvalidRequest', `Document/Digest has DigestMethod "${displayName(method.value)}", only ${SHA256_DIGEST_METHOD} is accepted`);
    }
    const text = textOf(digestElement, 'Document/Digest', problems, ['DigestMethod']);
    if (text !== undefined) {
      const scan = scanBase64(text);
      if (!scan.ok || scan.decodedLength !== 32) {
        problems.add('InvalidRequest', 'Document/Digest must be the base64 of a 32-byte SHA-256 value');
      } else if (method && trimXml(method.value) === SHA256_DIGEST_METHOD) {
        digestSha256 = Buffer.from(text, 'base64');
      }
    }
  }

  if (fileName === undefined || mimeType === undefined || content === undefined || digestSha256 === undefined) return undefined;
  return { fileName, mimeType, content, digestSha256 };
}

function expectRequestElement(el: XmlElement, localName: string): void {
  if (el.namespaceURI !== EPOST_NS || el.localName !== localName) {
    throw new EpostError('InvalidRequest', `Expected {${EPOST_NS}}${localName}, got ${qualifiedName(el)}`);
  }
}

/** Validates the whole element and reports every bad field in one error (reason lists them). */
export function parseSendRegisteredMail(element: SoapElement, limits: { maxDocumentBytes: number }): SendRegisteredMailRequest {
  const el = element as XmlElement;
  const root = REQUEST_ELEMENTS.SendRegisteredMail;
  expectRequestElement(el, root);
  const problems = new Problems();
  checkAttributes(el, root, [], problems);
  const parts = sequence(
    el,
    root,
    [{ name: 'SenderReference' }, { name: 'Recipient' }, { name: 'Subject' }, { name: 'Document' }, { name: 'Language', optional: true }],
    problems,
  );

  const senderReference = singleLine(parts.get('SenderReference'), 'SenderReference', 64, problems);
  const recipient = parseRecipient(parts.get('Recipient'), problems);
  const subject = singleLine(parts.get('Subject'), 'Subject', 200, problems);
  const document = parseDocument(parts.get('Document'), limits, problems);

  let language: Language | undefined;
  const languageElement = parts.get('Language');
  if (languageElement) {
    const raw = textOf(languageElement, 'Language', problems);
    if (raw !== undefined) {
      const value = trimXml(raw);
      if ((LANGUAGES as readonly string[]).includes(value)) language = value as Language;
      else problems.add('InvalidRequest', `Language must be one of ${LANGUAGES.join(', ')}`);
    }
  }

  problems.throwIfAny(root);
  // With no problem reported every field was set; the checks below only satisfy the type checker.
  if (senderReference === undefined || recipient === undefined || subject === undefined || document === undefined) {
    throw new EpostError('InvalidRequest', `${root} refused: incomplete request`);
  }
  const request: SendRegisteredMailRequest = { senderReference, recipient, subject, document };
  if (language) request.language = language;
  return request;
}

export function parseGetProofOfDelivery(element: SoapElement): ProofLookup {
  const el = element as XmlElement;
  const root = REQUEST_ELEMENTS.GetProofOfDelivery;
  expectRequestElement(el, root);
  const problems = new Problems();
  checkAttributes(el, root, [], problems);
  const chosen = choice(el, root, ['RegisteredMailId', 'SenderReference'], problems);
  let lookup: ProofLookup | undefined;
  if (chosen.length !== 1) {
    problems.add('InvalidRequest', `${root} must hold exactly one RegisteredMailId or SenderReference, it holds ${chosen.length}`);
  } else if (chosen[0]!.localName === 'RegisteredMailId') {
    const raw = textOf(chosen[0]!, 'RegisteredMailId', problems);
    if (raw !== undefined) {
      const registeredMailId = trimXml(raw);
      if (REGISTERED_MAIL_ID.test(registeredMailId)) lookup = { registeredMailId };
      else problems.add('InvalidRequest', 'RegisteredMailId must be 1 to 64 printable ASCII characters without blanks');
    }
  } else {
    const senderReference = singleLine(chosen[0], 'SenderReference', 64, problems);
    if (senderReference !== undefined) lookup = { senderReference };
  }
  problems.throwIfAny(root);
  if (!lookup) throw new EpostError('InvalidRequest', `${root} refused: incomplete request`);
  return lookup;
}
