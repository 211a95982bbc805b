// Certificate path validation shared by the timestamp and proof verifiers: build the path with
// @peculiar/x509's X509ChainBuilder (which checks each issuer's signature), then apply what the
// builder does not: the path must end at one of the configured anchors (compared by DER, never by
// name), every certificate must be valid at the given instant, CA certificates must be CAs, and no
// SHA-1 or weak key may appear anywhere along the path.
import { createPublicKey } from 'node:crypto';
import { EpostError } from '../errors/index.js';
import { x509 } from '../pki/issue.js';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Parses every PEM certificate block found in the given strings (a string may hold a bundle). */
export function parsePemCertificates(pems: readonly string[], what = 'certificate'): x509.X509Certificate[] {
  const out: x509.X509Certificate[] = [];
  for (const pem of pems) {
    for (const block of pem.match(PEM_CERTIFICATE) ?? []) {
      try {
        out.push(new x509.X509Certificate(block));
      } catch (err) {
        throw new EpostError('InvalidSecurityToken', `The ${what} is not a readable X.509 certificate`, err);
      }
    }
  }
  return out;
}

export function sameCertificate(a: x509.X509Certificate, b: x509.X509Certificate): boolean {
  return Buffer.from(a.rawData).equals(Buffer.from(b.rawData));
}

const STRONG_HASHES = new Set(['SHA-256', 'SHA-384', 'SHA-512']);
const STRONG_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

/** RSA of at least 2048 bits or ECDSA on P-256, P-384 or P-521: the legal floor for ePost. */
export function assertStrongKey(certificate: x509.X509Certificate, what: string): void {
  let details: { type?: string; modulusLength?: number; namedCurve?: string };
  try {
    const key = createPublicKey({ key: Buffer.from(certificate.publicKey.rawData), format: 'der', type: 'spki' });
    details = { type: key.asymmetricKeyType, ...key.asymmetricKeyDetails };
  } catch (err) {
    throw new EpostError('FailedCheck', `The ${what} certificate carries an unreadable public key`, err);
  }
  const strong =
    ((details.type === 'rsa' || details.type === 'rsa-pss') && (details.modulusLength ?? 0) >= 2048) ||
    (details.type === 'ec' && STRONG_CURVES.has(details.namedCurve ?? ''));
  if (!strong) throw new EpostError('FailedCheck', `The ${what} certificate's key is too weak (RSA >= 2048 or ECDSA P-256+ required)`);
}

function signatureHashOf(certificate: x509.X509Certificate): string | undefined {
  try {
    const alg = certificate.signatureAlgorithm as { hash?: { name?: string } };
    return alg.hash?.name;
  } catch {
    return undefined; // an algorithm @peculiar/x509 does not know is not one we accept either
  }
}

export interface PathValidationOptions {
  anchors: readonly x509.X509Certificate[];
  /** Untrusted certificates offered to complete the path (configured intermediates, certificates carried in the token/signature). */
  intermediates: readonly x509.X509Certificate[];
  /** The instant(s) at which every certificate on the path must be valid. */
  at: Date | readonly Date[];
  /** Names the certificate in failure reasons ("sealing", "timestamping authority"). */
  what: string;
}

/**
 * Validates that `leaf` chains to one of the anchors and returns the path, leaf first and anchor
 * last. Throws EpostError('FailedCheck') naming what failed.
 */
export async function validateCertificatePath(leaf: x509.X509Certificate, options: PathValidationOptions): Promise<x509.X509Certificate[]> {
  const { anchors, intermediates, what } = options;
  const instants = Array.isArray(options.at) ? options.at : [options.at as Date];
  if (anchors.length === 0) throw new EpostError('FailedCheck', 'No trust anchors are configured');
  // Anchors first, so that a genuine anchor wins over a look-alike carried by the document.
  const builder = new x509.X509ChainBuilder({ certificates: [...anchors, ...intermediates] });
  let built: x509.X509Certificate[];
  try {
    built = [...(await builder.build(leaf))];
  } catch (err) {
    throw new EpostError('FailedCheck', `The ${what} certificate path could not be built`, err);
  }
  const anchorIndex = built.findIndex((cert) => anchors.some((anchor) => sameCertificate(anchor, cert)));
  if (anchorIndex < 0) throw new EpostError('FailedCheck', `The ${what} certificate does not chain to a trusted anchor`);
  const path = built.slice(0, anchorIndex + 1);

  path.forEach((cert, index) => {
    const role = index === 0 ? `${what} certificate` : `issuer certificate "${cert.subject}" of the ${what} certificate`;
    for (const at of instants) {
      if (at < cert.notBefore || at > cert.notAfter) {
        throw new EpostError('FailedCheck', `The ${role} is not valid at ${at.toISOString()}`);
      }
    }
    assertStrongKey(cert, role);
    const isAnchor = index === path.length - 1;
    // The anchor's own signature is not relied upon (it is trusted by configuration); every other one is.
    if (!isAnchor) {
      const hash = signatureHashOf(cert);
      if (!hash || !STRONG_HASHES.has(hash)) {
        throw new EpostError('UnsupportedAlgorithm', `The ${role} is signed with a refused algorithm (${hash ?? 'unknown'})`);
      }
    }
    if (index > 0) {
      const bc = cert.getExtension(x509.BasicConstraintsExtension);
      if (!bc || !bc.ca) throw new EpostError('FailedCheck', `The ${role} is not a CA certificate`);
      const ku = cert.getExtension(x509.KeyUsagesExtension);
      if (ku && !(ku.usages & x509.KeyUsageFlags.keyCertSign)) {
        throw new EpostError('FailedCheck', `The ${role} may not sign certificates`);
      }
      // pathLenConstraint counts the non-self-issued intermediates below this CA (RFC 5280, 4.2.1.9).
      if (!isAnchor && bc.pathLength !== undefined && index - 1 > bc.pathLength) {
        throw new EpostError('FailedCheck', `The ${role} path length constraint is exceeded`);
      }
    }
  });
  return path;
}
