// Trust decisions about sender certificates: RFC 5280 path validation (pathValidation.ts) with the
// end-entity rules of a request signer and CRL revocation, cached per certificate. The WS-Security
// gate asks this before it lets a BinarySecurityToken's key verify anything, because xml-crypto
// trusts no KeyInfo by itself.
import path from 'node:path';
import type { EpostConfig } from '../config/index.js';
import { fingerprintOf, readPemDirectory, type X509Certificate } from './certificates.js';
import { pkiLayout } from './layout.js';
import { validatePath } from './pathValidation.js';
import { CrlStore, type CrlStoreOptions, type RevocationMode } from './revocation.js';

export interface TrustStoreOptions {
  /** Default 'require': a certificate whose revocation status cannot be established is refused. */
  revocation?: RevocationMode;
  /** Where CRLs come from; default none (so mode 'require' refuses everything until CRLs are given). */
  crls?: CrlStore;
}

export interface DirectoryTrustOptions extends Omit<CrlStoreOptions, 'directory'> {
  /** Default: `crls/` beside the anchors directory. */
  crlsDir?: string;
  revocation?: RevocationMode;
}

interface ValidatedChain {
  /** The window in which every certificate of the chain is valid; only this is re-checked on a cache hit. */
  notBefore: number;
  notAfter: number;
  /** The CRLs relied upon are current until then. */
  revocationCheckedUntil: number;
  crlGeneration: number;
}

const MAX_CACHED_CHAINS = 1024;

/**
 * Sender trust: anchors (trusted by configuration), intermediates (offered for chain building,
 * trusted only through an anchor) and the CRLs of their issuers.
 */
export class TrustStore {
  private readonly anchors: X509Certificate[];
  private readonly intermediates: X509Certificate[];
  readonly revocation: RevocationMode;
  readonly crls: CrlStore;
  /** Successful validations by signer fingerprint: the chain and CRL work is done once per certificate. */
  private readonly validated = new Map<string, ValidatedChain>();

  constructor(anchors: X509Certificate[], intermediates: X509Certificate[] = [], options: TrustStoreOptions = {}) {
    this.anchors = [...anchors];
    this.intermediates = [...intermediates];
    this.revocation = options.revocation ?? 'require';
    this.crls = options.crls ?? new CrlStore();
  }

  /**
   * Reads every *.pem file of both directories (several certificates per file allowed; a missing
   * directory holds none) and the CRLs under `crlsDir`.
   */
  static fromDirectories(anchorsDir: string, intermediatesDir: string, options: DirectoryTrustOptions = {}): TrustStore {
    const { crlsDir, revocation, ...crlOptions } = options;
    const crls = new CrlStore({ ...crlOptions, directory: crlsDir ?? path.join(path.dirname(anchorsDir), 'crls') });
    return new TrustStore(readPemDirectory(anchorsDir), readPemDirectory(intermediatesDir), { crls, ...(revocation ? { revocation } : {}) });
  }

  /** The sender trust store as configured: certs/anchors, certs/intermediates, certs/crls, EPOST_REVOCATION, EPOST_CRL_FETCH. */
  static fromConfig(config: Pick<EpostConfig, 'certsDir' | 'revocation' | 'crlFetch' | 'crlFetchTimeoutMs'>): TrustStore {
    const layout = pkiLayout(config.certsDir);
    return TrustStore.fromDirectories(layout.anchorsDir, layout.intermediatesDir, {
      crlsDir: layout.crlsDir,
      revocation: config.revocation,
      fetch: config.crlFetch,
      fetchTimeoutMs: config.crlFetchTimeoutMs,
    });
  }

  get anchorCount(): number {
    return this.anchors.length;
  }

  /**
   * RFC 5280 path validation of a request signer at `at`: chain to an anchor, every certificate valid,
   * CA certificates with basicConstraints cA (and path length), end entity with keyUsage
   * digitalSignature and not a CA, SHA-2 certificate signatures, key size floor, and the CRL status
   * per the revocation mode. Throws EpostError('FailedAuthentication', reason).
   */
  async validateSigner(cert: X509Certificate, at: Date): Promise<void> {
    const fingerprint = fingerprintOf(cert);
    const generation = this.crls.generation;
    const cached = this.validated.get(fingerprint);
    const t = at.getTime();
    if (cached && cached.crlGeneration === generation && t >= cached.notBefore && t <= cached.notAfter && t < cached.revocationCheckedUntil) return;
    if (cached) this.validated.delete(fingerprint);

    const result = await validatePath(cert, {
      anchors: this.anchors,
      intermediates: this.intermediates,
      at,
      purpose: 'sender',
      revocation: { mode: this.revocation, crls: this.crls, checkedAt: at },
      what: 'sender',
      errorCode: 'FailedAuthentication',
    });
    // An unknown status (mode prefer) is looked at again on the next request rather than cached.
    if (result.revocationUnknown.length > 0) return;
    const window: ValidatedChain = {
      notBefore: Math.max(...result.path.map((c) => c.notBefore.getTime())),
      notAfter: Math.min(...result.path.map((c) => c.notAfter.getTime())),
      revocationCheckedUntil: result.revocationCheckedUntil?.getTime() ?? Number.POSITIVE_INFINITY,
      crlGeneration: this.crls.generation,
    };
    if (this.validated.size >= MAX_CACHED_CHAINS) {
      const oldest = this.validated.keys().next().value;
      if (oldest !== undefined) this.validated.delete(oldest);
    }
    this.validated.set(fingerprint, window);
  }
}
