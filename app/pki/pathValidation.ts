// RFC 5280 certification path validation, the one implementation in ePost: for sender certificates
// (through TrustStore), for the timestamping authority and for the sealing certificate of a proof.
// Reduced to what ePost needs: no policy processing, no name constraints (a certificate marking either
// critical is refused), direct CRLs only. Candidates for each issuer are found by name and confirmed
// by signature, anchors first, so a genuine anchor wins over a look-alike a document carries.
import { EpostError, type ErrorCode } from '../errors/index.js';
import { ACCEPTED_SIGNATURE_HASHES, assertStrongKey, fingerprintOf, sameCertificate, signatureHashOf, type X509Certificate } from './certificates.js';
import { x509 } from './issue.js';
import type { CrlStore, RevocationMode } from './revocation.js';

/** What the end-entity certificate is for; each purpose adds its key-usage rules. */
export type CertificatePurpose = 'sender' | 'timestamping' | 'sealing';

export interface RevocationPolicy {
  mode: RevocationMode;
  crls: CrlStore;
  /** The instant the CRLs must be current at; default the moment of the check. */
  checkedAt?: Date;
}

export interface PathValidationOptions {
  anchors: readonly X509Certificate[];
  /** Untrusted certificates offered to complete the path (configured intermediates, certificates carried in a token or signature). */
  intermediates: readonly X509Certificate[];
  /** The instant(s) at which every certificate on the path must be valid; revocation counts up to the latest. */
  at: Date | readonly Date[];
  /** End-entity rules to apply; none when absent. */
  purpose?: CertificatePurpose;
  /** Revocation checking by CRL; none when absent. */
  revocation?: RevocationPolicy;
  /** Names the certificate in failure reasons ("sender", "sealing", "timestamping authority"). */
  what?: string;
  /** The code of every failure (default FailedCheck; sender certificates use FailedAuthentication). */
  errorCode?: ErrorCode;
}

export interface ValidatedPath {
  /** Leaf first, anchor last. */
  path: X509Certificate[];
  /** Earliest nextUpdate of the CRLs relied upon; undefined when no CRL was. */
  revocationCheckedUntil: Date | undefined;
  /** Certificates whose status could not be established (mode prefer only). */
  revocationUnknown: string[];
}

/** Extensions this validator processes; any other critical extension makes a certificate unusable (RFC 5280 4.2). */
const UNDERSTOOD_EXTENSIONS = new Set([
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.15', // keyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.18', // issuerAltName
  '2.5.29.19', // basicConstraints
  '2.5.29.31', // cRLDistributionPoints
  '2.5.29.32', // certificatePolicies (accepted, not evaluated: ePost requires no particular policy)
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.37', // extKeyUsage
  '1.3.6.1.5.5.7.1.1', // authorityInfoAccess
]);
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
const MAX_PATH_LENGTH = 8;
/** Bounds the work a document full of same-named certificates can cause. */
const MAX_SIGNATURE_CHECKS = 32;

function nameKey(name: { toArrayBuffer(): ArrayBuffer }): string {
  return Buffer.from(name.toArrayBuffer()).toString('hex');
}

/** Ends the search at once rather than letting the next candidate be tried. */
class BudgetExceeded extends EpostError {}

class Validation {
  private signatureChecks = 0;
  readonly instants: readonly Date[];
  readonly what: string;
  readonly code: ErrorCode;

  constructor(readonly options: PathValidationOptions) {
    this.instants = Array.isArray(options.at) ? options.at : [options.at as Date];
    this.what = options.what ?? 'signer';
    this.code = options.errorCode ?? 'FailedCheck';
  }

  fail(reason: string, cause?: unknown): never {
    throw new EpostError(this.code, reason, cause);
  }

  role(cert: X509Certificate, isLeaf: boolean): string {
    return isLeaf ? `${this.what} certificate "${cert.subject}"` : `issuer certificate "${cert.subject}" of the ${this.what} certificate`;
  }

  checkValidity(cert: X509Certificate, isLeaf: boolean): void {
    for (const at of this.instants) {
      if (at.getTime() < cert.notBefore.getTime()) this.fail(`The ${this.role(cert, isLeaf)} is not valid before ${cert.notBefore.toISOString()} (checked at ${at.toISOString()})`);
      if (at.getTime() > cert.notAfter.getTime()) this.fail(`The ${this.role(cert, isLeaf)} expired on ${cert.notAfter.toISOString()} (checked at ${at.toISOString()})`);
    }
  }

  checkExtensionsAndKey(cert: X509Certificate, isLeaf: boolean): void {
    for (const extension of cert.extensions) {
      if (extension.critical && !UNDERSTOOD_EXTENSIONS.has(extension.type)) {
        this.fail(`The ${this.role(cert, isLeaf)} carries a critical extension ${extension.type} that ePost does not process`);
      }
    }
    assertStrongKey(cert, isLeaf ? this.what : `issuer "${cert.subject}"`, this.code);
  }

  checkPurpose(cert: X509Certificate): void {
    const purpose = this.options.purpose;
    if (!purpose) return;
    const role = this.role(cert, true);
    const basic = cert.getExtension(x509.BasicConstraintsExtension);
    if (basic?.ca) this.fail(`The ${role} is a certificate authority and may not be used as a ${this.what} certificate`);
    const keyUsage = cert.getExtension(x509.KeyUsagesExtension);
    const extendedKeyUsage = cert.getExtension(x509.ExtendedKeyUsageExtension);
    const usages = extendedKeyUsage?.usages.map(String) ?? [];
    const KU = x509.KeyUsageFlags;
    if (purpose === 'sender') {
      if (!keyUsage || (keyUsage.usages & KU.digitalSignature) === 0) {
        this.fail(`The ${role} is not allowed to make digital signatures (keyUsage digitalSignature is missing)`);
      }
      // A certificate restricted to other purposes (a TSA's critical timeStamping, say) must not sign requests.
      if (extendedKeyUsage && !usages.includes(x509.ExtendedKeyUsage.clientAuth) && !usages.includes(ANY_EXTENDED_KEY_USAGE)) {
        this.fail(`The ${role} is restricted by extendedKeyUsage to purposes other than client authentication`);
      }
    } else if (purpose === 'timestamping') {
      // RFC 3161 2.3: exactly one EKU, id-kp-timeStamping, marked critical.
      if (!extendedKeyUsage || !extendedKeyUsage.critical || usages.length !== 1 || usages[0] !== x509.ExtendedKeyUsage.timeStamping) {
        this.fail(`The ${role} does not carry the single critical extended key usage id-kp-timeStamping`);
      }
      if (keyUsage && (keyUsage.usages & (KU.digitalSignature | KU.nonRepudiation)) === 0) this.fail(`The ${role} key usage does not allow signatures`);
    } else if (purpose === 'sealing') {
      if (!keyUsage || (keyUsage.usages & (KU.digitalSignature | KU.nonRepudiation)) === 0) {
        this.fail(`The ${role} key usage does not allow signatures (digitalSignature or nonRepudiation)`);
      }
    }
  }

  async checkIssuedBy(cert: X509Certificate, issuer: X509Certificate, isLeaf: boolean): Promise<void> {
    const hash = signatureHashOf(cert);
    if (!hash || !ACCEPTED_SIGNATURE_HASHES.has(hash)) {
      this.fail(`The ${this.role(cert, isLeaf)} is signed with ${hash ?? 'an unknown algorithm'}; SHA-256 or stronger is required`);
    }
    if (++this.signatureChecks > MAX_SIGNATURE_CHECKS) {
      throw new BudgetExceeded(this.code, `The ${this.what} certificate path could not be built within ${MAX_SIGNATURE_CHECKS} signature checks`);
    }
    let valid = false;
    try {
      valid = await cert.verify({ publicKey: issuer, signatureOnly: true });
    } catch (err) {
      this.fail(`The signature on the ${this.role(cert, isLeaf)} cannot be checked`, err);
    }
    if (!valid) this.fail(`The signature on the ${this.role(cert, isLeaf)} was not made by "${issuer.subject}"`);
  }

  /** CA rules for an issuer with `caCertsBelow` non-self-issued intermediates between it and the leaf. */
  checkCa(ca: X509Certificate, caCertsBelow: number): void {
    const role = this.role(ca, false);
    this.checkValidity(ca, false);
    const basic = ca.getExtension(x509.BasicConstraintsExtension);
    if (!basic?.ca) this.fail(`The ${role} issued a certificate but is not a certificate authority (basicConstraints cA)`);
    if (basic.pathLength !== undefined && caCertsBelow > basic.pathLength) {
      this.fail(`The ${role} allows ${basic.pathLength} intermediate(s) below it, the path has ${caCertsBelow}`);
    }
    const keyUsage = ca.getExtension(x509.KeyUsagesExtension);
    if (keyUsage && (keyUsage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
      this.fail(`The ${role} is not allowed to sign certificates (keyUsage keyCertSign is missing)`);
    }
    this.checkExtensionsAndKey(ca, false);
  }

  /** Depth-first search from the last certificate of `path` to an anchor; every candidate is tried. */
  async extend(path: X509Certificate[], anchorsByName: Map<string, X509Certificate[]>, intermediatesByName: Map<string, X509Certificate[]>): Promise<X509Certificate[] | null> {
    if (path.length > MAX_PATH_LENGTH) return null;
    const cert = path[path.length - 1]!;
    const issuerKey = nameKey(cert.issuerName);
    const onPath = new Set(path.map(fingerprintOf));
    const candidates = [
      ...(anchorsByName.get(issuerKey) ?? []).map((c) => ({ cert: c, anchor: true })),
      ...(intermediatesByName.get(issuerKey) ?? []).map((c) => ({ cert: c, anchor: false })),
    ].filter((c) => !onPath.has(fingerprintOf(c.cert)));
    let lastFailure: EpostError | undefined;
    for (const candidate of candidates) {
      try {
        await this.checkIssuedBy(cert, candidate.cert, path.length === 1);
        // Intermediate CAs below this issuer (self-issued ones do not count, RFC 5280 6.1.4 (l)).
        const below = path.slice(1).filter((c) => nameKey(c.subjectName) !== nameKey(c.issuerName)).length;
        this.checkCa(candidate.cert, below);
      } catch (err) {
        if (!(err instanceof EpostError)) throw err;
        if (err instanceof BudgetExceeded) throw err;
        lastFailure = err;
        continue;
      }
      const extended = [...path, candidate.cert];
      if (candidate.anchor) return extended;
      const rest = await this.extend(extended, anchorsByName, intermediatesByName);
      if (rest) return rest;
    }
    // The specific reason is more useful than "does not chain" when exactly one candidate existed.
    if (lastFailure && candidates.length === 1) throw lastFailure;
    return null;
  }

  async checkRevocation(path: X509Certificate[]): Promise<Pick<ValidatedPath, 'revocationCheckedUntil' | 'revocationUnknown'>> {
    const policy = this.options.revocation;
    const result: Pick<ValidatedPath, 'revocationCheckedUntil' | 'revocationUnknown'> = { revocationCheckedUntil: undefined, revocationUnknown: [] };
    if (!policy || policy.mode === 'off') return result;
    const latest = new Date(Math.max(...this.instants.map((d) => d.getTime())));
    const checkedAt = policy.checkedAt ?? new Date();
    // The anchor is trusted by configuration; every certificate below it needs a status.
    for (let i = 0; i < path.length - 1; i++) {
      const cert = path[i]!;
      const role = this.role(cert, i === 0);
      const status = await policy.crls.statusOf(cert, path[i + 1]!, latest, checkedAt);
      if (status.status === 'revoked') {
        this.fail(`The ${role} was revoked on ${status.revocationDate.toISOString()}${status.reason ? ` (${status.reason})` : ''} according to the CRL of its issuer`);
      }
      if (status.status === 'unknown') {
        if (policy.mode === 'require') this.fail(`The revocation status of the ${role} cannot be established: ${status.why}`);
        result.revocationUnknown.push(cert.subject);
        continue;
      }
      if (!result.revocationCheckedUntil || status.nextUpdate < result.revocationCheckedUntil) result.revocationCheckedUntil = status.nextUpdate;
    }
    return result;
  }
}

function byName(certs: readonly X509Certificate[]): Map<string, X509Certificate[]> {
  const map = new Map<string, X509Certificate[]>();
  for (const cert of certs) {
    const key = nameKey(cert.subjectName);
    const list = map.get(key) ?? [];
    if (!list.some((c) => sameCertificate(c, cert))) list.push(cert);
    map.set(key, list);
  }
  return map;
}

/**
 * Validates `leaf` against the anchors: a path built by signature, every certificate valid at every
 * instant of `at`, CA certificates with basicConstraints cA, path length and keyCertSign, SHA-2
 * certificate signatures, the key-size floor, no unknown critical extension, the purpose's rules on the
 * leaf and, with a revocation policy, the CRL status of every certificate below the anchor.
 * Throws EpostError(errorCode) naming what failed.
 */
export async function validatePath(leaf: X509Certificate, options: PathValidationOptions): Promise<ValidatedPath> {
  const validation = new Validation(options);
  if (options.anchors.length === 0) validation.fail('No trust anchors are configured');
  if (validation.instants.length === 0) validation.fail('No instant to validate the certificate at was given');

  validation.checkPurpose(leaf);
  validation.checkExtensionsAndKey(leaf, true);
  validation.checkValidity(leaf, true);

  let path: X509Certificate[] | null;
  if (options.anchors.some((anchor) => sameCertificate(anchor, leaf))) {
    path = [leaf]; // a certificate configured as an anchor is trusted as it is
  } else {
    path = await validation.extend([leaf], byName(options.anchors), byName(options.intermediates));
  }
  if (!path) {
    return validation.fail(`The ${validation.what} certificate does not chain to a trusted anchor ("${leaf.subject}", issued by "${leaf.issuer}")`);
  }
  return { path, ...(await validation.checkRevocation(path)) };
}

/** validatePath, returning the path only (leaf first, anchor last). */
export async function validateCertificatePath(leaf: X509Certificate, options: PathValidationOptions): Promise<X509Certificate[]> {
  return (await validatePath(leaf, options)).path;
}
