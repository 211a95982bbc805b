// Reads the ds:Signature before any cryptography: one SignedInfo with exclusive C14N, an allowed
// signature method, references with only exclusive C14N and an allowed digest, a SignatureValue and
// a KeyInfo holding a SecurityTokenReference. xml-crypto would accept much more (other transforms,
// several references, KeyInfo forms); everything beyond this profile is refused here.
import { EpostError } from '../errors/index.js';
import { digestHashByUri, signatureAlgorithmByUri, type SignatureAlgorithmSpec } from '../xmldsig/index.js';
import { attributeNS, childElements, describeElement, hasText, is, textOnly } from './dom.js';
import { DSIG_NS, EXC_C14N, WSSE_NS } from './namespaces.js';

export interface SignedReference {
  /** The referenced id, without the "#". */
  id: string;
  inclusiveNamespacesPrefixList: string[];
  /** node:crypto name of the (allowlisted) digest algorithm. */
  digestHash: 'sha256' | 'sha384' | 'sha512';
  /** The decoded DigestValue. */
  digestValue: Buffer;
}

export interface SignatureStructure {
  signedInfo: Element;
  /** The InclusiveNamespaces PrefixList of the CanonicalizationMethod, if any. */
  canonicalizationPrefixList: string[];
  algorithm: SignatureAlgorithmSpec;
  references: SignedReference[];
  /** The decoded SignatureValue. */
  signatureValue: Buffer;
  /** The URI of the SecurityTokenReference's Reference, without the "#"; undefined when KeyInfo names no token this way. */
  tokenReferenceId: string | undefined;
  /** The ValueType the SecurityTokenReference declares, if any. */
  tokenReferenceValueType: string | undefined;
  /** The ds:KeyInfo as sent, for token references of other forms (a SAML assertion's KeyIdentifier). */
  keyInfo: Element | undefined;
}

const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

function invalid(reason: string): never {
  throw new EpostError('InvalidSecurity', reason);
}

function unsupported(reason: string): never {
  throw new EpostError('UnsupportedAlgorithm', reason);
}

function algorithmOf(element: Element): string {
  const algorithm = attributeNS(element, null, 'Algorithm');
  if (algorithm === undefined) invalid(`The signature's ${element.localName} has no Algorithm.`);
  return algorithm;
}

/** Expects exactly `names` as element children, in this order, and no text. */
function children(element: Element, names: string[], namespace = DSIG_NS): Element[] {
  const elements = childElements(element);
  if (hasText(element)) invalid(`The signature's ${element.localName} contains stray text.`);
  const actual = elements.map((e) => (e.namespaceURI === namespace ? e.localName : describeElement(e)));
  if (actual.length !== names.length || actual.some((name, i) => name !== names[i])) {
    invalid(`The signature's ${element.localName} must contain ${names.join(', ') || 'nothing'}, found ${actual.join(', ') || 'nothing'}.`);
  }
  return elements;
}

/** An exclusive C14N method or transform, with an optional InclusiveNamespaces PrefixList (as WSS4J writes it). */
function readExclusiveC14n(element: Element, role: string): string[] {
  const algorithm = algorithmOf(element);
  if (algorithm !== EXC_C14N) unsupported(`The ${role} ${algorithm} is not accepted; only exclusive XML canonicalisation (${EXC_C14N}) is.`);
  const inner = childElements(element);
  if (hasText(element)) invalid(`The signature's ${element.localName} contains stray text.`);
  if (inner.length === 0) return [];
  if (inner.length > 1 || !is(inner[0]!, EXC_C14N, 'InclusiveNamespaces')) invalid(`The ${role} has unexpected parameters.`);
  const prefixList = attributeNS(inner[0]!, null, 'PrefixList') ?? '';
  return prefixList.split(/\s+/).filter((p) => p.length > 0);
}

function readReference(reference: Element): SignedReference {
  const uri = attributeNS(reference, null, 'URI');
  if (uri === undefined || !/^#[A-Za-z_][\w.-]*$/.test(uri)) {
    throw new EpostError('FailedCheck', `A signed reference must name an element by "#id", found ${uri === undefined ? 'no URI' : `"${uri.slice(0, 80)}"`}.`);
  }
  const parts = childElements(reference);
  if (parts.length === 0 || !is(parts[0]!, DSIG_NS, 'Transforms')) {
    unsupported(`The reference ${uri} declares no transform; exclusive XML canonicalisation is required.`);
  }
  const [transforms, digestMethod, digestValue] = children(reference, ['Transforms', 'DigestMethod', 'DigestValue']) as [Element, Element, Element];
  const transformList = childElements(transforms);
  if (hasText(transforms) || transformList.some((t) => !is(t, DSIG_NS, 'Transform'))) invalid(`The Transforms of reference ${uri} are malformed.`);
  if (transformList.length !== 1) {
    const names = transformList.map((t) => attributeNS(t, null, 'Algorithm') ?? '?').join(', ');
    unsupported(`The reference ${uri} applies the transforms ${names || 'none'}; exactly one, exclusive XML canonicalisation, is accepted.`);
  }
  const inclusiveNamespacesPrefixList = readExclusiveC14n(transformList[0]!, `transform of reference ${uri}`);
  const digestAlgorithm = algorithmOf(digestMethod);
  const digestHash = digestHashByUri(digestAlgorithm);
  if (!digestHash) unsupported(`The digest algorithm ${digestAlgorithm} is not accepted; SHA-256 or stronger is required.`);
  if (childElements(digestMethod).length > 0 || hasText(digestMethod)) invalid(`The DigestMethod of reference ${uri} has unexpected content.`);
  const digest = textOnly(digestValue);
  if (digest === undefined || !BASE64.test(digest) || digest.trim() === '') invalid(`The DigestValue of reference ${uri} is not base64.`);
  return { id: uri.slice(1), inclusiveNamespacesPrefixList, digestHash, digestValue: Buffer.from(digest, 'base64') };
}

function readKeyInfo(keyInfo: Element | undefined): Pick<SignatureStructure, 'tokenReferenceId' | 'tokenReferenceValueType'> {
  const none = { tokenReferenceId: undefined, tokenReferenceValueType: undefined };
  if (!keyInfo) return none;
  const content = childElements(keyInfo);
  if (content.length !== 1 || !is(content[0]!, WSSE_NS, 'SecurityTokenReference')) return none;
  const references = childElements(content[0]!);
  if (references.length !== 1 || !is(references[0]!, WSSE_NS, 'Reference')) return none;
  const uri = attributeNS(references[0]!, null, 'URI');
  if (uri === undefined || !uri.startsWith('#') || uri.length < 2) return none;
  return { tokenReferenceId: uri.slice(1), tokenReferenceValueType: attributeNS(references[0]!, null, 'ValueType') };
}

export function readSignature(signature: Element): SignatureStructure {
  const parts = childElements(signature);
  const names = parts.map((e) => (e.namespaceURI === DSIG_NS ? e.localName : describeElement(e)));
  const expected = names.length === 3 ? ['SignedInfo', 'SignatureValue', 'KeyInfo'] : ['SignedInfo', 'SignatureValue'];
  const [signedInfo, signatureValueElement, keyInfo] = children(signature, expected);
  if (!signedInfo || !signatureValueElement) invalid('The signature is incomplete.');

  const signedInfoParts = childElements(signedInfo);
  if (hasText(signedInfo)) invalid('The SignedInfo contains stray text.');
  const [canonicalizationMethod, signatureMethod, ...references] = signedInfoParts;
  if (!canonicalizationMethod || !is(canonicalizationMethod, DSIG_NS, 'CanonicalizationMethod')) invalid('The SignedInfo does not start with a CanonicalizationMethod.');
  if (!signatureMethod || !is(signatureMethod, DSIG_NS, 'SignatureMethod')) invalid('The SignedInfo has no SignatureMethod after its CanonicalizationMethod.');
  if (references.length === 0 || references.some((r) => !is(r, DSIG_NS, 'Reference'))) invalid('The SignedInfo must contain only References after its SignatureMethod.');

  const canonicalizationPrefixList = readExclusiveC14n(canonicalizationMethod, 'canonicalisation method');
  const signatureUri = algorithmOf(signatureMethod);
  const algorithm = signatureAlgorithmByUri(signatureUri);
  if (!algorithm) unsupported(`The signature algorithm ${signatureUri} is not accepted; RSA or ECDSA with SHA-256 or stronger is required.`);
  // Parameters such as HMACOutputLength have no meaning for the accepted algorithms.
  if (childElements(signatureMethod).length > 0 || hasText(signatureMethod)) unsupported('The SignatureMethod carries parameters, which are not accepted.');

  const signedReferences = references.map(readReference);
  const value = textOnly(signatureValueElement);
  if (value === undefined || value.trim() === '' || !BASE64.test(value)) invalid('The SignatureValue is not base64.');

  return {
    signedInfo,
    canonicalizationPrefixList,
    algorithm,
    references: signedReferences,
    signatureValue: Buffer.from(value, 'base64'),
    ...readKeyInfo(keyInfo),
    keyInfo,
  };
}
