// Certificate issuance with @peculiar/x509 on Node's WebCrypto. Used to generate the development
// PKI and, in tests, the certificates an attacker would bring; production certificates come from a
// real CA and are only read.
import 'reflect-metadata'; // @peculiar/x509 (tsyringe) needs it loaded first
import { webcrypto, createPrivateKey, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export type KeySpec = { kind: 'rsa'; bits: number } | { kind: 'ec'; curve: 'P-256' | 'P-384' };

export const RSA_2048: KeySpec = { kind: 'rsa', bits: 2048 };

export interface IssuedCertificate {
  certificate: x509.X509Certificate;
  keys: CryptoKeyPair;
  certPem: string;
  keyPem: string;
  /** The same private key as a Node KeyObject, for node:crypto and xml-crypto. */
  privateKey: KeyObject;
}

export interface IssueOptions {
  subject: string;
  /** Issuer certificate and key; omitted for a self-signed root. */
  issuer?: Pick<IssuedCertificate, 'certificate' | 'keys'>;
  notBefore?: Date;
  notAfter?: Date;
  key?: KeySpec;
  /** basicConstraints: a CA with an optional path length, or an end entity. */
  ca?: { pathLength?: number };
  keyUsages?: x509.KeyUsageFlags;
  extendedKeyUsages?: string[];
  /** Whether the extendedKeyUsage extension is critical (RFC 3161 requires it for a TSA). */
  extendedKeyUsageCritical?: boolean;
  subjectAltNames?: x509.JsonGeneralName[];
  crlDistributionPoints?: string[];
  serialNumber?: string;
}

function algorithmFor(spec: KeySpec): RsaHashedKeyGenParams | EcKeyGenParams {
  return spec.kind === 'rsa'
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: spec.bits }
    : { name: 'ECDSA', namedCurve: spec.curve };
}

function signingAlgorithmFor(keys: CryptoKeyPair): Algorithm | EcdsaParams {
  return keys.privateKey.algorithm.name === 'ECDSA'
    ? ({ name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams)
    : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm;
}

export async function generateKeys(spec: KeySpec = RSA_2048): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(algorithmFor(spec), true, ['sign', 'verify'])) as CryptoKeyPair;
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive and non-zero, as RFC 5280 asks
  return Buffer.from(bytes).toString('hex');
}

export async function issueCertificate(options: IssueOptions): Promise<IssuedCertificate> {
  const keys = await generateKeys(options.key ?? RSA_2048);
  const notBefore = options.notBefore ?? new Date(Date.now() - 60 * 60 * 1000);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 2 * 365 * 24 * 3600 * 1000);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(!!options.ca, options.ca?.pathLength, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (options.keyUsages !== undefined) extensions.push(new x509.KeyUsagesExtension(options.keyUsages, true));
  if (options.extendedKeyUsages) {
    extensions.push(new x509.ExtendedKeyUsageExtension(options.extendedKeyUsages, options.extendedKeyUsageCritical ?? false));
  }
  if (options.subjectAltNames) extensions.push(new x509.SubjectAlternativeNameExtension(options.subjectAltNames));
  if (options.crlDistributionPoints) extensions.push(new x509.CRLDistributionPointsExtension(options.crlDistributionPoints));
  if (options.issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(options.issuer.certificate));

  const signingKeys = options.issuer?.keys ?? keys;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: options.serialNumber ?? randomSerial(),
    subject: options.subject,
    issuer: options.issuer ? options.issuer.certificate.subject : options.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: signingKeys.privateKey,
    signingAlgorithm: signingAlgorithmFor(signingKeys),
    extensions,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  return {
    certificate,
    keys,
    certPem: certificate.toString('pem'),
    keyPem,
    privateKey: createPrivateKey(keyPem),
  };
}

export { x509 };

/** An existing CA (certificate and PKCS#8 key, PEM) as an issuer for issueCertificate. */
export async function loadIssuer(certPem: string, keyPem: string): Promise<Pick<IssuedCertificate, 'certificate' | 'keys'>> {
  const certificate = new x509.X509Certificate(certPem);
  const publicKey = await certificate.publicKey.export();
  const algorithm = publicKey.algorithm as RsaHashedImportParams | EcKeyImportParams;
  const der = x509.PemConverter.decodeFirst(keyPem);
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, algorithm, true, ['sign']);
  return { certificate, keys: { publicKey, privateKey } as CryptoKeyPair };
}
