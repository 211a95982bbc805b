// CRL issuance with @peculiar/x509, for the development PKI's CAs and for tests that revoke a
// certificate the way a real CA does. Production CRLs come from the CAs themselves and are only read.
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber } from '@peculiar/asn1-x509';
import { x509, type IssuedCertificate } from './issue.js';

export interface RevokedEntry {
  /** Hexadecimal serial number, as X509Certificate.serialNumber gives it. */
  serialNumber: string;
  revocationDate?: Date;
  reason?: x509.X509CrlReason;
}

export interface IssueCrlOptions {
  /** The CA certificate and keys that sign the CRL. */
  issuer: Pick<IssuedCertificate, 'certificate' | 'keys'>;
  revoked?: RevokedEntry[];
  thisUpdate?: Date;
  nextUpdate: Date;
  /** cRLNumber; default the thisUpdate time in seconds, which only grows. */
  crlNumber?: number;
}

export async function issueCrl(options: IssueCrlOptions): Promise<x509.X509Crl> {
  const thisUpdate = options.thisUpdate ?? new Date();
  const signingKey = options.issuer.keys.privateKey;
  const signingAlgorithm =
    signingKey.algorithm.name === 'ECDSA' ? ({ name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams) : ({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm);
  const crlNumber = options.crlNumber ?? Math.floor(thisUpdate.getTime() / 1000);
  return x509.X509CrlGenerator.create({
    // The issuer's own encoded name, so the CRL matches the certificates it issued byte for byte.
    issuer: options.issuer.certificate.subjectName,
    thisUpdate,
    nextUpdate: options.nextUpdate,
    signingKey,
    signingAlgorithm,
    extensions: [
      await x509.AuthorityKeyIdentifierExtension.create(options.issuer.certificate),
      new x509.Extension('2.5.29.20', false, crlNumberDer(crlNumber)),
    ],
    entries: (options.revoked ?? []).map((entry) => ({
      serialNumber: entry.serialNumber,
      revocationDate: entry.revocationDate ?? thisUpdate,
      ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
    })),
  });
}

/** cRLNumber ::= INTEGER, DER-encoded through the ASN.1 library rather than by hand. */
function crlNumberDer(value: number): ArrayBuffer {
  return AsnConvert.serialize(new CRLNumber(value));
}
