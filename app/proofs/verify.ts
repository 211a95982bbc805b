// Verification of a sealed proof by anyone holding the trust anchors: strict parsing, exactly one
// signature with the expected shape and algorithms covering the whole document, the signer
// certificate taken from X509Data but trusted only after its path to an anchor is validated, the
// XML signature checked by xml-crypto with that certificate, and the XAdES signature timestamp
// checked against the canonical ds:SignatureValue.
import { createHash } from 'node:crypto';
import type { Document, Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { EpostError } from '../errors/index.js';
import { x509 } from '../pki/issue.js';
import { parsePemCertificates, validateCertificatePath, verifyTimestampToken } from '../timestamp/index.js';
import { EcdsaSha256Algorithm } from './algorithms.js';
import { PROOF_NS, PROOF_VERSION, type ProofKind } from './model.js';
import { DS_NS, ECDSA_SHA256, ENVELOPED_SIGNATURE, EXC_C14N, RSA_SHA256, RSA_SHA512, SHA256, SHA512, XADES_NS, childElements, exclusiveCanonical, parseProofXml } from './xml.js';

export interface VerifiedProof {
  kind: ProofKind;
  proofId: string;
  registeredMailId: string;
  /** genTime of the signature timestamp: the proof existed, sealed, at this instant. */
  timestampTime: Date;
  signerSubject: string;
  /** The verified proof document (signature included). */
  document: Document;
}

const SIGNATURE_METHODS = new Set([RSA_SHA256, RSA_SHA512, ECDSA_SHA256]);
const DIGEST_METHODS = new Set([SHA256, SHA512]);
const BASE64 = /^[A-Za-z0-9+/\s]+={0,2}\s*$/;

function fail(reason: string, cause?: unknown): never {
  throw new EpostError('FailedCheck', `Sealed proof refused: ${reason}`, cause);
}

/** The single child element `ns:name` of `parent`, or a refusal naming `path`. */
function only(parent: Element, ns: string, name: string, path: string): Element {
  const found = childElements(parent).filter((el) => el.namespaceURI === ns && el.localName === name);
  if (found.length !== 1) fail(`${path} must appear exactly once`);
  return found[0]!;
}

function algorithmOf(el: Element, path: string): string {
  const value = el.getAttribute('Algorithm');
  if (!value) fail(`${path} has no Algorithm`);
  return value;
}

/** SignedInfo must be exactly what ProofSealer writes, modulo the allowed algorithm choices. */
function checkSignedInfo(signature: Element): void {
  const signedInfo = only(signature, DS_NS, 'SignedInfo', 'ds:SignedInfo');
  if (algorithmOf(only(signedInfo, DS_NS, 'CanonicalizationMethod', 'ds:CanonicalizationMethod'), 'ds:CanonicalizationMethod') !== EXC_C14N) {
    fail('the SignedInfo canonicalization must be exclusive C14N');
  }
  const signatureMethod = algorithmOf(only(signedInfo, DS_NS, 'SignatureMethod', 'ds:SignatureMethod'), 'ds:SignatureMethod');
  if (!SIGNATURE_METHODS.has(signatureMethod)) fail(`the signature method ${signatureMethod} is refused`);
  const reference = only(signedInfo, DS_NS, 'Reference', 'ds:Reference');
  if (!reference.hasAttribute('URI') || reference.getAttribute('URI') !== '') fail('the signature reference must cover the whole document (URI="")');
  const transforms = childElements(only(reference, DS_NS, 'Transforms', 'ds:Transforms')).map((t, i) => {
    if (t.namespaceURI !== DS_NS || t.localName !== 'Transform' || childElements(t).length > 0) fail('unexpected content in ds:Transforms');
    return algorithmOf(t, `ds:Transform[${i + 1}]`);
  });
  if (transforms.length !== 2 || transforms[0] !== ENVELOPED_SIGNATURE || transforms[1] !== EXC_C14N) {
    fail('the reference transforms must be enveloped-signature then exclusive C14N');
  }
  const digestMethod = algorithmOf(only(reference, DS_NS, 'DigestMethod', 'ds:DigestMethod'), 'ds:DigestMethod');
  if (!DIGEST_METHODS.has(digestMethod)) fail(`the digest method ${digestMethod} is refused`);
}

function keyInfoCertificates(signature: Element): x509.X509Certificate[] {
  const x509Data = only(only(signature, DS_NS, 'KeyInfo', 'ds:KeyInfo'), DS_NS, 'X509Data', 'ds:KeyInfo/ds:X509Data');
  const certs = childElements(x509Data).filter((el) => el.namespaceURI === DS_NS && el.localName === 'X509Certificate');
  if (certs.length === 0) fail('ds:X509Data carries no certificate');
  return certs.map((el) => {
    const b64 = el.textContent ?? '';
    if (!BASE64.test(b64)) fail('a ds:X509Certificate is not base64');
    try {
      return new x509.X509Certificate(Buffer.from(b64.replace(/\s+/g, ''), 'base64'));
    } catch (err) {
      return fail('a ds:X509Certificate is not a readable certificate', err);
    }
  });
}

function encapsulatedTimeStamp(signature: Element): Buffer {
  const signatureId = signature.getAttribute('Id');
  if (!signatureId) fail('ds:Signature has no Id for the XAdES properties to target');
  const objects = childElements(signature).filter((el) => el.namespaceURI === DS_NS && el.localName === 'Object');
  const qualifying = objects.flatMap((o) => childElements(o)).filter((el) => el.namespaceURI === XADES_NS && el.localName === 'QualifyingProperties');
  if (qualifying.length !== 1) fail('exactly one xades:QualifyingProperties is expected');
  const properties = qualifying[0]!;
  if (properties.getAttribute('Target') !== `#${signatureId}`) fail('xades:QualifyingProperties does not target this signature');
  const stamp = only(
    only(only(properties, XADES_NS, 'UnsignedProperties', 'xades:UnsignedProperties'), XADES_NS, 'UnsignedSignatureProperties', 'xades:UnsignedSignatureProperties'),
    XADES_NS,
    'SignatureTimeStamp',
    'xades:SignatureTimeStamp',
  );
  const c14n = childElements(stamp).filter((el) => el.namespaceURI === DS_NS && el.localName === 'CanonicalizationMethod');
  if (c14n.length > 1 || (c14n[0] && algorithmOf(c14n[0], 'xades:SignatureTimeStamp/ds:CanonicalizationMethod') !== EXC_C14N)) {
    fail('the signature timestamp must be computed over exclusive C14N');
  }
  const b64 = only(stamp, XADES_NS, 'EncapsulatedTimeStamp', 'xades:EncapsulatedTimeStamp').textContent ?? '';
  if (!BASE64.test(b64)) fail('xades:EncapsulatedTimeStamp is not base64');
  return Buffer.from(b64.replace(/\s+/g, ''), 'base64');
}

function rootText(root: Element, name: string): string {
  return only(root, PROOF_NS, name, name).textContent ?? '';
}

/**
 * Verifies a sealed proof against the given trust anchors (which must cover both the sealing
 * certificate and the TSA). Throws EpostError('FailedCheck') with a reason naming what failed.
 */
export async function verifySealedProof(proof: Buffer | string, trustAnchorsPem: string[], intermediatesPem: string[] = []): Promise<VerifiedProof> {
  try {
    return await verifyProof(proof, trustAnchorsPem, intermediatesPem);
  } catch (err) {
    // Every failure is FailedCheck for the caller, whatever raised it (see verifyTimestampToken).
    if (err instanceof EpostError && err.code === 'FailedCheck') throw err;
    return fail(err instanceof EpostError ? err.message : 'the proof could not be processed', err);
  }
}

async function verifyProof(proof: Buffer | string, trustAnchorsPem: string[], intermediatesPem: string[]): Promise<VerifiedProof> {
  const xml = typeof proof === 'string' ? proof : new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(proof);
  const doc = parseProofXml(xml, 'sealed proof');
  const root = doc.documentElement!;
  if (root.namespaceURI !== PROOF_NS || (root.localName !== 'SendProof' && root.localName !== 'DeliveryProof')) {
    fail('the document is not an ePost SendProof or DeliveryProof');
  }
  if (root.getAttribute('Version') !== PROOF_VERSION) fail(`unsupported proof version "${root.getAttribute('Version')}"`);
  // Comments and processing instructions are outside what URI="" signs; a proof has none.
  // (xmldom keeps the XML declaration as a leading processing instruction named "xml", and the
  // line break after it as a text node.)
  for (let n = doc.firstChild; n; n = n.nextSibling) {
    const isDeclaration = n === doc.firstChild && n.nodeType === n.PROCESSING_INSTRUCTION_NODE && n.nodeName === 'xml';
    const isBlank = n.nodeType === n.TEXT_NODE && /^\s*$/.test(n.nodeValue ?? '');
    if (n !== root && !isDeclaration && !isBlank) fail('content outside the root element is refused');
  }
  const walker = (node: Element): void => {
    for (let n = node.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === n.COMMENT_NODE || n.nodeType === n.PROCESSING_INSTRUCTION_NODE) fail('comments and processing instructions are refused');
      if (n.nodeType === n.ELEMENT_NODE) walker(n as Element);
    }
  };
  walker(root);

  const signatures = doc.getElementsByTagNameNS(DS_NS, 'Signature');
  if (signatures.length !== 1) fail(`exactly one ds:Signature is expected, found ${signatures.length}`);
  const signature = signatures.item(0)!;
  if (signature.parentNode !== root || childElements(root).at(-1) !== signature) fail('ds:Signature must be the last child of the proof root');
  checkSignedInfo(signature);

  // The timestamp first: it says when the seal existed, which is when its certificate must have been valid.
  const signatureValue = only(signature, DS_NS, 'SignatureValue', 'ds:SignatureValue');
  const imprint = createHash('sha256').update(exclusiveCanonical(signatureValue), 'utf8').digest();
  const timestamp = await verifyTimestampToken(encapsulatedTimeStamp(signature), imprint, trustAnchorsPem, intermediatesPem);

  const [signerCert, ...carried] = keyInfoCertificates(signature);
  const anchors = parsePemCertificates(trustAnchorsPem, 'trust anchor');
  const intermediates = [...parsePemCertificates(intermediatesPem, 'intermediate certificate'), ...carried];
  await validateCertificatePath(signerCert!, { anchors, intermediates, at: timestamp.genTime, what: 'sealing' });
  const ku = signerCert!.getExtension(x509.KeyUsagesExtension);
  if (!ku || !(ku.usages & x509.KeyUsageFlags.digitalSignature)) fail('the sealing certificate key usage does not include digitalSignature');

  const verifier = new SignedXml({ publicCert: signerCert!.toString('pem') }); // getCertFromKeyInfo stays a no-op
  verifier.SignatureAlgorithms[ECDSA_SHA256] = EcdsaSha256Algorithm;
  let valid: boolean;
  try {
    verifier.loadSignature(signature as unknown as globalThis.Node);
    valid = verifier.checkSignature(xml);
  } catch (err) {
    return fail('the seal signature does not verify', err);
  }
  if (!valid) fail('the seal signature does not verify (the proof was altered)');

  return {
    kind: root.localName as ProofKind,
    proofId: rootText(root, 'ProofId'),
    registeredMailId: rootText(root, 'RegisteredMailId'),
    timestampTime: timestamp.genTime,
    signerSubject: signerCert!.subject,
    document: doc,
  };
}
