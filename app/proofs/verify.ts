// Verification of a sealed evidence (or bundle manifest) by anyone holding the trust anchors:
// strict parsing; exactly one signature with exactly the shape ProofSealer writes (XAdES B-T) and
// allowed algorithms; the signer certificate taken from X509Data but trusted only after its path to
// an anchor is validated at the time of the signature timestamp, and bound by SigningCertificateV2;
// every certificate in KeyInfo on that path; the XML signature checked by xml-crypto with that
// certificate; the SignatureTimeStamp checked against the canonical ds:SignatureValue.
import { createHash } from 'node:crypto';
import type { Document, Element } from '@xmldom/xmldom';
import { EpostError } from '../errors/index.js';
import { parsePemCertificates, sameCertificate, validateCertificatePath, x509 } from '../pki/index.js';
import { issuerSerialDer, verifyTimestampToken, type VerifiedTimestamp } from '../timestamp/index.js';
import { StrictSignedXml, digestHashByUri, signatureAlgorithmByUri } from '../xmldsig/index.js';
import { readEvidence } from './build.js';
import { EVIDENCE_NS, EVIDENCE_VERSION, type EvidenceFacts } from './model.js';
import { SEALED_ROOTS } from './seal.js';
import { DS_NS, ENVELOPED_SIGNATURE, EXC_C14N, XADES_NS, XADES_SIGNED_PROPERTIES_TYPE, childElements, exclusiveCanonical, parseProofXml } from './xml.js';

const BASE64 = /^[A-Za-z0-9+/\s]+={0,2}\s*$/;
const XSD_DATE_TIME = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$/;
/** How far SigningTime and EventTime may lie after the timestamp: the clocks of the sealer and of a TSA differ a little. */
const CLOCK_TOLERANCE_MS = 2 * 60 * 1000;

export interface VerifiedSeal {
  /** The verified document (signature included). */
  document: Document;
  /** Root element name: Evidence or EvidenceBundleManifest. */
  root: string;
  /** SigningTime, a signed property. */
  signingTime: Date;
  /** The signature timestamp: the seal existed at timestamp.genTime. */
  timestamp: VerifiedTimestamp;
  /** Sealing certificate path as validated, sealing certificate first and anchor last. */
  sealingPath: x509.X509Certificate[];
  signerSubject: string;
  /** The DER TimeStampToken of the SignatureTimeStamp. */
  token: Buffer;
  /** The exclusive-C14N ds:SignatureValue the token covers. */
  signatureValueC14n: string;
  /** The sealed bytes as verified. */
  bytes: Buffer;
  /** Base64 SHA-256 of the sealed bytes. */
  digestSha256: string;
}

export interface VerifiedEvidence extends VerifiedSeal {
  facts: EvidenceFacts;
}

function fail(reason: string, cause?: unknown): never {
  throw new EpostError('FailedCheck', `Sealed document refused: ${reason}`, cause);
}

/** The single child element `ns:name` of `parent`, or a refusal naming `path`. */
function only(parent: Element, ns: string, name: string, path: string): Element {
  const found = childElements(parent).filter((el) => el.namespaceURI === ns && el.localName === name);
  if (found.length !== 1) fail(`${path} must appear exactly once`);
  return found[0]!;
}

/** The element children of `parent`, which must be exactly `names` (in the given namespace), in order. */
function exactly(parent: Element, names: Array<[string, string]>, path: string): Element[] {
  const children = childElements(parent);
  const ok = children.length === names.length && children.every((c, i) => c.namespaceURI === names[i]![0] && c.localName === names[i]![1]);
  if (!ok) fail(`${path} must hold exactly ${names.map(([, n]) => n).join(', ')}`);
  return children;
}

function algorithmOf(el: Element, path: string): string {
  const value = el.getAttribute('Algorithm');
  if (!value) fail(`${path} has no Algorithm`);
  return value;
}

function transformsOf(reference: Element, path: string): string[] {
  return childElements(only(reference, DS_NS, 'Transforms', `${path}/ds:Transforms`)).map((t, i) => {
    if (t.namespaceURI !== DS_NS || t.localName !== 'Transform' || childElements(t).length > 0) fail(`unexpected content in ${path}/ds:Transforms`);
    return algorithmOf(t, `${path}/ds:Transform[${i + 1}]`);
  });
}

function base64Text(el: Element, path: string): Buffer {
  const b64 = el.textContent ?? '';
  if (!BASE64.test(b64)) fail(`${path} is not base64`);
  return Buffer.from(b64.replace(/\s+/g, ''), 'base64');
}

interface SignatureShape {
  signature: Element;
  signatureValue: Element;
  signedProperties: Element;
  token: Buffer;
  certificates: x509.X509Certificate[];
}

/** The signature must be exactly what ProofSealer writes, modulo the allowed algorithm choices. */
function checkShape(signature: Element): SignatureShape {
  const signatureId = signature.getAttribute('Id');
  if (!signatureId) fail('ds:Signature has no Id for the XAdES properties to target');
  const [signedInfo, signatureValue, keyInfo, object] = exactly(
    signature,
    [
      [DS_NS, 'SignedInfo'],
      [DS_NS, 'SignatureValue'],
      [DS_NS, 'KeyInfo'],
      [DS_NS, 'Object'],
    ],
    'ds:Signature',
  ) as [Element, Element, Element, Element];

  const [c14n, method, documentRef, propertiesRef] = exactly(
    signedInfo,
    [
      [DS_NS, 'CanonicalizationMethod'],
      [DS_NS, 'SignatureMethod'],
      [DS_NS, 'Reference'],
      [DS_NS, 'Reference'],
    ],
    'ds:SignedInfo',
  ) as [Element, Element, Element, Element];
  if (algorithmOf(c14n, 'ds:CanonicalizationMethod') !== EXC_C14N) fail('the SignedInfo canonicalization must be exclusive C14N');
  const signatureMethod = algorithmOf(method, 'ds:SignatureMethod');
  if (!signatureAlgorithmByUri(signatureMethod)) fail(`the signature method ${signatureMethod} is refused`);

  if (!documentRef.hasAttribute('URI') || documentRef.getAttribute('URI') !== '') fail('the first signature reference must cover the whole document (URI="")');
  const documentTransforms = transformsOf(documentRef, 'ds:Reference[1]');
  if (documentTransforms.length !== 2 || documentTransforms[0] !== ENVELOPED_SIGNATURE || documentTransforms[1] !== EXC_C14N) {
    fail('the document reference transforms must be enveloped-signature then exclusive C14N');
  }
  for (const [i, ref] of [documentRef, propertiesRef].entries()) {
    const digestMethod = algorithmOf(only(ref, DS_NS, 'DigestMethod', `ds:Reference[${i + 1}]/ds:DigestMethod`), 'ds:DigestMethod');
    if (!digestHashByUri(digestMethod)) fail(`the digest method ${digestMethod} is refused`);
  }

  const [qualifying] = exactly(object, [[XADES_NS, 'QualifyingProperties']], 'ds:Object') as [Element];
  if (qualifying.getAttribute('Target') !== `#${signatureId}`) fail('xades:QualifyingProperties does not target this signature');
  const [signedProperties, unsignedProperties] = exactly(
    qualifying,
    [
      [XADES_NS, 'SignedProperties'],
      [XADES_NS, 'UnsignedProperties'],
    ],
    'xades:QualifyingProperties',
  ) as [Element, Element];
  const propertiesId = signedProperties.getAttribute('Id');
  if (!propertiesId || propertiesRef.getAttribute('URI') !== `#${propertiesId}`) fail('the second signature reference must cover xades:SignedProperties');
  if (propertiesRef.getAttribute('Type') !== XADES_SIGNED_PROPERTIES_TYPE) fail('the SignedProperties reference must carry the XAdES SignedProperties Type');
  const propertiesTransforms = transformsOf(propertiesRef, 'ds:Reference[2]');
  if (propertiesTransforms.length !== 1 || propertiesTransforms[0] !== EXC_C14N) fail('the SignedProperties reference transform must be exclusive C14N');

  // DataObjectFormat must describe the document reference (XAdES baseline B-B).
  const [, dataObjectProperties] = exactly(
    signedProperties,
    [
      [XADES_NS, 'SignedSignatureProperties'],
      [XADES_NS, 'SignedDataObjectProperties'],
    ],
    'xades:SignedProperties',
  ) as [Element, Element];
  const [format] = exactly(dataObjectProperties, [[XADES_NS, 'DataObjectFormat']], 'xades:SignedDataObjectProperties') as [Element];
  const documentRefId = documentRef.getAttribute('Id');
  if (!documentRefId || format.getAttribute('ObjectReference') !== `#${documentRefId}`) fail('xades:DataObjectFormat does not describe the document reference');

  const [unsignedSignatureProperties] = exactly(unsignedProperties, [[XADES_NS, 'UnsignedSignatureProperties']], 'xades:UnsignedProperties') as [Element];
  const [stamp] = exactly(unsignedSignatureProperties, [[XADES_NS, 'SignatureTimeStamp']], 'xades:UnsignedSignatureProperties') as [Element];
  const c14nMethods = childElements(stamp).filter((el) => el.namespaceURI === DS_NS && el.localName === 'CanonicalizationMethod');
  if (c14nMethods.length !== 1 || algorithmOf(c14nMethods[0]!, 'xades:SignatureTimeStamp/ds:CanonicalizationMethod') !== EXC_C14N) {
    fail('the signature timestamp must be computed over exclusive C14N');
  }
  const token = base64Text(only(stamp, XADES_NS, 'EncapsulatedTimeStamp', 'xades:EncapsulatedTimeStamp'), 'xades:EncapsulatedTimeStamp');

  const [x509Data] = exactly(keyInfo, [[DS_NS, 'X509Data']], 'ds:KeyInfo') as [Element];
  const certElements = childElements(x509Data);
  if (certElements.length === 0 || certElements.some((el) => el.namespaceURI !== DS_NS || el.localName !== 'X509Certificate')) {
    fail('ds:X509Data must hold certificates only');
  }
  const certificates = certElements.map((el) => {
    try {
      return new x509.X509Certificate(new Uint8Array(base64Text(el, 'ds:X509Certificate')));
    } catch (err) {
      return fail('a ds:X509Certificate is not a readable certificate', err);
    }
  });
  return { signature, signatureValue, signedProperties, token, certificates };
}

/** SigningTime and SigningCertificateV2 (the signer certificate's digest and issuer/serial). */
function checkSignedSignatureProperties(signedProperties: Element, signer: x509.X509Certificate): Date {
  const properties = only(signedProperties, XADES_NS, 'SignedSignatureProperties', 'xades:SignedSignatureProperties');
  const [time, signingCertificate] = exactly(
    properties,
    [
      [XADES_NS, 'SigningTime'],
      [XADES_NS, 'SigningCertificateV2'],
    ],
    'xades:SignedSignatureProperties',
  ) as [Element, Element];
  const timeText = (time.textContent ?? '').trim();
  if (!XSD_DATE_TIME.test(timeText)) fail('xades:SigningTime is not a date and time');
  const [cert] = exactly(signingCertificate, [[XADES_NS, 'Cert']], 'xades:SigningCertificateV2') as [Element];
  const [certDigest, issuerSerial] = exactly(
    cert,
    [
      [XADES_NS, 'CertDigest'],
      [XADES_NS, 'IssuerSerialV2'],
    ],
    'xades:Cert',
  ) as [Element, Element];
  const [digestMethod, digestValue] = exactly(
    certDigest,
    [
      [DS_NS, 'DigestMethod'],
      [DS_NS, 'DigestValue'],
    ],
    'xades:CertDigest',
  ) as [Element, Element];
  const hash = digestHashByUri(algorithmOf(digestMethod, 'xades:CertDigest/ds:DigestMethod'));
  if (!hash) fail('the SigningCertificateV2 digest method is refused');
  const der = Buffer.from(signer.rawData);
  if (!base64Text(digestValue, 'xades:CertDigest/ds:DigestValue').equals(createHash(hash).update(der).digest())) {
    fail('xades:SigningCertificateV2 does not name the certificate that signed');
  }
  if (!base64Text(issuerSerial, 'xades:IssuerSerialV2').equals(issuerSerialDer(der))) fail('xades:IssuerSerialV2 does not name the certificate that signed');
  return new Date(timeText);
}

/** Refuses comments, processing instructions and anything outside the root (none of it is signed). */
function checkNothingUnsigned(doc: Document): void {
  const root = doc.documentElement!;
  // xmldom keeps the XML declaration as a leading processing instruction named "xml".
  for (let n = doc.firstChild; n; n = n.nextSibling) {
    const isDeclaration = n === doc.firstChild && n.nodeType === n.PROCESSING_INSTRUCTION_NODE && n.nodeName === 'xml';
    const isBlank = n.nodeType === n.TEXT_NODE && /^\s*$/.test(n.nodeValue ?? '');
    if (n !== root && !isDeclaration && !isBlank) fail('content outside the root element is refused');
  }
  const walk = (node: Element): void => {
    for (let n = node.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === n.COMMENT_NODE || n.nodeType === n.PROCESSING_INSTRUCTION_NODE) fail('comments and processing instructions are refused');
      if (n.nodeType === n.ELEMENT_NODE) walk(n as Element);
    }
  };
  walk(root);
}

/**
 * Verifies the seal of an ePost Evidence or EvidenceBundleManifest against the given trust anchors
 * (which must cover both the sealing certificate and the TSA). Throws EpostError('FailedCheck')
 * with a reason naming what failed.
 */
export async function verifySeal(sealed: Buffer | string, trustAnchorsPem: string[], intermediatesPem: string[] = []): Promise<VerifiedSeal> {
  try {
    return await verifySealOnce(sealed, trustAnchorsPem, intermediatesPem);
  } catch (err) {
    // Every failure is FailedCheck for the caller, whatever raised it (see verifyTimestampToken).
    if (err instanceof EpostError && err.code === 'FailedCheck') throw err;
    return fail(err instanceof EpostError ? err.message : 'the document could not be processed', err);
  }
}

async function verifySealOnce(sealed: Buffer | string, trustAnchorsPem: string[], intermediatesPem: string[]): Promise<VerifiedSeal> {
  const bytes = typeof sealed === 'string' ? Buffer.from(sealed, 'utf8') : sealed;
  let xml: string;
  try {
    xml = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (err) {
    return fail('the document is not UTF-8', err);
  }
  const doc = parseProofXml(xml, 'sealed document');
  const root = doc.documentElement!;
  if (root.namespaceURI !== EVIDENCE_NS || !SEALED_ROOTS.has(root.localName ?? '')) fail('the document is not an ePost Evidence, EvidenceBundleManifest or BatchManifest');
  if (root.getAttribute('Version') !== EVIDENCE_VERSION) fail(`unsupported version "${root.getAttribute('Version')}" of ${root.localName}`);
  checkNothingUnsigned(doc);

  const signatures = doc.getElementsByTagNameNS(DS_NS, 'Signature');
  if (signatures.length !== 1) fail(`exactly one ds:Signature is expected, found ${signatures.length}`);
  const signature = signatures.item(0)!;
  if (signature.parentNode !== root || childElements(root).at(-1) !== signature) fail('ds:Signature must be the last child of the root');
  const shape = checkShape(signature);

  // The timestamp first: it says when the seal existed, which is when its certificate must have been valid.
  const signatureValueC14n = exclusiveCanonical(shape.signatureValue);
  const imprint = createHash('sha256').update(signatureValueC14n, 'utf8').digest();
  const timestamp = await verifyTimestampToken(shape.token, imprint, trustAnchorsPem, intermediatesPem);

  const [signerCert, ...carried] = shape.certificates;
  const anchors = parsePemCertificates(trustAnchorsPem, 'trust anchor');
  const intermediates = [...parsePemCertificates(intermediatesPem, 'intermediate certificate'), ...carried];
  const sealingPath = await validateCertificatePath(signerCert!, { anchors, intermediates, at: timestamp.genTime, what: 'sealing', purpose: 'sealing' });
  // KeyInfo is outside what the signature covers: every certificate there must be one the path uses.
  for (const cert of carried) {
    if (!sealingPath.some((p) => sameCertificate(p, cert))) fail(`the certificate "${cert.subject}" in ds:KeyInfo is not on the sealing certificate's path`);
  }
  const signingTime = checkSignedSignatureProperties(shape.signedProperties, signerCert!);
  if (signingTime.getTime() > timestamp.genTime.getTime() + CLOCK_TOLERANCE_MS) fail('xades:SigningTime is later than the signature timestamp');

  // getCertFromKeyInfo stays a no-op: the key is the validated certificate's, never KeyInfo's by itself.
  const verifier = new StrictSignedXml({ publicCert: signerCert!.toString('pem') }, { envelopedSignature: true });
  let valid: boolean;
  try {
    verifier.loadSignature(signature as unknown as globalThis.Node);
    valid = verifier.checkSignature(xml);
  } catch (err) {
    return fail('the seal signature does not verify', err);
  }
  if (!valid || verifier.getSignedReferences().length !== 2) fail('the seal signature does not verify (the document was altered)');

  return {
    document: doc,
    root: root.localName!,
    signingTime,
    timestamp,
    sealingPath,
    signerSubject: signerCert!.subject,
    token: shape.token,
    signatureValueC14n,
    bytes,
    digestSha256: createHash('sha256').update(bytes).digest('base64'),
  };
}

/**
 * Verifies a sealed evidence: its seal (verifySeal) and its content (readEvidence: shape and the
 * per-event rules), and that the event did not happen after the evidence was timestamped.
 */
export async function verifyEvidence(sealed: Buffer | string, trustAnchorsPem: string[], intermediatesPem: string[] = []): Promise<VerifiedEvidence> {
  const seal = await verifySeal(sealed, trustAnchorsPem, intermediatesPem);
  if (seal.root !== 'Evidence') fail('the document is not an Evidence');
  const facts = readEvidence(seal.document);
  if (facts.eventTime.getTime() > seal.timestamp.genTime.getTime() + CLOCK_TOLERANCE_MS) fail('the event time is later than the evidence timestamp');
  if (facts.submissionTime.getTime() > facts.eventTime.getTime()) fail('the event time is before the submission time');
  return { ...seal, facts };
}

/** The former name, kept for existing callers: verifyEvidence, with the mail id at the top level. */
export async function verifySealedProof(
  sealed: Buffer | string,
  trustAnchorsPem: string[],
  intermediatesPem: string[] = [],
): Promise<VerifiedEvidence & { registeredMailId: string }> {
  const verified = await verifyEvidence(sealed, trustAnchorsPem, intermediatesPem);
  return { ...verified, registeredMailId: verified.facts.registeredMailId };
}
