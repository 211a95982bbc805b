// Trust decisions about sender certificates: RFC 5280 path validation reduced to what ePost needs
// (no policies, no name constraints, no revocation here). The WS-Security gate asks this before it
// lets a BinarySecurityToken's key verify anything, because xml-crypto trusts no KeyInfo by itself.
import fs from 'node:fs';
import path from 'node:path';
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { EpostError } from '../errors/index.js';
import { x509 } from './issue.js';

type X509Certificate = x509.X509Certificate;

/** Extensions this validator understands; any other critical extension makes a certificate unusable (RFC 5280 4.2). */
const UNDERSTOOD_EXTENSIONS = new Set([
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.15', // keyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.19', // basicConstraints
  '2.5.29.32', // certificatePolicies (accepted, not evaluated: ePost requires no particular policy)
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.37', // extKeyUsage
]);

const ACCEPTED_SIGNATURE_HASHES = new Set(['SHA-256', 'SHA-384', 'SHA-512']);
const ACCEPTED_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
const MAX_CHAIN_LENGTH = 8;
const MAX_CACHED_CHAINS = 1024;

interface ValidatedChain {
  /** The window in which every certificate of the chain is valid; only this is re-checked on a cache hit. */
  notBefore: number;
  notAfter: number;
}

function fingerprintOf(cert: X509Certificate): string {
  return createHash('sha256').update(Buffer.from(cert.rawData)).digest('hex');
}

function nameKey(name: ArrayBuffer): string {
  return Buffer.from(name).toString('hex');
}

function describe(cert: X509Certificate): string {
  return `"${cert.subject}"`;
}

function fail(reason: string, cause?: unknown): never {
  throw new EpostError('FailedAuthentication', reason, cause);
}

/** The key strength floor of the legal framework: RSA >= 2048 bits, ECDSA on P-256 or larger. */
export function checkKeyStrength(cert: X509Certificate): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(cert.publicKey.rawData), format: 'der', type: 'spki' });
  } catch (err) {
    fail(`The public key of certificate ${describe(cert)} cannot be read.`, err);
  }
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    if ((details.modulusLength ?? 0) < 2048) {
      fail(`Certificate ${describe(cert)} has a ${details.modulusLength ?? 0}-bit RSA key; at least 2048 bits are required.`);
    }
  } else if (key.asymmetricKeyType === 'ec') {
    if (!details.namedCurve || !ACCEPTED_CURVES.has(details.namedCurve)) {
      fail(`Certificate ${describe(cert)} uses the elliptic curve ${details.namedCurve ?? 'unknown'}; P-256, P-384 or P-521 is required.`);
    }
  } else {
    fail(`Certificate ${describe(cert)} has a ${key.asymmetricKeyType ?? 'unknown'} key, which is not accepted.`);
  }
  return key;
}

function checkValidAt(cert: X509Certificate, at: Date): void {
  if (at.getTime() < cert.notBefore.getTime()) {
    fail(`Certificate ${describe(cert)} is not valid before ${cert.notBefore.toISOString()}.`);
  }
  if (at.getTime() > cert.notAfter.getTime()) {
    fail(`Certificate ${describe(cert)} expired on ${cert.notAfter.toISOString()}.`);
  }
}

function checkCriticalExtensions(cert: X509Certificate): void {
  for (const extension of cert.extensions) {
    if (extension.critical && !UNDERSTOOD_EXTENSIONS.has(extension.type)) {
      fail(`Certificate ${describe(cert)} carries a critical extension ${extension.type} that ePost does not process.`);
    }
  }
}

/**
 * Sender trust: anchors (trusted by configuration) and intermediates (offered for chain building,
 * trusted only through an anchor).
 */
export class TrustStore {
  private readonly anchorsBySubject = new Map<string, X509Certificate[]>();
  private readonly intermediatesBySubject = new Map<string, X509Certificate[]>();
  private readonly anchorFingerprints = new Set<string>();
  /** Successful validations by signer fingerprint: the chain work is done once per certificate. */
  private readonly validated = new Map<string, ValidatedChain>();

  constructor(anchors: X509Certificate[], intermediates: X509Certificate[] = []) {
    for (const anchor of anchors) {
      this.index(this.anchorsBySubject, anchor);
      this.anchorFingerprints.add(fingerprintOf(anchor));
    }
    for (const intermediate of intermediates) this.index(this.intermediatesBySubject, intermediate);
  }

  /** Reads every *.pem file of both directories (several certificates per file allowed); a missing directory holds none. */
  static fromDirectories(anchorsDir: string, intermediatesDir: string): TrustStore {
    return new TrustStore(readPemDirectory(anchorsDir), readPemDirectory(intermediatesDir));
  }

  get anchorCount(): number {
    return this.anchorFingerprints.size;
  }

  /**
   * RFC 5280 basics: chain to an anchor, every certificate valid at `at`, CA certificates with
   * basicConstraints cA (and path length), end entity with keyUsage digitalSignature and not a CA,
   * SHA-2 certificate signatures, key size floor. Throws EpostError('FailedAuthentication', reason).
   */
  async validateSigner(cert: X509Certificate, at: Date): Promise<void> {
    const fingerprint = fingerprintOf(cert);
    const cached = this.validated.get(fingerprint);
    if (cached && at.getTime() >= cached.notBefore && at.getTime() <= cached.notAfter) return;

    this.checkEndEntity(cert);
    checkValidAt(cert, at);
    const chain = await this.buildChain(cert, at, [cert]);
    if (!chain) {
      fail(`Certificate ${describe(cert)} (issuer "${cert.issuer}") does not chain to a trusted certificate authority valid at ${at.toISOString()}.`);
    }
    const window: ValidatedChain = {
      notBefore: Math.max(...chain.map((c) => c.notBefore.getTime())),
      notAfter: Math.min(...chain.map((c) => c.notAfter.getTime())),
    };
    if (this.validated.size >= MAX_CACHED_CHAINS) {
      const oldest = this.validated.keys().next().value;
      if (oldest !== undefined) this.validated.delete(oldest);
    }
    this.validated.set(fingerprint, window);
  }

  private index(map: Map<string, X509Certificate[]>, cert: X509Certificate): void {
    const key = nameKey(cert.subjectName.toArrayBuffer());
    const list = map.get(key) ?? [];
    if (!list.some((c) => fingerprintOf(c) === fingerprintOf(cert))) list.push(cert);
    map.set(key, list);
  }

  private checkEndEntity(cert: X509Certificate): void {
    const basic = cert.getExtension(x509.BasicConstraintsExtension);
    if (basic?.ca) fail(`Certificate ${describe(cert)} is a certificate authority and may not sign requests.`);
    const keyUsage = cert.getExtension(x509.KeyUsagesExtension);
    if (!keyUsage || (keyUsage.usages & x509.KeyUsageFlags.digitalSignature) === 0) {
      fail(`Certificate ${describe(cert)} is not allowed to make digital signatures (keyUsage digitalSignature is missing).`);
    }
    // A certificate restricted to other purposes (a TSA's critical timeStamping, say) must not sign requests.
    const extendedKeyUsage = cert.getExtension(x509.ExtendedKeyUsageExtension);
    if (extendedKeyUsage) {
      const usages = extendedKeyUsage.usages.map(String);
      if (!usages.includes(x509.ExtendedKeyUsage.clientAuth) && !usages.includes(ANY_EXTENDED_KEY_USAGE)) {
        fail(`Certificate ${describe(cert)} is restricted by extendedKeyUsage to purposes other than client authentication.`);
      }
    }
    checkCriticalExtensions(cert);
    checkKeyStrength(cert);
  }

  /**
   * Depth-first search for a path from `chain`'s last certificate to an anchor. Candidates are found
   * by issuer name and confirmed by their signature; several candidates (a re-keyed CA) are all tried.
   */
  private async buildChain(cert: X509Certificate, at: Date, chain: X509Certificate[]): Promise<X509Certificate[] | null> {
    if (chain.length > MAX_CHAIN_LENGTH) return null;
    const issuerKey = nameKey(cert.issuerName.toArrayBuffer());
    const seen = new Set(chain.map(fingerprintOf));
    const candidates = [
      ...(this.anchorsBySubject.get(issuerKey) ?? []).map((c) => ({ cert: c, anchor: true })),
      ...(this.intermediatesBySubject.get(issuerKey) ?? []).map((c) => ({ cert: c, anchor: false })),
    ];
    let lastFailure: EpostError | undefined;
    for (const candidate of candidates) {
      if (seen.has(fingerprintOf(candidate.cert))) continue;
      try {
        await this.checkIssuedBy(cert, candidate.cert);
        // Intermediate CAs below this issuer (self-issued ones do not count, RFC 5280 6.1.4 (l)).
        this.checkCa(candidate.cert, at, chain.length - 1);
      } catch (err) {
        if (err instanceof EpostError) lastFailure = err;
        continue;
      }
      const extended = [...chain, candidate.cert];
      if (candidate.anchor) return extended;
      const rest = await this.buildChain(candidate.cert, at, extended);
      if (rest) return rest;
    }
    // The most specific reason is more useful than "does not chain" when exactly one path existed.
    if (lastFailure && candidates.length === 1) throw lastFailure;
    return null;
  }

  private async checkIssuedBy(cert: X509Certificate, issuer: X509Certificate): Promise<void> {
    const hash = (cert.signatureAlgorithm as { hash?: { name?: string } }).hash?.name;
    if (!hash || !ACCEPTED_SIGNATURE_HASHES.has(hash)) {
      fail(`Certificate ${describe(cert)} is signed with ${hash ?? 'an unknown hash'}; SHA-256 or stronger is required.`);
    }
    let valid = false;
    try {
      valid = await cert.verify({ publicKey: issuer, signatureOnly: true });
    } catch (err) {
      fail(`The signature on certificate ${describe(cert)} cannot be checked.`, err);
    }
    if (!valid) fail(`The signature on certificate ${describe(cert)} was not made by ${describe(issuer)}.`);
  }

  private checkCa(ca: X509Certificate, at: Date, caCertsBelow: number): void {
    checkValidAt(ca, at);
    const basic = ca.getExtension(x509.BasicConstraintsExtension);
    if (!basic?.ca) fail(`Certificate ${describe(ca)} issued a certificate but is not a certificate authority (basicConstraints cA).`);
    if (basic.pathLength !== undefined && caCertsBelow > basic.pathLength) {
      fail(`Certificate authority ${describe(ca)} allows ${basic.pathLength} intermediate(s) below it, the chain has ${caCertsBelow}.`);
    }
    const keyUsage = ca.getExtension(x509.KeyUsagesExtension);
    if (keyUsage && (keyUsage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
      fail(`Certificate authority ${describe(ca)} is not allowed to sign certificates (keyUsage keyCertSign is missing).`);
    }
    checkCriticalExtensions(ca);
    checkKeyStrength(ca);
  }
}

/** Every certificate of every *.pem file in `dir`, in file-name order. */
export function readPemDirectory(dir: string): X509Certificate[] {
  if (!fs.existsSync(dir)) return [];
  const certificates: X509Certificate[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.pem')).sort()) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    for (const block of blocks) certificates.push(new x509.X509Certificate(block));
  }
  return certificates;
}
