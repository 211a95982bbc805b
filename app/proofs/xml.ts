// XML plumbing shared by the evidence builder, sealer and verifier: algorithm URIs, a parser that
// refuses what a proof never contains, and exclusive canonicalisation (app/xmldsig).
import { DOMParser, type Document, type Element, type Node } from '@xmldom/xmldom';
import { EpostError, type ErrorCode } from '../errors/index.js';
import { DSIG_NS, exclusiveCanonical as canonical } from '../xmldsig/index.js';

// Algorithm URIs come from app/xmldsig, the one XML-DSig profile of ePost.
export { ECDSA_SHA256, ENVELOPED_SIGNATURE, EXC_C14N, RSA_SHA256, SHA256_DIGEST_URI as SHA256 } from '../xmldsig/index.js';
export const DS_NS = DSIG_NS;
export const XADES_NS = 'http://uri.etsi.org/01903/v1.3.2#';
/** Reference/@Type of the reference to xades:SignedProperties (ETSI EN 319 132-1, 4.3). */
export const XADES_SIGNED_PROPERTIES_TYPE = 'http://uri.etsi.org/01903#SignedProperties';

/**
 * Characters that do not survive a parse unchanged. XML 1.0 forbids most C0 controls, lone
 * surrogates and U+FFFE/U+FFFF outright; a raw CR is turned into LF by every parser; and xmldom
 * (unlike libxml2) also turns U+0085, U+2028 and U+2029 into LF, so a proof holding them would hash
 * differently in xml-crypto and in xmlsec1.
 */
// eslint-disable-next-line no-control-regex
export const UNSTABLE_XML_CHARACTER = /[^\u0009\u000A\u0020-\u0084\u0086-\u2027\u202A-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/**
 * Parses a proof document, refusing anything a proof never contains: DTDs (and so entities),
 * parser errors or warnings of any level, and the characters above.
 */
export function parseProofXml(xml: string, what: string, code: ErrorCode = 'FailedCheck'): Document {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new EpostError(code, `The ${what} contains a DOCTYPE, which is refused`);
  const withoutDeclaration = xml.replace(/^\uFEFF?<\?xml[^?]*\?>/, '');
  if (UNSTABLE_XML_CHARACTER.test(withoutDeclaration.replace(/\r\n?/g, '\n'))) {
    throw new EpostError(code, `The ${what} contains characters that are not allowed in a proof`);
  }
  let doc: Document;
  try {
    doc = new DOMParser({
      onError: (level, message) => {
        throw new Error(`${level}: ${message}`);
      },
    }).parseFromString(xml, 'text/xml');
  } catch (err) {
    throw new EpostError(code, `The ${what} is not well-formed XML`, err);
  }
  if (doc.doctype) throw new EpostError(code, `The ${what} contains a DOCTYPE, which is refused`);
  if (!doc.documentElement) throw new EpostError(code, `The ${what} has no root element`);
  return doc;
}

/** Element children of `parent` (text, comments and whitespace skipped). */
export function childElements(parent: Node): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === n.ELEMENT_NODE) out.push(n as Element);
  }
  return out;
}

/** Exclusive XML canonicalisation (without comments) of one element, as a detached node set. */
export function exclusiveCanonical(element: Element): string {
  return canonical(element as unknown as globalThis.Element);
}
