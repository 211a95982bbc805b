// Builds the unsigned proof documents with DOM calls only (createElementNS/createTextNode and
// XMLSerializer), so every value is escaped by the serializer and none is ever spliced into markup.
// Values are checked first against the same limits wsdl/Proof.xsd declares: a built proof always
// validates, and nothing that would not survive a parse round trip reaches the seal.
import { DOMImplementation, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import { EpostError } from '../errors/index.js';
import { isValidEnterpriseNumber, isValidSsin } from '../identifiers/index.js';
import { PROOF_NS, PROOF_VERSION, type DeliveryProofData, type DocumentFacts, type ProofKind, type ProofParty, type ProofRecipient, type SendProofData } from './model.js';
import { SHA256, UNSTABLE_XML_CHARACTER, childElements } from './xml.js';

const LANGUAGES = new Set(['fr', 'nl', 'de', 'en']);
const SHA256_BASE64 = /^[A-Za-z0-9+/]{43}=$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const IDENTIFIER = /^[!-~]{1,64}$/;

function invalid(field: string, rule: string): never {
  throw new EpostError('InvalidRequest', `Proof field ${field} ${rule}`);
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
  if (!/^\d{4}-/.test(iso)) invalid(field, 'must be between the years 0000 and 9999');
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

/** Appends an element in the proof namespace holding `value` as a text node. */
function leaf(doc: Document, parent: Element, name: string, value: string, attributes: Record<string, string> = {}): Element {
  const el = doc.createElementNS(PROOF_NS, name);
  for (const [attr, attrValue] of Object.entries(attributes)) el.setAttribute(attr, attrValue);
  el.appendChild(doc.createTextNode(value));
  parent.appendChild(el);
  return el;
}

function group(doc: Document, parent: Element, name: string): Element {
  const el = doc.createElementNS(PROOF_NS, name);
  parent.appendChild(el);
  return el;
}

function appendParty(doc: Document, root: Element, party: ProofParty): void {
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

function newProof(kind: ProofKind): { doc: Document; root: Element } {
  const doc = new DOMImplementation().createDocument(PROOF_NS, kind, null);
  const root = doc.documentElement!;
  root.setAttribute('Version', PROOF_VERSION);
  return { doc, root };
}

/** Line breaks and two-space indentation between elements, so that a person can read the proof. */
function indent(doc: Document, el: Element, depth: number): void {
  const children = childElements(el);
  if (children.length === 0) return;
  for (const child of children) {
    el.insertBefore(doc.createTextNode(`\n${'  '.repeat(depth + 1)}`), child);
    indent(doc, child, depth + 1);
  }
  el.appendChild(doc.createTextNode(`\n${'  '.repeat(depth)}`));
}

function serialize(doc: Document): string {
  indent(doc, doc.documentElement!, 0);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(doc)}`;
}

/** The unsigned send-proof: what was submitted, by whom, for whom, and when ePost received it. */
export function buildSendProof(data: SendProofData): string {
  const { doc, root } = newProof('SendProof');
  leaf(doc, root, 'ProofId', identifier('ProofId', data.proofId));
  leaf(doc, root, 'RegisteredMailId', identifier('RegisteredMailId', data.registeredMailId));
  leaf(doc, root, 'SenderReference', text('SenderReference', data.senderReference, 256));
  leaf(doc, root, 'SubmissionTime', utcTime('SubmissionTime', data.submissionTime));
  appendParty(doc, root, data.sender);
  appendRecipient(doc, root, data.recipient);
  leaf(doc, root, 'Subject', text('Subject', data.subject, 1000));
  if (data.language !== undefined) {
    if (!LANGUAGES.has(data.language)) invalid('Language', 'must be fr, nl, de or en');
    leaf(doc, root, 'Language', data.language);
  }
  appendDocument(doc, root, data.document);
  leaf(doc, root, 'RequestDigest', sha256Base64('RequestDigest', data.requestDigestSha256), { DigestMethod: SHA256 });
  return serialize(doc);
}

/** The unsigned delivery proof: the registered mail reached the recipient's eBox at DeliveryTime. */
export function buildDeliveryProof(data: DeliveryProofData): string {
  const { doc, root } = newProof('DeliveryProof');
  leaf(doc, root, 'ProofId', identifier('ProofId', data.proofId));
  leaf(doc, root, 'RegisteredMailId', identifier('RegisteredMailId', data.registeredMailId));
  leaf(doc, root, 'SenderReference', text('SenderReference', data.senderReference, 256));
  leaf(doc, root, 'DeliveryTime', utcTime('DeliveryTime', data.deliveryTime));
  appendParty(doc, root, data.sender);
  appendRecipient(doc, root, data.recipient);
  const ebox = group(doc, root, 'EBox');
  if (data.eBox.kind !== 'citizen' && data.eBox.kind !== 'enterprise') invalid('EBox/Kind', 'must be citizen or enterprise');
  leaf(doc, ebox, 'Kind', data.eBox.kind);
  leaf(doc, ebox, 'OwnerId', identifier('EBox/OwnerId', data.eBox.ownerId));
  leaf(doc, ebox, 'MessageId', identifier('EBox/MessageId', data.eBox.messageId));
  appendDocument(doc, root, data.document);
  const ref = group(doc, root, 'SendProofReference');
  leaf(doc, ref, 'ProofId', identifier('SendProofReference/ProofId', data.sendProof.proofId));
  leaf(doc, ref, 'Digest', sha256Base64('SendProofReference/Digest', data.sendProof.digestSha256), { DigestMethod: SHA256 });
  return serialize(doc);
}
