// Verification of an RFC 3161 TimeStampToken against an expected SHA-256 imprint, independent of
// who issued it: the CMS structure, the imprint, the signed attributes (contentType, messageDigest,
// ESS signing-certificate-v2), the signature over the signed attributes as received, and the TSA
// certificate's purpose and path to a trust anchor (app/pki's path validation).
import { createHash, createPublicKey, timingSafeEqual, verify as verifySignature } from 'node:crypto';
import { AsnConvert, AsnObjectIdentifierConverter, AsnParser, OctetString } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { ContentInfo, SignedData, SignerInfo, id_contentType, id_messageDigest, id_signedData } from '@peculiar/asn1-cms';
import { TSTInfo, id_ct_tstInfo } from '@peculiar/asn1-tsp';
import { EpostError } from '../errors/index.js';
import { parsePemCertificates, validateCertificatePath, x509 } from '../pki/index.js';
import { DIGESTS, SIGNATURES, id_sha256 } from './algorithms.js';
import { SignedAttributesSet, SigningCertificateV2, id_aa_signingCertificate, id_aa_signingCertificateV2 } from './ess.js';

export interface VerifiedTimestamp {
  genTime: Date;
  /** Lowercase hex of the TSTInfo serial number. */
  serialNumber: string;
  policy: string;
  tsaSubject: string;
  /** Lowercase hex of the nonce the TSA echoed, when the request carried one. */
  nonce?: string;
  /** The TSA certificate path as validated, TSA certificate first and trust anchor last. */
  certificatePath: x509.X509Certificate[];
}

const TST_INFO_OID_DER = AsnObjectIdentifierConverter.toASN(id_ct_tstInfo).toBER(false);

function fail(reason: string, cause?: unknown): never {
  throw new EpostError('FailedCheck', `Timestamp token refused: ${reason}`, cause);
}

function parse<T>(der: ArrayBuffer | Uint8Array, type: new () => T, what: string): T {
  try {
    return AsnParser.parse(der, type);
  } catch (err) {
    return fail(`${what} is not valid ASN.1`, err);
  }
}

function equalBytes(a: ArrayBuffer | Uint8Array, b: ArrayBuffer | Uint8Array): boolean {
  const x = Buffer.from(a instanceof Uint8Array ? a : new Uint8Array(a));
  const y = Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

function singleAttribute(signer: SignerInfo, type: string, what: string): ArrayBuffer {
  const found = (signer.signedAttrs ?? []).filter((a) => a.attrType === type);
  if (found.length !== 1 || found[0]!.attrValues.length !== 1) fail(`the ${what} signed attribute must be present exactly once`);
  return found[0]!.attrValues[0]!;
}

function unsignedHex(bytes: ArrayBuffer): string {
  return Buffer.from(bytes).toString('hex').replace(/^(00)+(?=.)/, '');
}

/** Finds the signer's certificate among those in the token and those supplied, by issuer and serial or by key identifier. */
function findSignerCertificate(signer: SignerInfo, candidates: x509.X509Certificate[]): x509.X509Certificate {
  const byIssuerSerial = signer.sid.issuerAndSerialNumber;
  const bySki = signer.sid.subjectKeyIdentifier;
  for (const cert of candidates) {
    const parsed = AsnConvert.parse(cert.rawData, Certificate);
    if (byIssuerSerial) {
      if (
        equalBytes(parsed.tbsCertificate.serialNumber, byIssuerSerial.serialNumber) &&
        equalBytes(AsnConvert.serialize(parsed.tbsCertificate.issuer), AsnConvert.serialize(byIssuerSerial.issuer))
      ) {
        return cert;
      }
    } else if (bySki) {
      const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
      if (ski && ski.keyId === Buffer.from(bySki.buffer).toString('hex')) return cert;
    }
  }
  return fail('the TSA certificate is neither in the token nor among the supplied certificates');
}

function checkSigningCertificateAttribute(signer: SignerInfo, tsaCert: x509.X509Certificate): void {
  if ((signer.signedAttrs ?? []).some((a) => a.attrType === id_aa_signingCertificate)) {
    fail('the ESS signing-certificate (v1) attribute uses SHA-1; only signing-certificate-v2 is accepted');
  }
  const ess = parse(singleAttribute(signer, id_aa_signingCertificateV2, 'ESS signing-certificate-v2'), SigningCertificateV2, 'the ESS signing-certificate-v2 attribute');
  const first = ess.certs[0];
  if (!first) fail('the ESS signing-certificate-v2 attribute names no certificate');
  const hashName = DIGESTS[first.hashAlgorithm?.algorithm ?? id_sha256];
  if (!hashName) fail(`the ESS certificate hash algorithm ${first.hashAlgorithm?.algorithm} is refused`);
  const expected = createHash(hashName).update(Buffer.from(tsaCert.rawData)).digest();
  if (!equalBytes(first.certHash.buffer, expected)) fail('the ESS signing-certificate-v2 hash does not match the TSA certificate');
  if (first.issuerSerial) {
    const parsed = AsnConvert.parse(tsaCert.rawData, Certificate);
    if (!equalBytes(first.issuerSerial.serialNumber, parsed.tbsCertificate.serialNumber)) {
      fail('the ESS signing-certificate-v2 serial number does not match the TSA certificate');
    }
  }
}

function checkSignature(signer: SignerInfo, tsaCert: x509.X509Certificate): void {
  if (!signer.signedAttrs || signer.signedAttrs.length === 0) fail('the signer has no signed attributes');
  const algorithm = SIGNATURES[signer.signatureAlgorithm.algorithm];
  if (!algorithm) fail(`the signature algorithm ${signer.signatureAlgorithm.algorithm} is refused`);
  const digest = DIGESTS[signer.digestAlgorithm.algorithm];
  if (!digest) fail(`the digest algorithm ${signer.digestAlgorithm.algorithm} is refused`);
  if (algorithm.hash && algorithm.hash !== digest) fail('the signature and digest algorithms disagree');
  const publicKey = createPublicKey({ key: Buffer.from(tsaCert.publicKey.rawData), format: 'der', type: 'spki' });
  if (publicKey.asymmetricKeyType !== algorithm.key) fail('the signature algorithm does not match the TSA key');
  // The signature covers the attributes as a universal SET rather than the [0] IMPLICIT field.
  const toBeVerified = Buffer.from(AsnConvert.serialize(new SignedAttributesSet(signer.signedAttrs)));
  const ok = verifySignature(digest, toBeVerified, { key: publicKey, dsaEncoding: 'der' }, Buffer.from(signer.signature.buffer));
  if (!ok) fail('the TSA signature does not verify');
}

/**
 * Verifies a DER TimeStampToken over `expectedImprintSha256`. The TSA certificate must chain to one
 * of `trustAnchorsPem` and be valid both now and at genTime. Throws EpostError('FailedCheck').
 */
export async function verifyTimestampToken(
  token: Buffer,
  expectedImprintSha256: Buffer,
  trustAnchorsPem: string[],
  intermediatesPem: string[] = [],
): Promise<VerifiedTimestamp> {
  try {
    return await verifyToken(token, expectedImprintSha256, trustAnchorsPem, intermediatesPem);
  } catch (err) {
    // Every failure is the caller's FailedCheck, whatever raised it (a path check's
    // UnsupportedAlgorithm, an unreadable certificate, a library error on hostile bytes).
    if (err instanceof EpostError && err.code === 'FailedCheck') throw err;
    return fail(err instanceof EpostError ? err.message : 'the token could not be processed', err);
  }
}

async function verifyToken(token: Buffer, expectedImprintSha256: Buffer, trustAnchorsPem: string[], intermediatesPem: string[]): Promise<VerifiedTimestamp> {
  const contentInfo = parse(token, ContentInfo, 'the token');
  if (contentInfo.contentType !== id_signedData) fail('the token is not CMS SignedData');
  const signedData = parse(contentInfo.content, SignedData, 'the SignedData');
  const encap = signedData.encapContentInfo;
  if (encap.eContentType !== id_ct_tstInfo) fail('the token does not encapsulate a TSTInfo');
  const eContent = encap.eContent?.single?.buffer;
  if (!eContent) fail('the token carries no TSTInfo');
  const eContentBytes = Buffer.from(eContent);
  const tstInfo = parse(eContentBytes, TSTInfo, 'the TSTInfo');

  if (tstInfo.version !== 1) fail(`unsupported TSTInfo version ${tstInfo.version}`);
  if (tstInfo.messageImprint.hashAlgorithm.algorithm !== id_sha256) fail('the message imprint is not SHA-256');
  if (!equalBytes(tstInfo.messageImprint.hashedMessage.buffer, expectedImprintSha256)) {
    fail('the message imprint does not match the timestamped data');
  }

  if (signedData.signerInfos.length !== 1) fail('the token must have exactly one signer');
  const signer = signedData.signerInfos[0]!;
  const embedded = (signedData.certificates ?? [])
    .map((choice) => choice.certificate)
    .filter((c): c is Certificate => c !== undefined)
    .map((c) => new x509.X509Certificate(AsnConvert.serialize(c)));
  const intermediates = parsePemCertificates(intermediatesPem, 'intermediate certificate');
  const tsaCert = findSignerCertificate(signer, [...embedded, ...intermediates]);

  // DER is unique, so the contentType attribute must be byte-for-byte the encoding of id-ct-TSTInfo.
  if (!equalBytes(singleAttribute(signer, id_contentType, 'contentType'), TST_INFO_OID_DER)) {
    fail('the contentType signed attribute is not id-ct-TSTInfo');
  }
  const digestName = DIGESTS[signer.digestAlgorithm.algorithm];
  if (!digestName) fail(`the digest algorithm ${signer.digestAlgorithm.algorithm} is refused`);
  const messageDigest = parse(singleAttribute(signer, id_messageDigest, 'messageDigest'), OctetString, 'the messageDigest attribute');
  if (!equalBytes(messageDigest.buffer, createHash(digestName).update(eContentBytes).digest())) {
    fail('the messageDigest attribute does not match the TSTInfo');
  }
  // The optional tsa field names the TSA; when present it must name the certificate that signed.
  if (tstInfo.tsa) {
    const named = tstInfo.tsa.directoryName;
    const subject = AsnConvert.parse(tsaCert.rawData, Certificate).tbsCertificate.subject;
    if (!named || !equalBytes(AsnConvert.serialize(named), AsnConvert.serialize(subject))) fail('the TSTInfo tsa name is not the signing certificate');
  }
  checkSigningCertificateAttribute(signer, tsaCert);
  checkSignature(signer, tsaCert);

  const anchors = parsePemCertificates(trustAnchorsPem, 'trust anchor');
  const candidates = [...intermediates, ...embedded];
  // Valid now (the usual RFC 3161 rule) and at genTime (the TSA could sign when it claims it did);
  // the purpose rule wants the single critical EKU id-kp-timeStamping (RFC 3161, 2.3).
  const certificatePath = await validateCertificatePath(tsaCert, {
    anchors,
    intermediates: candidates,
    at: [new Date(), tstInfo.genTime],
    what: 'timestamping authority',
    purpose: 'timestamping',
  });

  return {
    genTime: tstInfo.genTime,
    serialNumber: unsignedHex(tstInfo.serialNumber),
    policy: tstInfo.policy,
    tsaSubject: tsaCert.subject,
    ...(tstInfo.nonce ? { nonce: unsignedHex(tstInfo.nonce) } : {}),
    certificatePath,
  };
}
