// Verification of an XML signature on a document that is already parsed: each reference's digest is
// recomputed over the element the caller located (by position, so a reference can never be steered to
// another element), and the SignatureValue is checked over the canonical SignedInfo. Canonicalisation
// is xml-crypto's ExclusiveCanonicalization, applied exactly as xml-crypto's own checkSignature does;
// what is saved is xml-crypto's second parse of the whole document and its id search by XPath.
import { timingSafeEqual, type KeyObject, hash } from 'node:crypto';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { verifySignatureValue, type SignatureAlgorithmSpec } from './algorithms.js';

export interface NamespaceBinding {
  prefix: string;
  namespaceURI: string;
}

/**
 * The namespace declarations in scope at `element` from its ancestors, nearest first, without
 * undeclarations and without prefixes the element declares itself (as xml-crypto's findAncestorNs).
 */
export function ancestorNamespaces(element: Element): NamespaceBinding[] {
  const own = new Set<string>();
  for (const attr of Array.from(element.attributes)) {
    if (attr.name === 'xmlns' || attr.name.startsWith('xmlns:')) own.add(attr.name === 'xmlns' ? '' : attr.name.slice(6));
  }
  const seen = new Set<string>();
  const out: NamespaceBinding[] = [];
  for (let parent = element.parentNode; parent && parent.nodeType === 1; parent = parent.parentNode) {
    for (const attr of Array.from((parent as Element).attributes)) {
      if (attr.name !== 'xmlns' && !attr.name.startsWith('xmlns:')) continue;
      const prefix = attr.name === 'xmlns' ? '' : attr.name.slice(6);
      if (seen.has(prefix)) continue;
      seen.add(prefix);
      if (attr.value !== '' && !own.has(prefix)) out.push({ prefix, namespaceURI: attr.value });
    }
  }
  return out;
}

/**
 * Exclusive C14N (without comments) of `element`. With an InclusiveNamespaces PrefixList the listed
 * ancestor declarations are copied onto a clone first, which is how xml-crypto renders them; without
 * one the element is canonicalised in place, untouched.
 */
export function exclusiveCanonical(element: Element, inclusiveNamespacesPrefixList: readonly string[] = []): string {
  const c14n = new ExclusiveCanonicalization();
  if (inclusiveNamespacesPrefixList.length === 0) {
    return c14n.process(element, { inclusiveNamespacesPrefixList: [], ancestorNamespaces: [] }).toString();
  }
  const clone = element.cloneNode(true) as Element;
  return c14n
    .process(clone, { inclusiveNamespacesPrefixList: [...inclusiveNamespacesPrefixList], ancestorNamespaces: ancestorNamespaces(element) })
    .toString();
}

export interface ReferenceCheck {
  /** The element the reference must cover, located by the caller. */
  element: Element;
  digestHash: 'sha256' | 'sha384' | 'sha512';
  digestValue: Buffer;
  inclusiveNamespacesPrefixList: readonly string[];
}

/** Whether the digest of the element's exclusive canonical form is the DigestValue (compared in constant time). */
export function referenceDigestMatches(reference: ReferenceCheck): boolean {
  const canonical = exclusiveCanonical(reference.element, reference.inclusiveNamespacesPrefixList);
  const digest = hash(reference.digestHash, canonical, 'buffer');
  return digest.length === reference.digestValue.length && timingSafeEqual(digest, reference.digestValue);
}

export interface SignedInfoCheck {
  signedInfo: Element;
  /** The CanonicalizationMethod's InclusiveNamespaces PrefixList, if any. */
  inclusiveNamespacesPrefixList: readonly string[];
  algorithm: SignatureAlgorithmSpec;
  signatureValue: Buffer;
  publicKey: KeyObject;
}

/** Whether the SignatureValue verifies over the exclusive canonical SignedInfo with the given key. */
export function signedInfoVerifies(check: SignedInfoCheck): boolean {
  const canonical = exclusiveCanonical(check.signedInfo, check.inclusiveNamespacesPrefixList);
  return verifySignatureValue(check.algorithm, Buffer.from(canonical, 'utf8'), check.publicKey, check.signatureValue);
}
