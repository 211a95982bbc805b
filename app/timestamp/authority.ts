// The built-in RFC 3161 timestamping authority: it answers a SHA-256 imprint with a DER
// TimeStampToken (CMS SignedData over TSTInfo, RFC 3161 section 2.4.2) signed by the TSA key of the
// PKI. The send path stamps every registered mail twice, so everything that does not depend on the
// imprint or the time (certificates, ESS attribute, signer identifier, algorithm identifiers) is
// DER-encoded once in fromPem and written verbatim into each token (PreEncoded); per token the
// library encodes only TSTInfo, the two variable signed attributes and the containers, and never
// parses back what it has just encoded.
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { AsnConvert, AsnSerializer, OctetString } from '@peculiar/asn1-schema';
import { Certificate, GeneralName, GeneralNames } from '@peculiar/asn1-x509';
import {
  Attribute,
  CertificateChoices,
  CertificateSet,
  CMSVersion,
  DigestAlgorithmIdentifier,
  DigestAlgorithmIdentifiers,
  EncapsulatedContent,
  EncapsulatedContentInfo,
  IssuerAndSerialNumber,
  MessageDigest,
  SignatureAlgorithmIdentifier,
  SignedData,
  SignerIdentifier,
  SignerInfo,
  SignerInfos,
  SigningTime,
  id_contentType,
  id_messageDigest,
  id_signedData,
  id_signingTime,
} from '@peculiar/asn1-cms';
import { Accuracy, MessageImprint, TSTInfo, TSTInfoVersion, id_ct_tstInfo } from '@peculiar/asn1-tsp';
import { EpostError } from '../errors/index.js';
import { assertStrongKey, parsePemCertificates, x509 } from '../pki/index.js';
import { DER_NULL, ecdsaWithSHA256, id_sha256, sha256WithRSAEncryption } from './algorithms.js';
import { ESSCertIDv2, ESSCertIDv2s, IssuerSerial, SignedAttributesSet, SigningCertificateV2, id_aa_signingCertificateV2 } from './ess.js';
import { PreEncoded } from './preEncoded.js';

/**
 * ePost development TSA policy. 2.999 is the joint ISO/ITU-T arc reserved for examples (X.660), so
 * this identifier can never be mistaken for a real, audited TSA policy. A production TSA replaces it
 * with its own policy OID (fromPem's `policy` option).
 */
export const EPOST_DEV_TSA_POLICY = '2.999.3161.1';

/** Declared accuracy of genTime: the host clock is assumed NTP-disciplined to within a second. */
const ACCURACY_SECONDS = 1;

export interface TimestampAuthority {
  /** Returns a DER-encoded TimeStampToken (CMS ContentInfo/SignedData over TSTInfo) for a SHA-256 imprint. */
  timestamp(imprintSha256: Buffer): Promise<Buffer>;
}

export interface TimestampAuthorityOptions {
  /** TSA policy OID written in every token (default: EPOST_DEV_TSA_POLICY). */
  policy?: string;
}

/**
 * Everything of a token that does not depend on the imprint or the time, DER-encoded once by the
 * library (each piece is what the object model would encode in its place).
 */
interface PreparedSigner {
  key: KeyObject;
  keyType: 'rsa' | 'ec';
  policy: string;
  /** GeneralName directoryName of the TSA certificate's subject (TSTInfo tsa). */
  tsaName: PreEncoded;
  /** AlgorithmIdentifier id-sha256 without parameters (message imprint, SignedData and SignerInfo). */
  sha256: PreEncoded;
  /** SET OF DigestAlgorithmIdentifier holding sha256 only. */
  digestAlgorithms: PreEncoded;
  /** issuerAndSerialNumber of the TSA certificate. */
  sid: PreEncoded;
  signatureAlgorithm: PreEncoded;
  /** The TSA certificate, then its chain. */
  certificates: CertificateSet;
  /** Signed attributes whose encoding never changes: content-type id-ct-TSTInfo, ESS signing-certificate-v2. */
  constantAttributes: Buffer[];
}

function requireTimestampingCertificate(cert: x509.X509Certificate): void {
  // RFC 3161 2.3: the TSA certificate has exactly one EKU, id-kp-timeStamping, marked critical.
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  if (!eku || !eku.critical || eku.usages.length !== 1 || eku.usages[0] !== x509.ExtendedKeyUsage.timeStamping) {
    throw new EpostError('InvalidSecurityToken', 'The TSA certificate must carry the single critical extended key usage id-kp-timeStamping');
  }
  assertStrongKey(cert, 'timestamping authority');
}

export class BuiltInTimestampAuthority implements TimestampAuthority {
  private constructor(private readonly signer: PreparedSigner) {}

  static async fromPem(certPem: string, keyPem: string, chainPems: string[] = [], options: TimestampAuthorityOptions = {}): Promise<BuiltInTimestampAuthority> {
    const [tsaCert] = parsePemCertificates([certPem], 'TSA certificate');
    if (!tsaCert) throw new EpostError('InvalidSecurityToken', 'No TSA certificate was given');
    requireTimestampingCertificate(tsaCert);
    const chain = parsePemCertificates(chainPems, 'TSA chain certificate');

    let key: KeyObject;
    try {
      key = createPrivateKey(keyPem);
    } catch (err) {
      throw new EpostError('InvalidSecurityToken', 'The TSA private key is not readable', err);
    }
    const certSpki = Buffer.from(tsaCert.publicKey.rawData);
    if (!createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(certSpki)) {
      throw new EpostError('InvalidSecurityToken', 'The TSA private key does not belong to the TSA certificate');
    }
    const keyType = key.asymmetricKeyType;
    if (keyType !== 'rsa' && keyType !== 'ec') {
      throw new EpostError('UnsupportedAlgorithm', `TSA keys must be RSA or EC, not ${keyType}`);
    }

    const der = Buffer.from(tsaCert.rawData);
    const parsed = AsnConvert.parse(der, Certificate);
    const essCertId = new ESSCertIDv2({
      // hashAlgorithm left out: SHA-256 is the DEFAULT, and DER forbids encoding a default.
      certHash: new OctetString(createHash('sha256').update(der).digest()),
      issuerSerial: new IssuerSerial({
        issuer: new GeneralNames([new GeneralName({ directoryName: parsed.tbsCertificate.issuer })]),
        serialNumber: parsed.tbsCertificate.serialNumber,
      }),
    });
    const signingCertificate = new SigningCertificateV2({ certs: new ESSCertIDv2s([essCertId]) });
    const sha256 = new DigestAlgorithmIdentifier({ algorithm: id_sha256 });
    const preEncode = (model: object): PreEncoded => new PreEncoded(AsnConvert.serialize(model));

    return new BuiltInTimestampAuthority({
      key,
      keyType,
      policy: options.policy ?? EPOST_DEV_TSA_POLICY,
      tsaName: preEncode(new GeneralName({ directoryName: parsed.tbsCertificate.subject })),
      sha256: preEncode(sha256),
      digestAlgorithms: preEncode(new DigestAlgorithmIdentifiers([sha256])),
      sid: preEncode(
        new SignerIdentifier({
          issuerAndSerialNumber: new IssuerAndSerialNumber({ issuer: parsed.tbsCertificate.issuer, serialNumber: parsed.tbsCertificate.serialNumber }),
        }),
      ),
      signatureAlgorithm: preEncode(
        keyType === 'rsa'
          ? new SignatureAlgorithmIdentifier({ algorithm: sha256WithRSAEncryption, parameters: DER_NULL })
          : new SignatureAlgorithmIdentifier({ algorithm: ecdsaWithSHA256 }),
      ),
      // certReq semantics: the TSA certificate is always included (plus its chain when configured),
      // as the DER of the certificates themselves.
      certificates: new CertificateSet([der, ...chain.map((c) => c.rawData)].map((d) => new PreEncoded(d).as<CertificateChoices>())),
      constantAttributes: [
        attribute(id_contentType, new asn1js.ObjectIdentifier({ value: id_ct_tstInfo })),
        Buffer.from(AsnConvert.serialize(new Attribute({ attrType: id_aa_signingCertificateV2, attrValues: [AsnConvert.serialize(signingCertificate)] }))),
      ],
    });
  }

  async timestamp(imprintSha256: Buffer): Promise<Buffer> {
    if (!Buffer.isBuffer(imprintSha256) || imprintSha256.length !== 32) {
      throw new EpostError('InvalidRequest', 'A timestamp imprint must be a 32-byte SHA-256 digest');
    }
    const s = this.signer;
    const genTime = new Date();
    const tstInfo = new TSTInfo({
      version: TSTInfoVersion.v1,
      policy: s.policy,
      messageImprint: new MessageImprint({
        hashAlgorithm: s.sha256.as<MessageImprint['hashAlgorithm']>(),
        hashedMessage: new OctetString(imprintSha256),
      }),
      serialNumber: randomSerialNumber(),
      genTime,
      accuracy: new Accuracy({ seconds: ACCURACY_SECONDS }),
      ordering: false,
      tsa: s.tsaName.as<GeneralName>(),
    });
    const eContent = Buffer.from(AsnConvert.serialize(tstInfo));

    // DER orders a SET OF by the encodings of its elements; verifiers (OpenSSL) re-encode to check.
    const signedAttrs = [
      ...s.constantAttributes,
      attribute(id_signingTime, AsnSerializer.toASN(new SigningTime(genTime))),
      attribute(id_messageDigest, AsnSerializer.toASN(new MessageDigest(createHash('sha256').update(eContent).digest()))),
    ]
      .sort(Buffer.compare)
      .map((der) => new PreEncoded(der).as<Attribute>());
    const toBeSigned = Buffer.from(AsnConvert.serialize(new SignedAttributesSet(signedAttrs)));
    const signature =
      s.keyType === 'rsa'
        ? sign('sha256', toBeSigned, s.key)
        : sign('sha256', toBeSigned, { key: s.key, dsaEncoding: 'der' });

    const signedData = new SignedData({
      version: CMSVersion.v3, // eContentType is not id-data (RFC 5652, 5.1)
      digestAlgorithms: s.digestAlgorithms.as<DigestAlgorithmIdentifiers>(),
      encapContentInfo: new EncapsulatedContentInfo({
        eContentType: id_ct_tstInfo,
        eContent: new EncapsulatedContent({ single: new OctetString(eContent) }),
      }),
      certificates: s.certificates,
      signerInfos: new SignerInfos([
        new SignerInfo({
          version: CMSVersion.v1, // issuerAndSerialNumber
          sid: s.sid.as<SignerIdentifier>(),
          digestAlgorithm: s.sha256.as<DigestAlgorithmIdentifier>(),
          signedAttrs,
          signatureAlgorithm: s.signatureAlgorithm.as<SignatureAlgorithmIdentifier>(),
          signature: new OctetString(signature),
        }),
      ]),
    });
    // ContentInfo { contentType id-signedData, content [0] EXPLICIT SignedData }: built from the
    // SignedData's blocks, because the model's ContentInfo takes its content as encoded bytes and
    // would parse them back.
    const token = new asn1js.Sequence({
      value: [
        new asn1js.ObjectIdentifier({ value: id_signedData }),
        new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [AsnSerializer.toASN(signedData)] }),
      ],
    });
    return Buffer.from(token.toBER(false));
  }
}

/**
 * Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue } with one
 * value, encoded from the value's block (the model's Attribute takes values as bytes and parses
 * them back).
 */
function attribute(attrType: string, value: asn1js.BaseBlock): Buffer {
  const encoded = new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: attrType }), new asn1js.Set({ value: [value] })] });
  return Buffer.from(encoded.toBER(false));
}

/** A random positive 128-bit serial, minimally DER-encoded (a leading zero only when the top bit is set). */
function randomSerialNumber(): ArrayBuffer {
  const bytes = randomBytes(16);
  if (bytes[0] === 0) bytes[0] = 1; // keeps the encoding minimal; costs under one bit of entropy
  const der = bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return new Uint8Array(der).buffer;
}
