// Locates the structural elements of a WS-Security request by absolute position
// (/Envelope/Header/Security/..., /Envelope/Body), never by search, and refuses anything missing,
// duplicated or unexpected. Positions matter: the service processes what is at these positions, so
// the signature must be shown to cover exactly these elements.
import { EpostError } from '../errors/index.js';
import { allElements, attributeNS, childElements, describeElement, hasText, is } from './dom.js';
import { DSIG_NS, SAML2_NS, SOAP11_NS, WSSE_NS, WSU_NS } from './namespaces.js';

export interface LocatedEnvelope {
  envelope: Element;
  header: Element;
  security: Element;
  body: Element;
  timestamp: Element;
  /** Absent is reported later, as SecurityTokenUnavailable rather than a structural fault. */
  token: Element | undefined;
  /** A SAML 2.0 assertion in place of the BinarySecurityToken (SAML Token Profile, holder-of-key). */
  assertion: Element | undefined;
  signature: Element;
}

function refuse(reason: string): never {
  throw new EpostError('InvalidSecurity', reason);
}

function exactlyOne(elements: Element[], what: string, where: string): Element {
  if (elements.length === 0) refuse(`The request has no ${what} in ${where}.`);
  if (elements.length > 1) refuse(`The request has ${elements.length} ${what} elements in ${where}; exactly one is allowed.`);
  return elements[0]!;
}

export function locateEnvelope(document: Document): LocatedEnvelope {
  const envelope = document.documentElement;
  if (!is(envelope, SOAP11_NS, 'Envelope')) refuse('The request is not a SOAP 1.1 Envelope.');
  if (hasText(envelope)) refuse('The SOAP Envelope contains text outside its Header and Body.');

  const envelopeChildren = childElements(envelope);
  const header = exactlyOne(envelopeChildren.filter((e) => is(e, SOAP11_NS, 'Header')), 'SOAP Header', 'the Envelope');
  const body = exactlyOne(envelopeChildren.filter((e) => is(e, SOAP11_NS, 'Body')), 'SOAP Body', 'the Envelope');
  if (envelopeChildren.length !== 2 || envelopeChildren[0] !== header) {
    refuse('The SOAP Envelope must contain a Header followed by a Body and nothing else.');
  }
  if (hasText(header)) refuse('The SOAP Header contains text outside its header blocks.');

  const security = exactlyOne(childElements(header).filter((e) => is(e, WSSE_NS, 'Security')), 'wsse:Security header', 'the SOAP Header');
  if (hasText(security)) refuse('The wsse:Security header contains stray text.');

  const tokens: Element[] = [];
  const timestamps: Element[] = [];
  const signatures: Element[] = [];
  const assertions: Element[] = [];
  for (const child of childElements(security)) {
    if (is(child, WSSE_NS, 'BinarySecurityToken')) tokens.push(child);
    else if (is(child, SAML2_NS, 'Assertion')) assertions.push(child);
    else if (is(child, WSU_NS, 'Timestamp')) timestamps.push(child);
    else if (is(child, DSIG_NS, 'Signature')) signatures.push(child);
    else refuse(`The wsse:Security header contains an unexpected element ${describeElement(child)}.`);
  }
  if (tokens.length > 1) refuse(`The wsse:Security header has ${tokens.length} BinarySecurityTokens; exactly one is allowed.`);
  if (assertions.length > 1) refuse(`The wsse:Security header has ${assertions.length} SAML assertions; at most one is allowed.`);
  if (assertions.length > 0 && tokens.length > 0) refuse('The wsse:Security header carries both a BinarySecurityToken and a SAML assertion; exactly one security token is allowed.');
  const assertion = assertions[0];
  const timestamp = exactlyOne(timestamps, 'wsu:Timestamp', 'the wsse:Security header');
  const signature = exactlyOne(signatures, 'ds:Signature', 'the wsse:Security header');

  // Elements the signature library finds by search rather than position must exist once only, so
  // that its search and our positions cannot disagree.
  const everything = allElements(envelope);
  const count = (predicate: (e: Element) => boolean): number => everything.filter(predicate).length;
  // A SAML assertion brings its issuer's signature, which must be its own direct child: that one and
  // the message signature are all there may be.
  const signaturesExpected = assertion ? 2 : 1;
  if (count((e) => is(e, WSSE_NS, 'Security')) !== 1) refuse('The request contains more than one wsse:Security element.');
  if (count((e) => is(e, SAML2_NS, 'Assertion')) !== (assertion ? 1 : 0)) refuse('The request contains a SAML assertion outside the wsse:Security header.');
  if (count((e) => is(e, DSIG_NS, 'Signature')) > signaturesExpected) refuse('The request contains more than one ds:Signature element per signed token.');
  if (count((e) => e.localName === 'SignedInfo') > signaturesExpected) refuse('The request contains more than one SignedInfo element per signature.');
  if (assertion && count((e) => is(e, DSIG_NS, 'Signature') && e.parentNode !== assertion && e !== signature) > 0) {
    refuse('The request contains a ds:Signature that is neither the message signature nor the SAML assertion\'s own.');
  }
  if (count((e) => is(e, SOAP11_NS, 'Envelope')) !== 1) refuse('The request contains more than one SOAP Envelope.');

  return { envelope, header, security, body, timestamp, token: tokens[0], assertion, signature };
}

/** The attribute local names xml-crypto treats as ids ("Id", "ID", "id" in any namespace). */
const ID_NAMES = new Set(['Id', 'ID', 'id']);

/**
 * Refuses a document where two attributes that could serve as an id share a value: a reference would
 * then be ambiguous, which is the foothold of signature wrapping. Returns the ids found.
 */
export function checkUniqueIds(envelope: Element): Map<string, Element> {
  const ids = new Map<string, Element>();
  for (const element of allElements(envelope)) {
    for (const attr of Array.from(element.attributes)) {
      if (!ID_NAMES.has(attr.localName ?? attr.name)) continue;
      if (ids.has(attr.value)) {
        throw new EpostError('FailedCheck', `The id "${attr.value}" occurs more than once in the request, which makes signed references ambiguous.`);
      }
      ids.set(attr.value, element);
    }
  }
  return ids;
}

/** The wsu:Id of an element that must be signed, as a reference must name it. */
export function wsuIdOf(element: Element): string | undefined {
  return attributeNS(element, WSU_NS, 'Id');
}
