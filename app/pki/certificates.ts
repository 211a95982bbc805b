// Reading certificates and the checks every certificate ePost relies on must pass, whoever uses it:
// the sender trust store, the timestamp verifier and the proof verifier.
import fs from 'node:fs';
import path from 'node:path';
import { createPublicKey, hash, type KeyObject } from 'node:crypto';
import { EpostError, type ErrorCode } from '../errors/index.js';
import { x509 } from './issue.js';

export type X509Certificate = x509.X509Certificate;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Curves at or above P-256 (node:crypto names). */
export const ACCEPTED_CURVES: ReadonlySet<string> = new Set(['prime256v1', 'secp384r1', 'secp521r1']);
/** Hashes accepted in certificate and CRL signatures (SHA-1 and MD5 are rejected). */
export const ACCEPTED_SIGNATURE_HASHES: ReadonlySet<string> = new Set(['SHA-256', 'SHA-384', 'SHA-512']);

/** Parses every PEM certificate block found in the given strings (a string may hold a bundle). */
export function parsePemCertificates(pems: readonly string[], what = 'certificate', code: ErrorCode = 'InvalidSecurityToken'): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const pem of pems) {
    for (const block of pem.match(PEM_CERTIFICATE) ?? []) {
      try {
        out.push(new x509.X509Certificate(block));
      } catch (err) {
        throw new EpostError(code, `The ${what} is not a readable X.509 certificate`, err);
      }
    }
  }
  return out;
}

/** The *.pem files of `dir`, in file-name order; a missing directory holds none. */
export function pemFilesIn(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.pem'))
    .sort()
    .map((f) => path.join(dir, f));
}

/** The text of every *.pem file of `dir`, in file-name order. */
export function readPemTexts(dir: string): string[] {
  return pemFilesIn(dir).map((f) => fs.readFileSync(f, 'utf8'));
}

/** Every certificate of every *.pem file in `dir`, in file-name order; a missing directory holds none. */
export function readPemDirectory(dir: string): X509Certificate[] {
  return parsePemCertificates(readPemTexts(dir), `certificate in ${dir}`);
}

/** Certificates are compared by their DER encoding, never by name. */
export function sameCertificate(a: X509Certificate, b: X509Certificate): boolean {
  return Buffer.from(a.rawData).equals(Buffer.from(b.rawData));
}

/** SHA-256 of the DER encoding, lowercase hex. */
export function fingerprintOf(cert: X509Certificate): string {
  return hash('sha256', Buffer.from(cert.rawData), 'hex');
}

/** The hash of a certificate's (or CRL's) signature algorithm, undefined when @peculiar/x509 does not know it. */
export function signatureHashOf(signed: { signatureAlgorithm: unknown }): string | undefined {
  try {
    return (signed.signatureAlgorithm as { hash?: { name?: string } }).hash?.name;
  } catch {
    return undefined; // an algorithm the library does not know is not one we accept either
  }
}

/**
 * The key strength floor of the legal framework: RSA >= 2048 bits, ECDSA on P-256, P-384 or P-521.
 * Returns the public key; throws EpostError(code) naming `what` otherwise.
 */
export function assertStrongKey(certificate: X509Certificate, what: string, code: ErrorCode = 'FailedCheck'): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(certificate.publicKey.rawData), format: 'der', type: 'spki' });
  } catch (err) {
    throw new EpostError(code, `The ${what} certificate carries an unreadable public key`, err);
  }
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'rsa' || type === 'rsa-pss') {
    if ((details.modulusLength ?? 0) < 2048) {
      throw new EpostError(code, `The ${what} certificate's key is too weak: a ${details.modulusLength ?? 0}-bit RSA key, where at least 2048 bits are required`);
    }
  } else if (type === 'ec') {
    if (!ACCEPTED_CURVES.has(details.namedCurve ?? '')) {
      throw new EpostError(code, `The ${what} certificate's key is too weak: the elliptic curve ${details.namedCurve ?? 'unknown'}, where P-256, P-384 or P-521 is required`);
    }
  } else {
    throw new EpostError(code, `The ${what} certificate has a ${type ?? 'unknown'} key, which is not accepted (RSA >= 2048 or ECDSA P-256+ required)`);
  }
  return key;
}
