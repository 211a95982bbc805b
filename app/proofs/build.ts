// Builds the unsigned evidence documents with DOM calls only (createElementNS/createTextNode and
// XMLSerializer), so every value is escaped by the serializer and none is ever spliced into markup,
// and reads them back into facts. Values are checked first against the limits wsdl/Evidence.xsd
// declares and the per-event rules of model.ts: a built evidence always validates, and nothing
// that would not survive a parse round trip reaches the seal.
import { hash } from 'node:crypto';
import { DOMImplementation, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import { EpostError } from '../errors/index.js';
import { isValidEnterpriseNumber, isValidSsin } from '../identifiers/index.js';
import {
  ETSI_EVENT_PREFIX,
  EVENT_RULES,
  EVIDENCE_NS,
  EVIDENCE_VERSION,
  eventUri,
  isEvidenceEvent,
  type DocumentFacts,
  type EBoxFacts,
  type EvidenceEvent,
  type EvidenceFacts,
  type EvidenceLink,
  type EvidenceReason,
  type Language,
  type ProofParty,
  type ProofRecipient,
} from './model.js';
import { DS_NS, SHA256, UNSTABLE_XML_CHARACTER, childElements, parseProofXml } from './xml.js';

const LANGUAGES = new Set(['fr', 'nl', 'de', 'en']);
const SHA256_BASE64 = /^[A-Za-z0-9+/]{43}=$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const IDENTIFIER = /^[!-~]{1,64}$/;
const REASON_CODE = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const UTC_TIME = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;

function invalid(field: string, rule: string): never {
  throw new EpostError('InvalidRequest', `Evidence field ${field} ${rule}`);
}

/** Free text: 1..max characters (code points, as XML Schema counts them), all of them XML-stable. */
function text(field: string, value: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0) invalid(field, 'must not be empty');
  if ([...value].length > max) invalid(field, `must be at most ${max} characters`);
  if (UNSTABLE_XML_CHARACTER.test(value)) invalid(field, 'contains a character that XML cannot carry unchanged');
  return value;
}

function identifier(field: string, value: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) invalid(field, 'must be 1 to 64 printable ASCII characters without spaces');
  return value;
}

function utcTime(field: string, value: Date): string {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) invalid(field, 'must be a valid date');
  const iso = value.toISOString(); // always UTC, milliseconds, Z
  if (!UTC_TIME.test(iso)) invalid(field, 'must be between the years 0000 and 9999');
  return iso;
}

function sha256Base64(field: string, value: string): string {
  if (typeof value !== 'string' || !SHA256_BASE64.test(value)) invalid(field, 'must be the base64 of a SHA-256 digest');
  return value;
}

function enterpriseNumber(field: string, value: string): string {
  if (!isValidEnterpriseNumber(value)) invalid(field, 'must be a valid enterprise number');
  return value;
}

/** Appends an element in the evidence namespace holding `value` as a text node. */
function leaf(doc: Document, parent: Element, name: string, value: string, attributes: Record<string, string> = {}): Element {
  const el = doc.createElementNS(EVIDENCE_NS, name);
  for (const [attr, attrValue] of Object.entries(attributes)) el.setAttribute(attr, attrValue);
  el.appendChild(doc.createTextNode(value));
  parent.appendChild(el);
  return el;
}

function group(doc: Document, parent: Element, name: string): Element {
  const el = doc.createElementNS(EVIDENCE_NS, name);
  parent.appendChild(el);
  return el;
}

function appendParty(doc: Document, root: Element, party: ProofParty): void {
  if (!party) invalid('Sender', 'is required');
  const sender = group(doc, root, 'Sender');
  leaf(doc, sender, 'EnterpriseNumber', enterpriseNumber('Sender/EnterpriseNumber', party.enterpriseNumber));
  leaf(doc, sender, 'Name', text('Sender/Name', party.name, 512));
  leaf(doc, sender, 'CertificateSubject', text('Sender/CertificateSubject', party.certificateSubject, 2048));
  if (typeof party.certificateFingerprintSha256 !== 'string' || !SHA256_HEX.test(party.certificateFingerprintSha256)) {
    invalid('Sender/CertificateFingerprint', 'must be the lowercase hex of a SHA-256 digest');
  }
  leaf(doc, sender, 'CertificateFingerprint', party.certificateFingerprintSha256, { Algorithm: SHA256 });
}

function appendRecipient(doc: Document, root: Element, recipient: ProofRecipient): void {
  const el = group(doc, root, 'Recipient');
  if (recipient.kind === 'citizen') {
    if (!isValidSsin(recipient.id)) invalid('Recipient/SSIN', 'must be a valid SSIN');
    leaf(doc, el, 'SSIN', recipient.id);
  } else if (recipient.kind === 'enterprise') {
    leaf(doc, el, 'EnterpriseNumber', enterpriseNumber('Recipient/EnterpriseNumber', recipient.id));
  } else {
    invalid('Recipient', 'must be a citizen or an enterprise');
  }
}

function appendDocument(doc: Document, root: Element, facts: DocumentFacts): void {
  const el = group(doc, root, 'Document');
  leaf(doc, el, 'FileName', text('Document/FileName', facts.fileName, 255));
  leaf(doc, el, 'MimeType', text('Document/MimeType', facts.mimeType, 255));
  if (!Number.isSafeInteger(facts.size) || facts.size < 0) invalid('Document/Size', 'must be a non-negative integer');
  leaf(doc, el, 'Size', String(facts.size));
  leaf(doc, el, 'Digest', sha256Base64('Document/Digest', facts.digestSha256), { DigestMethod: SHA256 });
}

function appendEBox(doc: Document, root: Element, eBox: EBoxFacts): void {
  const el = group(doc, root, 'EBox');
  if (eBox.kind !== 'citizen' && eBox.kind !== 'enterprise') invalid('EBox/Kind', 'must be citizen or enterprise');
  leaf(doc, el, 'Kind', eBox.kind);
  leaf(doc, el, 'OwnerId', identifier('EBox/OwnerId', eBox.ownerId));
  leaf(doc, el, 'MessageId', identifier('EBox/MessageId', eBox.messageId));
}

function appendPrevious(doc: Document, root: Element, previous: EvidenceLink): void {
  const el = group(doc, root, 'PreviousEvidence');
  leaf(doc, el, 'EvidenceId', identifier('PreviousEvidence/EvidenceId', previous.evidenceId));
  if (!isEvidenceEvent(previous.event)) invalid('PreviousEvidence/Event', 'must be an ePost evidence event');
  leaf(doc, el, 'Event', eventUri(previous.event));
  leaf(doc, el, 'Digest', sha256Base64('PreviousEvidence/Digest', previous.digestSha256), { DigestMethod: SHA256 });
}

function appendReasons(doc: Document, root: Element, reasons: EvidenceReason[]): void {
  if (!Array.isArray(reasons) || reasons.length === 0 || reasons.length > 16) invalid('Reasons', 'must hold 1 to 16 reasons');
  const el = group(doc, root, 'Reasons');
  reasons.forEach((reason, i) => {
    if (typeof reason.code !== 'string' || !REASON_CODE.test(reason.code)) invalid(`Reasons/Reason[${i + 1}]/@Code`, 'must be a short alphanumeric code');
    leaf(doc, el, 'Reason', text(`Reasons/Reason[${i + 1}]`, reason.text, 2000), { Code: reason.code });
  });
}

/** Applies a presence rule: returns whether the part is written. */
function present(field: string, value: unknown, rule: 'required' | 'optional' | 'absent', event: EvidenceEvent): boolean {
  const given = value !== undefined && value !== null;
  if (rule === 'required' && !given) invalid(field, `is required for a ${event} evidence`);
  if (rule === 'absent' && given) invalid(field, `is not part of a ${event} evidence`);
  return given;
}

/** Line breaks and two-space indentation between elements, so that a person can read the evidence. */
function indent(doc: Document, el: Element, depth: number): void {
  const children = childElements(el);
  if (children.length === 0) return;
  for (const child of children) {
    el.insertBefore(doc.createTextNode(`\n${'  '.repeat(depth + 1)}`), child);
    indent(doc, child, depth + 1);
  }
  el.appendChild(doc.createTextNode(`\n${'  '.repeat(depth)}`));
}

/** The unsigned evidence document of one event. Throws EpostError('InvalidRequest') naming the bad field. */
export function buildEvidence(facts: EvidenceFacts): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(buildEvidenceDocument(facts))}`;
}

/**
 * The same document as a DOM, which the sealer signs in place (no serialise and parse in between:
 * every value was checked above to survive that round trip unchanged).
 */
export function buildEvidenceDocument(facts: EvidenceFacts): Document {
  if (!isEvidenceEvent(facts.event)) invalid('Event', 'must be an ePost evidence event');
  const rule = EVENT_RULES[facts.event];
  const doc = new DOMImplementation().createDocument(EVIDENCE_NS, 'Evidence', null);
  const root = doc.documentElement!;
  root.setAttribute('Version', EVIDENCE_VERSION);

  leaf(doc, root, 'EvidenceId', identifier('EvidenceId', facts.evidenceId));
  leaf(doc, root, 'Event', eventUri(facts.event));
  leaf(doc, root, 'EventTime', utcTime('EventTime', facts.eventTime));
  leaf(doc, root, 'RegisteredMailId', identifier('RegisteredMailId', facts.registeredMailId));
  if (present('SenderReference', facts.senderReference, rule.mailFacts, facts.event)) {
    leaf(doc, root, 'SenderReference', text('SenderReference', facts.senderReference!, 256));
  }
  leaf(doc, root, 'SubmissionTime', utcTime('SubmissionTime', facts.submissionTime));
  appendParty(doc, root, facts.sender);
  if (present('Recipient', facts.recipient, rule.mailFacts, facts.event)) appendRecipient(doc, root, facts.recipient!);
  if (present('Subject', facts.subject, rule.mailFacts, facts.event)) leaf(doc, root, 'Subject', text('Subject', facts.subject!, 1000));
  if (facts.language !== undefined) {
    if (!LANGUAGES.has(facts.language)) invalid('Language', 'must be fr, nl, de or en');
    leaf(doc, root, 'Language', facts.language);
  }
  if (present('Document', facts.document, rule.mailFacts, facts.event)) appendDocument(doc, root, facts.document!);
  if (present('RequestDigest', facts.requestDigestSha256, rule.requestDigest, facts.event)) {
    leaf(doc, root, 'RequestDigest', sha256Base64('RequestDigest', facts.requestDigestSha256!), { DigestMethod: SHA256 });
  }
  if (present('EBox', facts.eBox, rule.eBox, facts.event)) appendEBox(doc, root, facts.eBox!);
  if (present('PreviousEvidence', facts.previous, rule.follows.length > 0 ? 'required' : 'absent', facts.event)) {
    if (!rule.follows.includes(facts.previous!.event)) invalid('PreviousEvidence/Event', `a ${facts.event} evidence cannot follow a ${facts.previous!.event}`);
    appendPrevious(doc, root, facts.previous!);
  }
  if (present('Reasons', facts.reasons, rule.reasons, facts.event)) appendReasons(doc, root, facts.reasons!);

  indent(doc, root, 0);
  return doc;
}

// ----- Reading an evidence back into facts --------------------------------------------------------

function malformed(reason: string): never {
  throw new EpostError('FailedCheck', `Evidence refused: ${reason}`);
}

/** Reads the children of an element in order, refusing anything unexpected. */
class ChildCursor {
  private index = 0;
  private readonly children: Element[];
  constructor(
    parent: Element,
    private readonly path: string,
  ) {
    this.children = childElements(parent);
    for (let n = parent.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === n.TEXT_NODE && !/^\s*$/.test(n.nodeValue ?? '')) malformed(`${path} holds text between its elements`);
    }
  }

  optional(name: string, ns = EVIDENCE_NS): Element | undefined {
    const next = this.children[this.index];
    if (next && next.namespaceURI === ns && next.localName === name) {
      this.index++;
      return next;
    }
    return undefined;
  }

  required(name: string): Element {
    return this.optional(name) ?? malformed(`${this.path}/${name} is missing or out of place`);
  }

  end(): void {
    const extra = this.children[this.index];
    if (extra) malformed(`${this.path} holds an unexpected element ${extra.localName}`);
  }
}

function textOf(el: Element): string {
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType !== n.TEXT_NODE && n.nodeType !== n.CDATA_SECTION_NODE) malformed(`${el.localName} must hold text only`);
  }
  return el.textContent ?? '';
}

function dateOf(el: Element): Date {
  const value = textOf(el);
  if (!UTC_TIME.test(value)) malformed(`${el.localName} is not a UTC time with milliseconds`);
  return new Date(value);
}

function digestOf(el: Element): string {
  if (el.getAttribute('DigestMethod') !== SHA256) malformed(`${el.localName} must be a SHA-256 digest`);
  return textOf(el);
}

function eventOf(el: Element): EvidenceEvent {
  const uri = textOf(el);
  const name = uri.startsWith(ETSI_EVENT_PREFIX) ? uri.slice(ETSI_EVENT_PREFIX.length) : '';
  if (!isEvidenceEvent(name)) malformed(`unknown event "${uri}"`);
  return name;
}

/**
 * The facts of an evidence document (sealed or not), read strictly: the root, the order of the
 * elements and the per-event rules are checked; values are checked again by rebuilding. The
 * signature is NOT checked here (see verifyEvidence).
 */
export function readEvidence(docOrXml: Document | string): EvidenceFacts {
  const doc = typeof docOrXml === 'string' ? parseProofXml(docOrXml, 'evidence') : docOrXml;
  const root = doc.documentElement!;
  if (root.namespaceURI !== EVIDENCE_NS || root.localName !== 'Evidence') malformed('the document is not an ePost Evidence');
  if (root.getAttribute('Version') !== EVIDENCE_VERSION) malformed(`unsupported evidence version "${root.getAttribute('Version')}"`);
  const c = new ChildCursor(root, 'Evidence');
  const evidenceId = textOf(c.required('EvidenceId'));
  const event = eventOf(c.required('Event'));
  const facts: EvidenceFacts = {
    evidenceId,
    event,
    eventTime: dateOf(c.required('EventTime')),
    registeredMailId: textOf(c.required('RegisteredMailId')),
    submissionTime: new Date(0),
    sender: undefined as unknown as ProofParty,
  };
  const senderReference = c.optional('SenderReference');
  if (senderReference) facts.senderReference = textOf(senderReference);
  facts.submissionTime = dateOf(c.required('SubmissionTime'));
  const s = new ChildCursor(c.required('Sender'), 'Evidence/Sender');
  facts.sender = {
    enterpriseNumber: textOf(s.required('EnterpriseNumber')),
    name: textOf(s.required('Name')),
    certificateSubject: textOf(s.required('CertificateSubject')),
    certificateFingerprintSha256: (() => {
      const el = s.required('CertificateFingerprint');
      if (el.getAttribute('Algorithm') !== SHA256) malformed('Sender/CertificateFingerprint must be SHA-256');
      return textOf(el);
    })(),
  };
  s.end();
  const recipient = c.optional('Recipient');
  if (recipient) {
    const r = new ChildCursor(recipient, 'Evidence/Recipient');
    const ssin = r.optional('SSIN');
    const enterprise = ssin ? undefined : r.required('EnterpriseNumber');
    r.end();
    facts.recipient = ssin ? { kind: 'citizen', id: textOf(ssin) } : { kind: 'enterprise', id: textOf(enterprise!) };
  }
  const subject = c.optional('Subject');
  if (subject) facts.subject = textOf(subject);
  const language = c.optional('Language');
  if (language) facts.language = textOf(language) as Language;
  const document = c.optional('Document');
  if (document) {
    const d = new ChildCursor(document, 'Evidence/Document');
    const fileName = textOf(d.required('FileName'));
    const mimeType = textOf(d.required('MimeType'));
    const size = textOf(d.required('Size'));
    if (!/^(0|[1-9][0-9]{0,15})$/.test(size)) malformed('Document/Size is not a size in bytes');
    facts.document = { fileName, mimeType, size: Number(size), digestSha256: digestOf(d.required('Digest')) };
    d.end();
  }
  const requestDigest = c.optional('RequestDigest');
  if (requestDigest) facts.requestDigestSha256 = digestOf(requestDigest);
  const eBox = c.optional('EBox');
  if (eBox) {
    const e = new ChildCursor(eBox, 'Evidence/EBox');
    facts.eBox = { kind: textOf(e.required('Kind')) as EBoxFacts['kind'], ownerId: textOf(e.required('OwnerId')), messageId: textOf(e.required('MessageId')) };
    e.end();
  }
  const previous = c.optional('PreviousEvidence');
  if (previous) {
    const p = new ChildCursor(previous, 'Evidence/PreviousEvidence');
    facts.previous = { evidenceId: textOf(p.required('EvidenceId')), event: eventOf(p.required('Event')), digestSha256: digestOf(p.required('Digest')) };
    p.end();
  }
  const reasons = c.optional('Reasons');
  if (reasons) {
    const list = childElements(reasons);
    facts.reasons = list.map((el) => {
      if (el.namespaceURI !== EVIDENCE_NS || el.localName !== 'Reason') malformed('Reasons holds an unexpected element');
      return { code: el.getAttribute('Code') ?? '', text: textOf(el) };
    });
    new ChildCursor(reasons, 'Evidence/Reasons'); // refuses stray text
  }
  c.optional('Signature', DS_NS);
  c.end();
  // The builder is the one definition of what a valid evidence holds: what it refuses, we refuse.
  try {
    buildEvidence(facts);
  } catch (err) {
    malformed((err as Error).message);
  }
  return facts;
}

/** The link a following evidence carries to `sealed` (its id, event and the SHA-256 of its bytes). */
export function linkTo(sealed: Buffer): EvidenceLink {
  const facts = readEvidence(sealed.toString('utf8'));
  return { evidenceId: facts.evidenceId, event: facts.event, digestSha256: hash('sha256', sealed, 'base64') };
}

export interface FollowingEvent {
  event: EvidenceEvent;
  evidenceId: string;
  eventTime: Date;
  /** Defaults to the eBox of the previous evidence. */
  eBox?: EBoxFacts;
  reasons?: EvidenceReason[];
}

/**
 * The facts of the evidence that follows `previousSealed` (an evidence ePost issued and stored):
 * the mail's facts are carried over, and the new evidence references the previous one by id, event
 * and the SHA-256 of its exact bytes.
 */
export function followingEvidence(previousSealed: Buffer, next: FollowingEvent): EvidenceFacts {
  return evidenceFollowing(readEvidence(previousSealed.toString('utf8')), previousSealed, next);
}

/**
 * followingEvidence when the previous evidence's facts are still in hand (the send path seals the
 * send-proof and the delivery proof together): `previous` must be the facts `previousSealed` was
 * sealed from, so nothing needs reading back.
 */
export function evidenceFollowing(previous: EvidenceFacts, previousSealed: Buffer, next: FollowingEvent): EvidenceFacts {
  const eBoxRule = EVENT_RULES[next.event]?.eBox;
  const eBox = next.eBox ?? (eBoxRule === 'absent' ? undefined : previous.eBox);
  return {
    evidenceId: next.evidenceId,
    event: next.event,
    eventTime: next.eventTime,
    registeredMailId: previous.registeredMailId,
    ...(previous.senderReference !== undefined ? { senderReference: previous.senderReference } : {}),
    submissionTime: previous.submissionTime,
    sender: previous.sender,
    ...(previous.recipient ? { recipient: previous.recipient } : {}),
    ...(previous.subject !== undefined ? { subject: previous.subject } : {}),
    ...(previous.language ? { language: previous.language } : {}),
    ...(previous.document ? { document: previous.document } : {}),
    ...(eBox ? { eBox } : {}),
    previous: { evidenceId: previous.evidenceId, event: previous.event, digestSha256: hash('sha256', previousSealed, 'base64') },
    ...(next.reasons ? { reasons: next.reasons } : {}),
  };
}
