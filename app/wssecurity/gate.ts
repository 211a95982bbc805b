// The WS-Security gate. node-soap verifies no inbound signature and dispatches on the unsigned
// SOAPAction, so every request passes here first: one bounded, strict parse; the structure located
// by position; the signature read against the strict profile; the signing certificate validated
// (path, revocation) before its key is used; the digests recomputed over the Body and the Timestamp
// found at their fixed positions (a reference can name nothing else, so wrapping has no foothold);
// and the SignatureValue checked over the canonical SignedInfo. The caller checks SOAPAction against
// `operation` and stores the replay key.
import { EpostError } from '../errors/index.js';
import type { TrustStore } from '../pki/index.js';
import { x509 } from '../pki/index.js';
import { referenceDigestMatches, signedInfoVerifies, type KeyType } from '../xmldsig/index.js';
import { childElements, hasText } from './dom.js';
import { checkUniqueIds, locateEnvelope, wsuIdOf, type LocatedEnvelope } from './envelope.js';
import { DEFAULT_XML_LIMITS, decodeRequestBody, decodeXmlText, parseStrict, type XmlLimits } from './parse.js';
import { GateRefusal, presentedCertificate, readPresentedCredential, type PresentedCredential } from './refusal.js';
import { replayKey } from './replayKey.js';
import { readSignature, type SignedReference } from './signatureStructure.js';
import { checkTimestamp, readTimestamp } from './timestamp.js';
import { readSamlToken, samlAssertionReference, verifySamlToken, type SamlIssuer, type SamlOrganisation, type SamlToken } from './saml.js';
import { decodeToken, resolveToken, type SecurityToken } from './token.js';

export interface GateOptions {
  now: Date;
  maxTtlSeconds: number;
  clockSkewSeconds: number;
  /** Largest request accepted, in bytes, compressed and after decompression. */
  maxRequestBytes: number;
  trust: TrustStore;
  /** The HTTP Content-Encoding, when the body was not decoded yet ("gzip", "deflate", "identity"). */
  contentEncoding?: string;
  /** Structural limits of the XML (default DEFAULT_XML_LIMITS; from the configuration with xmlLimitsFrom). */
  xmlLimits?: XmlLimits;
  /**
   * The security token services whose SAML holder-of-key assertions are trusted, e.g.
   * `() => samlIssuersFrom(config)`; asked only when a request carries an assertion. None: SAML refused.
   */
  samlIssuers?: () => readonly SamlIssuer[];
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
  /**
   * Present when the sender authenticated with a SAML holder-of-key assertion: the organisation it
   * names (authorisation goes by this, not by the certificate's registration). `certificate` is then
   * the certificate the assertion confirms, whose key signed the message.
   */
  samlOrganisation?: SamlOrganisation;
}

function failedCheck(reason: string, cause?: unknown): never {
  throw new EpostError('FailedCheck', reason, cause);
}

interface SignedTarget {
  element: Element;
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
    { element: located.body, reference: body },
    { element: located.timestamp, reference: timestamp },
  ];
}

function keyTypeOf(token: { publicKey: { asymmetricKeyType?: string } }): KeyType | undefined {
  const type = token.publicKey.asymmetricKeyType;
  return type === 'rsa' ? 'rsa' : type === 'ec' ? 'ec' : undefined;
}

interface Progress {
  document?: Document;
  presented?: PresentedCredential;
}

/**
 * Verifies a signed SOAP request; throws EpostError with a WS-Security fault code when it must be
 * refused. When the request presented a readable certificate the error is a GateRefusal naming it.
 */
export async function verifyRequest(raw: Buffer, options: GateOptions): Promise<VerifiedRequest> {
  const progress: Progress = {};
  try {
    return await verify(raw, options, progress);
  } catch (err) {
    if (!(err instanceof EpostError) || err instanceof GateRefusal) throw err;
    const presented = progress.presented ?? (progress.document ? readPresentedCredential(progress.document) : undefined);
    throw presented ? new GateRefusal(err, presented) : err;
  }
}

async function verify(raw: Buffer, options: GateOptions, progress: Progress): Promise<VerifiedRequest> {
  const bytes = decodeRequestBody(raw, options.maxRequestBytes, options.contentEncoding);
  const document = parseStrict(decodeXmlText(bytes), options.xmlLimits ?? DEFAULT_XML_LIMITS);
  progress.document = document;
  const located = locateEnvelope(document);
  checkUniqueIds(located.envelope);

  const structure = readSignature(located.signature);
  // SAML Token Profile: the key is the one the assertion confirms, vouched for by a trusted STS.
  const saml: SamlToken | undefined = located.assertion ? readSamlToken(located.assertion, samlAssertionReference(structure.keyInfo)) : undefined;
  const token: SecurityToken = saml ? saml.confirmed : decodeToken(resolveToken(located.token, structure));
  progress.presented = presentedCertificate(token.certificate, token.der);
  const targets = matchReferences(located, structure.references);

  const window = readTimestamp(located.timestamp);
  checkTimestamp(window, options);

  // Only a certificate that chains to an anchor (and is not revoked), or that a trusted STS
  // confirmed, may lend its key to the signature check.
  let samlOrganisation: SamlOrganisation | undefined;
  if (saml) samlOrganisation = verifySamlToken(saml, { now: options.now, clockSkewSeconds: options.clockSkewSeconds, issuers: options.samlIssuers?.() ?? [] });
  else await options.trust.validateSigner(token.certificate, options.now);
  const keyType = keyTypeOf(token);
  if (keyType !== structure.algorithm.keyType && saml) {
    throw new EpostError('FailedAuthentication', `The message is signed with ${structure.algorithm.uri}, which does not fit the key the SAML assertion "${saml.id}" confirms (holder-of-key).`);
  }
  if (keyType !== structure.algorithm.keyType) {
    failedCheck(`The signature algorithm ${structure.algorithm.uri} does not fit the certificate's ${token.publicKey.asymmetricKeyType ?? 'unknown'} key.`);
  }

  // What is digested is what the service processes: the elements at the fixed positions.
  for (const { element, reference } of targets) {
    if (!referenceDigestMatches({ element, ...reference })) {
      failedCheck(`The signature does not verify: the digest of the signed ${element.localName} does not match; it was altered after signing.`);
    }
  }
  const valid = signedInfoVerifies({
    signedInfo: structure.signedInfo,
    inclusiveNamespacesPrefixList: structure.canonicalizationPrefixList,
    algorithm: structure.algorithm,
    signatureValue: structure.signatureValue,
    publicKey: token.publicKey,
  });
  if (!valid && saml) {
    throw new EpostError('FailedAuthentication', `The message is not signed with the key the SAML assertion "${saml.id}" confirms (holder-of-key).`);
  }
  if (!valid) failedCheck('The signature does not verify: the SignatureValue was not made over this SignedInfo with the certificate\'s key.');

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
    ...(samlOrganisation ? { samlOrganisation } : {}),
  };
}
