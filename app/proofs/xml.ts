// XML plumbing shared by the proof builder, sealer and verifier: algorithm URIs, a parser that
// refuses what a proof never contains, and exclusive canonicalisation through xml-crypto.
import { DOMParser, type Document, type Element, type Node } from '@xmldom/xmldom';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { EpostError, type ErrorCode } from '../errors/index.js';

export const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
export const XADES_NS = 'http://uri.etsi.org/01903/v1.3.2#';
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const ENVELOPED_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
export const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
export const SHA512 = 'http://www.w3.org/2001/04/xmlenc#sha512';
export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const RSA_SHA512 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512';
export const ECDSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';

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
  const result = new ExclusiveCanonicalization().process(element as unknown as globalThis.Element, {});
  if (typeof result !== 'string') throw new EpostError('ServiceUnavailable', 'Exclusive canonicalisation returned no octets');
  return result;
}
