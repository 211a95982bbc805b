// ESS signing-certificate-v2 (RFC 5035, profiled for timestamps by RFC 5816): the signed attribute
// that binds a TimeStampToken to the TSA certificate by its SHA-256 hash. `openssl ts -verify`
// refuses tokens without an ESS signing-certificate attribute, and the v1 form hashes with SHA-1,
// which ePost never uses. No @peculiar package declares these structures, so they are declared here
// with asn1-schema. The project's tsconfig has no `experimentalDecorators`, so the (legacy-style)
// asn1-schema decorators are applied as plain function calls.
import { AsnArray, AsnConvert, AsnIntegerArrayBufferConverter, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, GeneralName, GeneralNames, PolicyInformation } from '@peculiar/asn1-x509';
import { Attribute } from '@peculiar/asn1-cms';

/** id-aa-signingCertificateV2 (RFC 5035). */
export const id_aa_signingCertificateV2 = '1.2.840.113549.1.9.16.2.47';
/** id-aa-signingCertificate (RFC 2634, SHA-1 only): recognised so that it can be refused by name. */
export const id_aa_signingCertificate = '1.2.840.113549.1.9.16.2.12';

/** IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber } */
export class IssuerSerial {
  issuer: GeneralNames = new GeneralNames();
  serialNumber: ArrayBuffer = new ArrayBuffer(0);
  constructor(params: Partial<IssuerSerial> = {}) {
    Object.assign(this, params);
  }
}
AsnProp({ type: GeneralNames })(IssuerSerial.prototype, 'issuer');
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(IssuerSerial.prototype, 'serialNumber');

/** DER IssuerSerial naming a certificate by its issuer and serial number (also XAdES IssuerSerialV2). */
export function issuerSerialDer(certificateDer: ArrayBuffer | Uint8Array): Buffer {
  const tbs = AsnConvert.parse(certificateDer, Certificate).tbsCertificate;
  const issuerSerial = new IssuerSerial({
    issuer: new GeneralNames([new GeneralName({ directoryName: tbs.issuer })]),
    serialNumber: tbs.serialNumber,
  });
  return Buffer.from(AsnConvert.serialize(issuerSerial));
}

/**
 * ESSCertIDv2 ::= SEQUENCE {
 *   hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256},
 *   certHash      Hash,   -- OCTET STRING
 *   issuerSerial  IssuerSerial OPTIONAL }
 * DER omits hashAlgorithm when it is SHA-256 (the default), so it stays undefined for our tokens.
 */
export class ESSCertIDv2 {
  hashAlgorithm?: AlgorithmIdentifier;
  certHash: OctetString = new OctetString();
  issuerSerial?: IssuerSerial;
  constructor(params: Partial<ESSCertIDv2> = {}) {
    Object.assign(this, params);
  }
}
AsnProp({ type: AlgorithmIdentifier, optional: true })(ESSCertIDv2.prototype, 'hashAlgorithm');
AsnProp({ type: OctetString })(ESSCertIDv2.prototype, 'certHash');
AsnProp({ type: IssuerSerial, optional: true })(ESSCertIDv2.prototype, 'issuerSerial');

export class ESSCertIDv2s extends AsnArray<ESSCertIDv2> {
  constructor(items?: ESSCertIDv2[]) {
    super(items);
    Object.setPrototypeOf(this, ESSCertIDv2s.prototype);
  }
}
AsnType({ type: AsnTypeTypes.Sequence, itemType: ESSCertIDv2 })(ESSCertIDv2s);

/** SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies SEQUENCE OF PolicyInformation OPTIONAL } */
export class SigningCertificateV2 {
  certs: ESSCertIDv2s = new ESSCertIDv2s();
  policies?: PolicyInformation[];
  constructor(params: Partial<SigningCertificateV2> = {}) {
    Object.assign(this, params);
  }
}
AsnProp({ type: ESSCertIDv2s })(SigningCertificateV2.prototype, 'certs');
AsnProp({ type: PolicyInformation, repeated: 'sequence', optional: true })(SigningCertificateV2.prototype, 'policies');

/**
 * SignedAttributes ::= SET OF Attribute, the universal-SET form the CMS signature covers (RFC 5652,
 * 5.4). asn1-cms declares `signedAttrsRaw` but does not fill it for this repeated field, so
 * verification re-encodes the parsed attributes in the order received; attribute values are kept as
 * raw bytes by asn1-schema, so a DER-encoded original round-trips exactly.
 */
export class SignedAttributesSet extends AsnArray<Attribute> {
  constructor(items?: Attribute[]) {
    super(items);
    Object.setPrototypeOf(this, SignedAttributesSet.prototype);
  }
}
AsnType({ type: AsnTypeTypes.Set, itemType: Attribute })(SignedAttributesSet);
