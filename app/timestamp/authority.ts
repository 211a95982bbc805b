// The built-in RFC 3161 timestamping authority: it answers a SHA-256 imprint with a DER
// TimeStampToken (CMS SignedData over TSTInfo, RFC 3161 section 2.4.2) signed by the TSA key of the
// PKI. The send path stamps every registered mail twice, so everything that does not depend on the
// imprint or the time (certificates, ESS attribute, signer identifier, algorithm identifiers) is
// DER-encoded once in fromPem by the ASN.1 libraries and written verbatim into each token
// (PreEncoded). Per token asn1js encodes only the six variable fields; the containers around them
// come from templates it encoded once for those field lengths (DerTemplate), and nothing is parsed back.
import { createPrivateKey, createPublicKey, hash, sign, type KeyObject } from 'node:crypto';
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
  IssuerAndSerialNumber,
  SignatureAlgorithmIdentifier,
  SignerIdentifier,
  SigningTime,
  id_contentType,
  id_messageDigest,
  id_signedData,
  id_signingTime,
} from '@peculiar/asn1-cms';
import { Accuracy, TSTInfoVersion, id_ct_tstInfo } from '@peculiar/asn1-tsp';
import { EpostError } from '../errors/index.js';
import { pooledRandomBytes } from '../identifiers/index.js';
import { assertStrongKey, parsePemCertificates, x509 } from '../pki/index.js';
import { DER_NULL, ecdsaWithSHA256, id_sha256, sha256WithRSAEncryption } from './algorithms.js';
import { ESSCertIDv2, ESSCertIDv2s, IssuerSerial, SigningCertificateV2, id_aa_signingCertificateV2 } from './ess.js';
import { DerTemplate, PreEncoded } from './preEncoded.js';

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
  /** The clock genTime is read from (tests pin it to reach every encoding length of the time). */
  now?: () => Date;
}

/**
 * Everything of a token that does not depend on the imprint or the time, DER-encoded once by the
 * library (each piece is what the object model would encode in its place).
 */
interface PreparedSigner {
  key: KeyObject;
  keyType: 'rsa' | 'ec';
  /** TSTInfo version v1 and policy. */
  tstInfoHead: PreEncoded[];
  /** AlgorithmIdentifier id-sha256 without parameters (message imprint, SignedData and SignerInfo). */
  sha256: PreEncoded;
  /** TSTInfo accuracy (whole seconds). */
  accuracy: PreEncoded;
  /** TSTInfo tsa: [0] EXPLICIT GeneralName directoryName of the TSA certificate's subject. */
  tsaName: PreEncoded;
  /** SignedData version v3 and its SET OF DigestAlgorithmIdentifier holding sha256 only. */
  signedDataHead: PreEncoded[];
  /** eContentType id-ct-TSTInfo. */
  eContentType: PreEncoded;
  /** SignedData certificates [0] IMPLICIT: the TSA certificate, then its chain. */
  certificates: PreEncoded;
  /** SignerInfo version v1, issuerAndSerialNumber of the TSA certificate, digestAlgorithm sha256. */
  signerInfoHead: PreEncoded[];
  signatureAlgorithm: PreEncoded;
  /** ContentInfo contentType id-signedData. */
  contentType: PreEncoded;
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
  /** Token parts by part and field lengths (see token). */
  private readonly templates = new Map<string, DerTemplate>();
  /** The signing-time attribute's value of the latest token: it holds whole seconds (asn1-x509's Time drops the milliseconds), and a second holds hundreds of tokens. */
  private latestSigningTime = { second: Number.NaN, der: Buffer.alloc(0) };

  private constructor(
    private readonly signer: PreparedSigner,
    private readonly now: () => Date,
  ) {}

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
      certHash: new OctetString(hash('sha256', der, 'buffer')),
      issuerSerial: new IssuerSerial({
        issuer: new GeneralNames([new GeneralName({ directoryName: parsed.tbsCertificate.issuer })]),
        serialNumber: parsed.tbsCertificate.serialNumber,
      }),
    });
    const signingCertificate = new SigningCertificateV2({ certs: new ESSCertIDv2s([essCertId]) });
    const sha256 = new DigestAlgorithmIdentifier({ algorithm: id_sha256 });
    const preEncode = (model: object): PreEncoded => new PreEncoded(AsnConvert.serialize(model));

    const sid = new SignerIdentifier({
      issuerAndSerialNumber: new IssuerAndSerialNumber({ issuer: parsed.tbsCertificate.issuer, serialNumber: parsed.tbsCertificate.serialNumber }),
    });
    // certReq semantics: the TSA certificate is always included (plus its chain when configured),
    // as the DER of the certificates themselves.
    const certificates = new CertificateSet([der, ...chain.map((c) => c.rawData)].map((d) => new PreEncoded(d).as<CertificateChoices>()));
    return new BuiltInTimestampAuthority({
      key,
      keyType,
      tstInfoHead: [block(new asn1js.Integer({ value: TSTInfoVersion.v1 })), block(new asn1js.ObjectIdentifier({ value: options.policy ?? EPOST_DEV_TSA_POLICY }))],
      sha256: preEncode(sha256),
      accuracy: preEncode(new Accuracy({ seconds: ACCURACY_SECONDS })),
      tsaName: block(explicit(0, AsnSerializer.toASN(new GeneralName({ directoryName: parsed.tbsCertificate.subject })))),
      signedDataHead: [
        block(new asn1js.Integer({ value: CMSVersion.v3 })), // eContentType is not id-data (RFC 5652, 5.1)
        preEncode(new DigestAlgorithmIdentifiers([sha256])),
      ],
      eContentType: block(new asn1js.ObjectIdentifier({ value: id_ct_tstInfo })),
      certificates: block(implicitSet(0, AsnSerializer.toASN(certificates) as asn1js.Set)),
      signerInfoHead: [block(new asn1js.Integer({ value: CMSVersion.v1 })), preEncode(sid), preEncode(sha256)], // v1: issuerAndSerialNumber
      signatureAlgorithm: preEncode(
        keyType === 'rsa'
          ? new SignatureAlgorithmIdentifier({ algorithm: sha256WithRSAEncryption, parameters: DER_NULL })
          : new SignatureAlgorithmIdentifier({ algorithm: ecdsaWithSHA256 }),
      ),
      contentType: block(new asn1js.ObjectIdentifier({ value: id_signedData })),
      constantAttributes: [
        attribute(id_contentType, new asn1js.ObjectIdentifier({ value: id_ct_tstInfo })),
        Buffer.from(AsnConvert.serialize(new Attribute({ attrType: id_aa_signingCertificateV2, attrValues: [AsnConvert.serialize(signingCertificate)] }))),
      ],
    }, options.now ?? (() => new Date()));
  }

  async timestamp(imprintSha256: Buffer): Promise<Buffer> {
    if (!Buffer.isBuffer(imprintSha256) || imprintSha256.length !== 32) {
      throw new EpostError('InvalidRequest', 'A timestamp imprint must be a 32-byte SHA-256 digest');
    }
    return this.token(imprintSha256, this.now(), randomSerialNumber());
  }

  /**
   * The token. asn1js encodes its two times (genTime, signing time) each time; the imprint, serial,
   * message digest and signature are content filled into an OCTET STRING or INTEGER that asn1js
   * encoded once for that length (an asn1js encoding cost ~90 µs a token under load); everything
   * around them, the containers' tags and lengths included, comes from templates that asn1js encoded
   * once around placeholders of the same lengths. Serial, genTime and an ECDSA signature vary by a
   * byte or two, so a handful of templates serve all tokens.
   */
  private token(imprintSha256: Buffer, genTime: Date, serialNumber: ArrayBuffer): Buffer {
    const imprint = this.primitive('octetString', imprintSha256, octetString);
    const serial = this.primitive('integer', new Uint8Array(serialNumber), (content) => der(new asn1js.Integer({ valueHex: content })));
    const time = der(new asn1js.GeneralizedTime({ valueDate: genTime }));
    const signingTime = this.signingTimeOf(genTime);

    const eContent = this.fill('tstInfo', [imprint, serial, time], ([i, n, t]) => this.tstInfo(i!, n!, t!));
    const messageDigest = this.primitive('octetString', hash('sha256', eContent, 'buffer'), octetString);
    // The signature covers the attributes as a SET OF (RFC 5652, 5.4); the SignerInfo carries them [0] IMPLICIT.
    const toBeSigned = this.fill('signedAttrs', [signingTime, messageDigest], ([st, md]) => der(new asn1js.Set({ value: this.signedAttrs(st!, md!) })));
    const s = this.signer;
    const signatureValue = s.keyType === 'rsa' ? sign('sha256', toBeSigned, s.key) : sign('sha256', toBeSigned, { key: s.key, dsaEncoding: 'der' });
    const signature = this.primitive('octetString', signatureValue, octetString);

    return this.fill('token', [imprint, serial, time, signingTime, messageDigest, signature], ([i, n, t, st, md, sig]) =>
      this.contentInfo(this.tstInfo(i!, n!, t!), this.signedAttrs(st!, md!), sig!),
    );
  }

  private signingTimeOf(genTime: Date): Buffer {
    const second = Math.floor(genTime.getTime() / 1000);
    if (second !== this.latestSigningTime.second) {
      this.latestSigningTime = { second, der: Buffer.from(AsnSerializer.serialize(new SigningTime(genTime))) };
    }
    return this.latestSigningTime.der;
  }

  /** A part of the token with these fields, from the template for their lengths (`encode` makes it on first use). */
  private fill(part: string, fields: Buffer[], encode: (placeholders: PreEncoded[]) => Buffer): Buffer {
    return this.template(`${part}:${fields.map((f) => f.length).join(',')}`, () => DerTemplate.encode(fields.map((f) => f.length), encode)).fill(fields);
  }

  /** A primitive value with this content, from the template for its type and length (asn1js encoded it once, `encode`). */
  private primitive(type: string, content: Uint8Array, encode: (content: Uint8Array) => Buffer): Buffer {
    return this.template(`${type}:${content.length}`, () => DerTemplate.encodeContent(content.length, encode)).fill([content]);
  }

  private template(key: string, make: () => DerTemplate): DerTemplate {
    let template = this.templates.get(key);
    if (!template) {
      template = make();
      // Only a handful of length combinations occur; the bound guards the memory against a surprise.
      if (this.templates.size < 64) this.templates.set(key, template);
    }
    return template;
  }

  /** TSTInfo (RFC 3161, 2.4.2): ordering FALSE is the DEFAULT and so not encoded; no nonce, no extensions. */
  private tstInfo(imprint: PreEncoded, serial: PreEncoded, genTime: PreEncoded): Buffer {
    const s = this.signer;
    const messageImprint = new asn1js.Sequence({ value: [s.sha256, imprint] });
    return der(new asn1js.Sequence({ value: [...s.tstInfoHead, messageImprint, serial, genTime, s.accuracy, s.tsaName] }));
  }

  /** The signed attributes in DER order: a SET OF is ordered by its elements' encodings (verifiers such as OpenSSL re-encode to check). */
  private signedAttrs(signingTime: PreEncoded, messageDigest: PreEncoded): PreEncoded[] {
    return [...this.signer.constantAttributes, attribute(id_signingTime, signingTime), attribute(id_messageDigest, messageDigest)]
      .sort(Buffer.compare)
      .map((encoded) => new PreEncoded(encoded));
  }

  /** ContentInfo { id-signedData, [0] EXPLICIT SignedData } around TSTInfo, in the order of asn1-cms's structures. */
  private contentInfo(tstInfo: Buffer, signedAttrs: PreEncoded[], signature: PreEncoded): Buffer {
    const s = this.signer;
    const signerInfo = new asn1js.Sequence({
      value: [...s.signerInfoHead, new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: signedAttrs }), s.signatureAlgorithm, signature],
    });
    const encapContentInfo = new asn1js.Sequence({ value: [s.eContentType, explicit(0, new asn1js.OctetString({ valueHex: tstInfo }))] });
    const signedData = new asn1js.Sequence({ value: [...s.signedDataHead, encapContentInfo, s.certificates, new asn1js.Set({ value: [signerInfo] })] });
    return der(new asn1js.Sequence({ value: [s.contentType, explicit(0, signedData)] }));
  }
}

function octetString(content: Uint8Array): Buffer {
  return der(new asn1js.OctetString({ valueHex: content }));
}

/** One block's DER as asn1js encodes it. */
function der(value: asn1js.BaseBlock): Buffer {
  return Buffer.from(value.toBER(false));
}

/** The DER of a block, encoded once by asn1js and written verbatim into every token. */
function block(value: asn1js.BaseBlock): PreEncoded {
  return new PreEncoded(der(value));
}

/** [tag] EXPLICIT around one block. */
function explicit(tagNumber: number, value: asn1js.BaseBlock): asn1js.Constructed {
  return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber }, value: [value] });
}

/** [tag] IMPLICIT SET OF: the SET's elements under a context tag. */
function implicitSet(tagNumber: number, set: asn1js.Set): asn1js.Constructed {
  return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber }, value: set.valueBlock.value });
}

/**
 * Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue } with one
 * value, encoded from the value's block (the model's Attribute takes values as bytes and parses
 * them back).
 */
function attribute(attrType: string, value: asn1js.BaseBlock): Buffer {
  return der(new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: attrType }), new asn1js.Set({ value: [value] })] }));
}

/** A random positive 128-bit serial, minimally DER-encoded (a leading zero only when the top bit is set). */
function randomSerialNumber(): ArrayBuffer {
  const bytes = pooledRandomBytes(16);
  if (bytes[0] === 0) bytes[0] = 1; // keeps the encoding minimal; costs under one bit of entropy
  const der = bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return new Uint8Array(der).buffer;
}
