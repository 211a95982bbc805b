// The WSS SAML Token Profile 1.1, holder-of-key, for senders: instead of a BinarySecurityToken the
// wsse:Security header carries one SAML 2.0 assertion, named from the message signature's KeyInfo by
// a SecurityTokenReference (KeyIdentifier, ValueType #SAMLID). A trusted security token service
// (EPOST_SAML_STS_CERTS) signed the assertion as a whole (enveloped signature, exclusive C14N); its
// holder-of-key SubjectConfirmation carries the certificate whose key signed the message, and its
// attributes name the sender organisation (enterprise number). Everything the STS did not sign, and
// every form beyond this profile, is refused.
import fs from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { XMLSerializer, type Node as XmldomNode } from '@xmldom/xmldom';
import type { EpostConfig } from '../config/index.js';
import { EpostError } from '../errors/index.js';
import { isValidEnterpriseNumber } from '../identifiers/index.js';
import { assertStrongKey, parsePemCertificates, x509 } from '../pki/index.js';
import { ENVELOPED_SIGNATURE, StrictSignedXml, digestHashByUri, signatureAlgorithmByUri } from '../xmldsig/index.js';
import { attributeNS, childElements, describeElement, hasText, is, textOnly } from './dom.js';
import { DSIG_NS, EXC_C14N, HOLDER_OF_KEY, SAML2_NS, SAML_ID_VALUE_TYPE, SAML_V20_TOKEN_TYPE, WSSE11_NS, WSSE_NS } from './namespaces.js';
import { certificateToken, type SecurityToken } from './token.js';

/** The SAML attribute that names the sender organisation by its enterprise number (KBO/BCE). */
export const CBE_NUMBER_ATTRIBUTE = 'urn:be:fgov:kbo-bce:organization:cbe-number';

/** A security token service whose assertions are trusted. */
export interface SamlIssuer {
  certificate: x509.X509Certificate;
  publicKey: KeyObject;
}

/** What a verified assertion says about its sender. */
export interface SamlOrganisation {
  enterpriseNumber: string;
  /** The assertion's ID, for the record of who was authenticated how. */
  assertionId: string;
  /** The assertion's saml2:Issuer. */
  issuer: string;
}

/** An assertion read and checked for shape; nothing in it is trusted yet. */
export interface SamlToken {
  assertion: Element;
  signature: Element;
  id: string;
  issuer: string;
  notBefore: Date;
  notOnOrAfter: Date;
  /** SubjectConfirmationData's own validity window, when it declares one. */
  confirmationNotBefore: Date | undefined;
  confirmationNotOnOrAfter: Date | undefined;
  /** The certificate the holder-of-key confirmation names: the message must be signed with its key. */
  confirmed: SecurityToken;
  enterpriseNumber: string;
}

function invalidToken(reason: string, cause?: unknown): never {
  throw new EpostError('InvalidSecurityToken', reason, cause);
}

function unsupported(reason: string): never {
  throw new EpostError('UnsupportedAlgorithm', reason);
}

const NCNAME = /^[A-Za-z_][\w.-]*$/;
const BASE64 = /^[A-Za-z0-9+/\s]+={0,2}\s*$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function unavailable(reason: string): never {
  throw new EpostError('SecurityTokenUnavailable', reason);
}

/** The assertion ID the message signature's KeyInfo names (SAML Token Profile 1.1, 3.4.2), or SecurityTokenUnavailable. */
export function samlAssertionReference(keyInfo: Element | undefined): string {
  const content = keyInfo ? childElements(keyInfo) : [];
  if (content.length !== 1 || !is(content[0]!, WSSE_NS, 'SecurityTokenReference')) {
    unavailable('The signature KeyInfo does not reference the SAML assertion by a wsse:SecurityTokenReference.');
  }
  const reference = content[0]!;
  const tokenType = attributeNS(reference, WSSE11_NS, 'TokenType');
  if (tokenType !== undefined && tokenType !== SAML_V20_TOKEN_TYPE) invalidToken(`The SecurityTokenReference declares the TokenType "${tokenType}"; SAML V2.0 is required.`);
  const identifiers = childElements(reference);
  if (identifiers.length !== 1 || !is(identifiers[0]!, WSSE_NS, 'KeyIdentifier')) {
    unavailable('The SecurityTokenReference must hold exactly one wsse:KeyIdentifier naming the SAML assertion.');
  }
  const valueType = attributeNS(identifiers[0]!, null, 'ValueType');
  if (valueType !== SAML_ID_VALUE_TYPE) invalidToken(`The KeyIdentifier ValueType "${valueType ?? ''}" is not accepted; ${SAML_ID_VALUE_TYPE} is required.`);
  const id = textOnly(identifiers[0]!)?.trim();
  if (!id || !NCNAME.test(id)) unavailable('The KeyIdentifier does not hold a SAML assertion ID.');
  return id;
}

function only(parent: Element, namespace: string, localName: string, what: string): Element {
  const found = childElements(parent).filter((e) => is(e, namespace, localName));
  if (found.length !== 1) invalidToken(`The SAML assertion must carry exactly one ${what}, found ${found.length}.`);
  return found[0]!;
}

function dateAttribute(element: Element, name: string, required: boolean): Date | undefined {
  const value = attributeNS(element, null, name);
  if (value === undefined) {
    if (required) invalidToken(`The SAML ${element.localName} has no ${name}; the assertion's validity must be bounded.`);
    return undefined;
  }
  const time = new Date(value);
  if (!DATE_TIME.test(value) || Number.isNaN(time.getTime())) invalidToken(`The SAML ${element.localName} ${name} "${value.slice(0, 40)}" is not an xsd:dateTime with a time zone.`);
  return time;
}

/** The assertion's own ds:Signature: exactly one reference, to the assertion by its ID, enveloped + exclusive C14N. */
function checkAssertionSignatureShape(signature: Element, id: string): void {
  const parts = childElements(signature);
  const names = parts.map((e) => (e.namespaceURI === DSIG_NS ? e.localName : describeElement(e)));
  if (hasText(signature) || !(names.join() === 'SignedInfo,SignatureValue' || names.join() === 'SignedInfo,SignatureValue,KeyInfo')) {
    invalidToken(`The SAML assertion's signature must hold SignedInfo, SignatureValue and optionally KeyInfo, found ${names.join(', ')}.`);
  }
  const signedInfo = parts[0]!;
  const [c14n, method, ...references] = childElements(signedInfo);
  if (hasText(signedInfo) || !c14n || !is(c14n, DSIG_NS, 'CanonicalizationMethod') || !method || !is(method, DSIG_NS, 'SignatureMethod')) {
    invalidToken("The SAML assertion's SignedInfo must start with a CanonicalizationMethod and a SignatureMethod.");
  }
  const c14nAlgorithm = attributeNS(c14n, null, 'Algorithm');
  if (c14nAlgorithm !== EXC_C14N) unsupported(`The SAML assertion is canonicalised with ${c14nAlgorithm ?? 'nothing'}; only exclusive XML canonicalisation is accepted.`);
  const signatureAlgorithm = attributeNS(method, null, 'Algorithm') ?? '';
  if (!signatureAlgorithmByUri(signatureAlgorithm) || childElements(method).length > 0) {
    unsupported(`The SAML assertion's signature algorithm ${signatureAlgorithm} is not accepted; RSA or ECDSA with SHA-256 or stronger is required.`);
  }
  if (references.length !== 1 || !is(references[0]!, DSIG_NS, 'Reference')) {
    invalidToken(`The SAML assertion's signature must have exactly one Reference, to the assertion itself; found ${references.length}.`);
  }
  const reference = references[0]!;
  // Signed as a whole: the reference names this assertion, so nothing else can be what was signed.
  if (attributeNS(reference, null, 'URI') !== `#${id}`) invalidToken(`The SAML assertion's signature does not reference the assertion "#${id}".`);
  const [transforms, digestMethod, digestValue, ...rest] = childElements(reference);
  if (!transforms || !is(transforms, DSIG_NS, 'Transforms') || !digestMethod || !is(digestMethod, DSIG_NS, 'DigestMethod') || !digestValue || rest.length > 0) {
    invalidToken("The SAML assertion's signature Reference must hold Transforms, DigestMethod and DigestValue.");
  }
  const transformList = childElements(transforms).map((t) => attributeNS(t, null, 'Algorithm') ?? '?');
  if (transformList.length !== 2 || transformList[0] !== ENVELOPED_SIGNATURE || transformList[1] !== EXC_C14N) {
    unsupported(`The SAML assertion's signature applies the transforms ${transformList.join(', ')}; exactly enveloped-signature then exclusive C14N are accepted.`);
  }
  const digestAlgorithm = attributeNS(digestMethod, null, 'Algorithm') ?? '';
  if (!digestHashByUri(digestAlgorithm)) unsupported(`The SAML assertion's digest algorithm ${digestAlgorithm} is not accepted; SHA-256 or stronger is required.`);
}

/** The certificate a holder-of-key SubjectConfirmation names (ds:KeyInfo/ds:X509Data/ds:X509Certificate). */
function confirmedCertificate(confirmationData: Element): SecurityToken {
  const keyInfos = childElements(confirmationData);
  if (keyInfos.length !== 1 || !is(keyInfos[0]!, DSIG_NS, 'KeyInfo')) invalidToken('The holder-of-key SubjectConfirmationData must hold exactly one ds:KeyInfo.');
  const x509Data = childElements(keyInfos[0]!);
  if (x509Data.length !== 1 || !is(x509Data[0]!, DSIG_NS, 'X509Data')) invalidToken('The holder-of-key ds:KeyInfo must hold exactly one ds:X509Data with the confirmed certificate.');
  const certificates = childElements(x509Data[0]!);
  if (certificates.length !== 1 || !is(certificates[0]!, DSIG_NS, 'X509Certificate')) invalidToken('The holder-of-key ds:X509Data must hold exactly one ds:X509Certificate.');
  const text = textOnly(certificates[0]!);
  if (text === undefined || !BASE64.test(text)) invalidToken('The holder-of-key ds:X509Certificate is not base64 text.');
  return certificateToken(Buffer.from(text, 'base64'), 'certificate the SAML assertion confirms');
}

function organisationOf(assertion: Element): string {
  const values: Element[] = [];
  for (const statement of childElements(assertion).filter((e) => is(e, SAML2_NS, 'AttributeStatement'))) {
    for (const attribute of childElements(statement)) {
      if (is(attribute, SAML2_NS, 'Attribute') && attributeNS(attribute, null, 'Name') === CBE_NUMBER_ATTRIBUTE) {
        values.push(...childElements(attribute).filter((e) => is(e, SAML2_NS, 'AttributeValue')));
        if (childElements(attribute).some((e) => !is(e, SAML2_NS, 'AttributeValue'))) invalidToken(`The SAML attribute ${CBE_NUMBER_ATTRIBUTE} holds something other than AttributeValues.`);
      }
    }
  }
  if (values.length !== 1) invalidToken(`The SAML assertion must name exactly one organisation in the attribute ${CBE_NUMBER_ATTRIBUTE}, found ${values.length}.`);
  const raw = textOnly(values[0]!)?.trim() ?? '';
  const enterpriseNumber = raw.replace(/[.\s]/g, '');
  if (!/^\d{10}$/.test(enterpriseNumber) || !isValidEnterpriseNumber(enterpriseNumber)) invalidToken(`The SAML attribute ${CBE_NUMBER_ATTRIBUTE} "${raw.slice(0, 40)}" is not a valid enterprise number.`);
  return enterpriseNumber;
}

/**
 * Reads the assertion the message signature names, for shape only: SAML 2.0, the referenced ID,
 * an Issuer, its own signature right after it, a single holder-of-key confirmation with a
 * certificate, bounded Conditions and one organisation. Nothing is trusted until verifySamlToken.
 */
export function readSamlToken(assertion: Element, referencedId: string): SamlToken {
  if (attributeNS(assertion, null, 'Version') !== '2.0') invalidToken('The SAML assertion is not SAML version 2.0.');
  const id = attributeNS(assertion, null, 'ID');
  if (id === undefined || !NCNAME.test(id)) invalidToken('The SAML assertion has no ID.');
  if (id !== referencedId) throw new EpostError('SecurityTokenUnavailable', `The SecurityTokenReference names the assertion "${referencedId}", which is not the assertion in the wsse:Security header.`);
  if (attributeNS(assertion, null, 'IssueInstant') === undefined) invalidToken('The SAML assertion has no IssueInstant.');
  if (hasText(assertion)) invalidToken('The SAML assertion contains stray text.');

  const children = childElements(assertion);
  const issuerElement = children[0];
  if (!issuerElement || !is(issuerElement, SAML2_NS, 'Issuer')) invalidToken('The SAML assertion does not start with its saml2:Issuer.');
  const issuer = textOnly(issuerElement)?.trim();
  if (!issuer) invalidToken('The SAML assertion names no Issuer.');
  const signatures = children.filter((e) => is(e, DSIG_NS, 'Signature'));
  if (signatures.length === 0) invalidToken('The SAML assertion is not signed; it must be signed by a trusted security token service.');
  if (signatures.length > 1 || children[1] !== signatures[0]) invalidToken('The SAML assertion must carry exactly one ds:Signature, right after its Issuer.');
  const signature = signatures[0]!;
  checkAssertionSignatureShape(signature, id);

  const subject = only(assertion, SAML2_NS, 'Subject', 'saml2:Subject');
  const confirmations = childElements(subject).filter((e) => is(e, SAML2_NS, 'SubjectConfirmation'));
  if (confirmations.length !== 1) invalidToken(`The SAML Subject must carry exactly one SubjectConfirmation, found ${confirmations.length}.`);
  const confirmation = confirmations[0]!;
  const method = attributeNS(confirmation, null, 'Method');
  if (method !== HOLDER_OF_KEY) invalidToken(`The SAML SubjectConfirmation Method "${method ?? ''}" is not accepted; holder-of-key is required.`);
  const confirmationData = only(confirmation, SAML2_NS, 'SubjectConfirmationData', 'saml2:SubjectConfirmationData');

  const conditions = only(assertion, SAML2_NS, 'Conditions', 'saml2:Conditions');
  const notBefore = dateAttribute(conditions, 'NotBefore', true)!;
  const notOnOrAfter = dateAttribute(conditions, 'NotOnOrAfter', true)!;
  if (notOnOrAfter.getTime() <= notBefore.getTime()) invalidToken('The SAML Conditions end before they begin.');

  return {
    assertion,
    signature,
    id,
    issuer,
    notBefore,
    notOnOrAfter,
    confirmationNotBefore: dateAttribute(confirmationData, 'NotBefore', false),
    confirmationNotOnOrAfter: dateAttribute(confirmationData, 'NotOnOrAfter', false),
    confirmed: confirmedCertificate(confirmationData),
    enterpriseNumber: organisationOf(assertion),
  };
}

export interface SamlVerifyOptions {
  now: Date;
  clockSkewSeconds: number;
  issuers: readonly SamlIssuer[];
}

function within(now: Date, skewMs: number, from: Date | undefined, until: Date | undefined, what: string): void {
  if (from && now.getTime() + skewMs < from.getTime()) throw new EpostError('MessageExpired', `The SAML assertion's ${what} is not valid before ${from.toISOString()}.`);
  if (until && now.getTime() - skewMs >= until.getTime()) throw new EpostError('MessageExpired', `The SAML assertion's ${what} expired at ${until.toISOString()}.`);
}

/**
 * Verifies that a trusted STS signed the assertion as a whole (xml-crypto, strict profile: no SHA-1,
 * the signature's own KeyInfo never used) and that it and the certificate it confirms are valid at
 * `now`. Returns the organisation it names.
 */
export function verifySamlToken(token: SamlToken, options: SamlVerifyOptions): SamlOrganisation {
  const skewMs = options.clockSkewSeconds * 1000;
  // Standalone, as the STS signed it: the serializer declares the namespaces it uses.
  const xml = new XMLSerializer().serializeToString(token.assertion as unknown as XmldomNode);
  const signedBy = options.issuers.find((issuer) => {
    const at = options.now.getTime();
    if (at < issuer.certificate.notBefore.getTime() || at > issuer.certificate.notAfter.getTime()) return false;
    const verifier = new StrictSignedXml({ publicCert: issuer.publicKey }, { envelopedSignature: true });
    try {
      verifier.loadSignature(token.signature as unknown as globalThis.Node);
      return verifier.checkSignature(xml) && verifier.getSignedReferences().length === 1 && verifier.getReferences()[0]?.uri === `#${token.id}`;
    } catch {
      return false;
    }
  });
  if (!signedBy) {
    throw new EpostError('FailedAuthentication', `The SAML assertion "${token.id}" from "${token.issuer.slice(0, 200)}" is not signed by a trusted security token service, or was altered after signing.`);
  }
  within(options.now, skewMs, token.notBefore, token.notOnOrAfter, 'Conditions');
  within(options.now, skewMs, token.confirmationNotBefore, token.confirmationNotOnOrAfter, 'SubjectConfirmationData');
  const confirmed = token.confirmed.certificate;
  if (options.now.getTime() < confirmed.notBefore.getTime() || options.now.getTime() > confirmed.notAfter.getTime()) {
    throw new EpostError('FailedAuthentication', 'The certificate the SAML assertion confirms is not valid at reception.');
  }
  assertStrongKey(confirmed, 'confirmed', 'FailedAuthentication');
  return { enterpriseNumber: token.enterpriseNumber, assertionId: token.id, issuer: token.issuer };
}

const issuerCache = new Map<string, { stamp: string; issuers: SamlIssuer[] }>();

/**
 * The trusted STS certificates of the configuration: the files of EPOST_SAML_STS_CERTS (each must
 * exist), or the development STS certificate when it exists. Read again only when a file changes.
 */
export function samlIssuersFrom(config: Pick<EpostConfig, 'samlStsCertFiles' | 'certsDir'>): SamlIssuer[] {
  const explicit = config.samlStsCertFiles;
  const devSts = path.join(config.certsDir, 'service', 'sts.pem');
  const files = explicit ?? (fs.existsSync(devSts) ? [devSts] : []);
  const key = files.join('\n');
  let stamp: string;
  try {
    stamp = files.map((f) => `${fs.statSync(f).mtimeMs}:${fs.statSync(f).size}`).join();
  } catch (err) {
    throw new EpostError('ServiceUnavailable', 'A configured STS certificate file (EPOST_SAML_STS_CERTS) cannot be read', err);
  }
  const cached = issuerCache.get(key);
  if (cached && cached.stamp === stamp) return cached.issuers;
  const issuers = files.flatMap((file) =>
    parsePemCertificates([fs.readFileSync(file, 'utf8')], 'STS certificate', 'ServiceUnavailable').map((certificate) => ({
      certificate,
      publicKey: assertStrongKey(certificate, 'STS', 'ServiceUnavailable'),
    })),
  );
  issuerCache.set(key, { stamp, issuers });
  return issuers;
}
