// The WS-Security gate. node-soap verifies no inbound signature and dispatches on the unsigned
// SOAPAction, so every request passes here first: one strict parse, the structure located by
// position, the signing certificate validated before its key is used, the signature checked by
// xml-crypto with an allowlist of algorithms, and the signed content compared with what the service
// will process. The caller checks SOAPAction against `operation` and stores the replay key.
import { EpostError } from '../errors/index.js';
import type { TrustStore } from '../pki/index.js';
import { x509 } from '../pki/index.js';
import { findAncestorNs } from 'xml-crypto';
import { StrictSignedXml, type KeyType } from './algorithms.js';
import { childElements, hasText } from './dom.js';
import { checkUniqueIds, locateEnvelope, wsuIdOf, type LocatedEnvelope } from './envelope.js';
import { EXC_C14N, SOAP11_NS, WSSE_NS, WSU_NS } from './namespaces.js';
import { decodeRequestBody, decodeXmlText, parseStrict } from './parse.js';
import { replayKey } from './replayKey.js';
import { readSignature, type SignedReference } from './signatureStructure.js';
import { checkTimestamp, readTimestamp } from './timestamp.js';
import { decodeToken, resolveToken } from './token.js';

export interface GateOptions {
  now: Date;
  maxTtlSeconds: number;
  clockSkewSeconds: number;
  /** Largest request accepted, in bytes, compressed and after decompression. */
  maxRequestBytes: number;
  trust: TrustStore;
  /** The HTTP Content-Encoding, when the body was not decoded yet ("gzip", "deflate", "identity"). */
  contentEncoding?: string;
}

export interface VerifiedRequest {
  document: Document;
  /** The single element child of the signed Body. */
  operation: Element;
  certificate: x509.X509Certificate;
  certificateDer: Buffer;
  /** SHA-256 of the certificate DER, lowercase hex. */
  certificateFingerprintSha256: string;
  /** SHA-256 of the signature value (low-s form for ECDSA), hex: the replay key. */
  signatureValueSha256: string;
  timestamp: { created: Date; expires: Date };
}

function failedCheck(reason: string, cause?: unknown): never {
  throw new EpostError('FailedCheck', reason, cause);
}

/** Absolute paths of the two elements that must be signed, for xml-crypto's ancestor namespace lookup. */
const BODY_PATH = `/*[local-name()='Envelope' and namespace-uri()='${SOAP11_NS}']/*[local-name()='Body' and namespace-uri()='${SOAP11_NS}']`;
const TIMESTAMP_PATH =
  `/*[local-name()='Envelope' and namespace-uri()='${SOAP11_NS}']/*[local-name()='Header' and namespace-uri()='${SOAP11_NS}']` +
  `/*[local-name()='Security' and namespace-uri()='${WSSE_NS}']/*[local-name()='Timestamp' and namespace-uri()='${WSU_NS}']`;

interface SignedTarget {
  element: Element;
  path: string;
  reference: SignedReference;
}

/** The references must be exactly the Body and the Timestamp at their positions, named by their wsu:Id. */
function matchReferences(located: LocatedEnvelope, references: SignedReference[]): SignedTarget[] {
  const bodyId = wsuIdOf(located.body);
  const timestampId = wsuIdOf(located.timestamp);
  if (!bodyId) failedCheck('The SOAP Body carries no wsu:Id, so the signature cannot cover it.');
  if (!timestampId) failedCheck('The wsu:Timestamp carries no wsu:Id, so the signature cannot cover it.');
  if (references.length !== 2) failedCheck(`The signature has ${references.length} references; it must sign exactly the SOAP Body and the wsu:Timestamp.`);
  const body = references.find((r) => r.id === bodyId);
  const timestamp = references.find((r) => r.id === timestampId);
  if (!body || !timestamp) failedCheck('The signature does not sign exactly the SOAP Body and the wsu:Timestamp of this envelope.');
  return [
    { element: located.body, path: BODY_PATH, reference: body },
    { element: located.timestamp, path: TIMESTAMP_PATH, reference: timestamp },
  ];
}

function keyTypeOf(token: { publicKey: { asymmetricKeyType?: string } }): KeyType | undefined {
  const type = token.publicKey.asymmetricKeyType;
  return type === 'rsa' ? 'rsa' : type === 'ec' ? 'ec' : undefined;
}

/** Verifies a signed SOAP request; throws EpostError with a WS-Security fault code when it must be refused. */
export async function verifyRequest(raw: Buffer, options: GateOptions): Promise<VerifiedRequest> {
  const bytes = decodeRequestBody(raw, options.maxRequestBytes, options.contentEncoding);
  const text = decodeXmlText(bytes);
  const document = parseStrict(text);
  const located = locateEnvelope(document);
  checkUniqueIds(located.envelope);

  const structure = readSignature(located.signature);
  const tokenElement = resolveToken(located.token, structure);
  const token = decodeToken(tokenElement);
  const targets = matchReferences(located, structure.references);

  const window = readTimestamp(located.timestamp);
  checkTimestamp(window, options);

  // Only a certificate that chains to an anchor may lend its key to the signature check.
  await options.trust.validateSigner(token.certificate, options.now);
  const keyType = keyTypeOf(token);
  if (keyType !== structure.algorithm.keyType) {
    failedCheck(`The signature algorithm ${structure.algorithm.uri} does not fit the certificate's ${token.publicKey.asymmetricKeyType ?? 'unknown'} key.`);
  }

  const signedXml = new StrictSignedXml({ publicCert: token.publicKey, getCertFromKeyInfo: () => null });
  let valid = false;
  try {
    signedXml.loadSignature(located.signature);
    valid = signedXml.checkSignature(text);
  } catch (err) {
    failedCheck('The signature does not verify: the signed content or the signature value was altered.', err);
  }
  if (!valid) failedCheck('The signature does not verify: a digest of the signed content does not match.');

  // What was verified is what the service processes: the canonical form of each signed reference
  // must be the canonical form of the element found at the expected position (no wrapping).
  const signedReferences = signedXml.getSignedReferences();
  if (signedReferences.length !== targets.length) failedCheck('The signature does not sign exactly the SOAP Body and the wsu:Timestamp.');
  const order = structure.references;
  for (const target of targets) {
    const prefixList = target.reference.inclusiveNamespacesPrefixList;
    // Exclusive C14N reads ancestor namespaces only for an InclusiveNamespaces PrefixList; the XPath lookup is skipped otherwise.
    const canonical = signedXml.getCanonXml([EXC_C14N], target.element, {
      ancestorNamespaces: prefixList.length > 0 ? findAncestorNs(document, target.path) : [],
      inclusiveNamespacesPrefixList: prefixList,
    });
    if (signedReferences[order.indexOf(target.reference)] !== canonical) {
      failedCheck(`The signed ${target.element.localName} is not the ${target.element.localName} of this envelope.`);
    }
  }

  const operations = childElements(located.body);
  if (operations.length !== 1 || hasText(located.body)) {
    throw new EpostError('InvalidRequest', 'The SOAP Body must contain exactly one operation element.');
  }
  const namedCurve = token.publicKey.asymmetricKeyDetails?.namedCurve;
  return {
    document,
    operation: operations[0]!,
    certificate: token.certificate,
    certificateDer: token.der,
    certificateFingerprintSha256: token.fingerprint,
    signatureValueSha256: replayKey(structure.signatureValue, keyType, namedCurve),
    timestamp: window,
  };
}

