// Certificate revocation by CRL (RFC 5280 section 5 and 6.3, reduced to complete, direct CRLs).
// CRLs come from files under certs/crls/ (PEM or DER, *.pem / *.crl / *.der) and, when enabled,
// from the http(s) distribution points of a certificate whose chain has already been verified (so a
// hostile certificate can never make ePost fetch a URL of its choosing). A CRL counts only when its
// issuer name is the certificate's issuer, it is signed (SHA-2) by that issuer's key, the issuer may
// sign CRLs, it carries no critical extension ePost does not process (delta or indirect CRLs), and
// it is current: nextUpdate after the instant checked.
import fs from 'node:fs';
import path from 'node:path';
import { ACCEPTED_SIGNATURE_HASHES, fingerprintOf, signatureHashOf, type X509Certificate } from './certificates.js';
import { x509 } from './issue.js';

type X509Crl = x509.X509Crl;

/**
 * What ePost does when it cannot establish a certificate's revocation status:
 * - require: refuse (fail closed; the default);
 * - prefer: check when a current CRL is at hand, refuse a revoked certificate, accept an unknown status;
 * - off: do not check revocation at all (sender registrations can still be revoked in the database).
 */
export type RevocationMode = 'require' | 'prefer' | 'off';
export const REVOCATION_MODES: readonly RevocationMode[] = ['require', 'prefer', 'off'];

export interface CrlStoreOptions {
  /** Directory of CRL files; a missing directory holds none. */
  directory?: string;
  /** Fetch CRLs from http(s) distribution points when no current CRL is at hand (default true). */
  fetch?: boolean;
  /** Time limit of one distribution-point download (default 5 s). */
  fetchTimeoutMs?: number;
  /** Largest CRL accepted from a distribution point (default 10 MiB). */
  maxCrlBytes?: number;
  /** The directory is re-read when its modification time changes, and at least this often (default 60 s). */
  rescanIntervalMs?: number;
  /** Shortest wait before a failed distribution point is tried again (default 60 s). */
  fetchRetryMs?: number;
}

export type RevocationStatus =
  | { status: 'good'; nextUpdate: Date; crlSource: string }
  | { status: 'revoked'; revocationDate: Date; reason: string | undefined; crlSource: string }
  | { status: 'unknown'; why: string };

/** CRL extensions understood here; a CRL with another critical one is unusable (RFC 5280 5.2). */
const UNDERSTOOD_CRL_EXTENSIONS = new Set([
  '2.5.29.20', // cRLNumber
  '2.5.29.35', // authorityKeyIdentifier
]);
/** CRL entry extensions understood here; certificateIssuer (2.5.29.29) would make it indirect. */
const UNDERSTOOD_ENTRY_EXTENSIONS = new Set([
  '2.5.29.21', // reasonCode
  '2.5.29.24', // invalidityDate
]);
/** A CRL issued a little in the future is a clock difference, not an attack. */
const THIS_UPDATE_SKEW_MS = 5 * 60_000;

const PEM_CRL = /-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g;

interface LoadedCrl {
  crl: X509Crl;
  /** Where it came from, for reasons and logs: a file path or a URL. */
  source: string;
  issuerKey: string;
}

function nameKey(name: { toArrayBuffer(): ArrayBuffer }): string {
  return Buffer.from(name.toArrayBuffer()).toString('hex');
}

/** Parses a CRL file or download: one or more PEM blocks, or DER. */
export function parseCrls(bytes: Buffer, source: string): X509Crl[] {
  const text = bytes.toString('latin1');
  const blocks = text.match(PEM_CRL);
  try {
    if (blocks) return blocks.map((block) => new x509.X509Crl(block));
    return [new x509.X509Crl(new Uint8Array(bytes))];
  } catch (err) {
    throw new Error(`${source} is not a readable CRL (PEM or DER)`, { cause: err });
  }
}

function reasonName(reason: number | undefined): string | undefined {
  return reason === undefined ? undefined : (x509.X509CrlReason[reason] ?? String(reason));
}

function distributionPointUrls(cert: X509Certificate): string[] {
  const extension = cert.getExtension(x509.CRLDistributionPointsExtension);
  const urls: string[] = [];
  for (const point of extension?.distributionPoints ?? []) {
    // Points restricted to some reasons or with another CRL issuer would not give a complete, direct CRL.
    if (point.reasons || point.cRLIssuer) continue;
    for (const name of point.distributionPoint?.fullName ?? []) {
      const uri = name.uniformResourceIdentifier;
      if (uri && /^https?:\/\//i.test(uri)) urls.push(uri);
    }
  }
  return urls;
}

/** The CRLs ePost knows, by issuer name: from the CRL directory and from distribution points. */
export class CrlStore {
  private readonly options: Required<Omit<CrlStoreOptions, 'directory'>> & { directory: string | undefined };
  private fileCrls: LoadedCrl[] = [];
  private readonly fetchedCrls = new Map<string, LoadedCrl[]>();
  private byIssuer = new Map<string, LoadedCrl[]>();
  private directoryStamp = '';
  private lastScan = 0;
  private readonly filesSeen = new Map<string, { stamp: string; crls: LoadedCrl[] }>();
  /** Signature checks already made, per CRL and issuer certificate fingerprint. */
  private readonly verifiedSignatures = new WeakMap<X509Crl, Map<string, boolean>>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly failedAt = new Map<string, number>();
  private generationCounter = 0;

  constructor(options: CrlStoreOptions = {}) {
    this.options = {
      directory: options.directory,
      fetch: options.fetch ?? true,
      fetchTimeoutMs: options.fetchTimeoutMs ?? 5_000,
      maxCrlBytes: options.maxCrlBytes ?? 10 * 1024 * 1024,
      rescanIntervalMs: options.rescanIntervalMs ?? 60_000,
      fetchRetryMs: options.fetchRetryMs ?? 60_000,
    };
    this.refresh();
  }

  /** Changes whenever the set of known CRLs changes: cached validations made before are stale. */
  get generation(): number {
    this.refresh();
    return this.generationCounter;
  }

  /** How many CRLs are known (files and downloads). */
  get size(): number {
    this.refresh();
    let n = 0;
    for (const list of this.byIssuer.values()) n += list.length;
    return n;
  }

  /** Adds CRLs from elsewhere (an operator tool, a test); they count like downloaded ones. */
  add(crls: X509Crl[], source: string): void {
    const loaded = crls.map((crl) => ({ crl, source, issuerKey: nameKey(crl.issuerName) }));
    this.fetchedCrls.set(source, loaded);
    this.reindex();
  }

  /**
   * Re-reads the directory when it changed (one stat per call) or the rescan interval elapsed. A
   * new or renamed file is seen at once; a file rewritten in place within the interval.
   */
  refresh(): void {
    const dir = this.options.directory;
    if (!dir) return;
    let stamp: string;
    try {
      const stat = fs.statSync(dir);
      stamp = `${stat.mtimeMs}:${stat.ctimeMs}`;
    } catch {
      stamp = 'missing';
    }
    const now = Date.now();
    if (stamp === this.directoryStamp && now - this.lastScan < this.options.rescanIntervalMs) return;
    this.directoryStamp = stamp;
    this.lastScan = now;
    this.scanDirectory(dir, stamp === 'missing');
  }

  private scanDirectory(dir: string, missing: boolean): void {
    const files = missing ? [] : fs.readdirSync(dir).filter((f) => /\.(pem|crl|der)$/i.test(f)).sort();
    const next: LoadedCrl[] = [];
    let changed = files.length !== this.filesSeen.size;
    const present = new Set<string>();
    for (const file of files) {
      const full = path.join(dir, file);
      present.add(full);
      let stamp: string;
      try {
        const stat = fs.statSync(full);
        stamp = `${stat.mtimeMs}:${stat.size}`;
      } catch {
        continue; // removed between listing and stat
      }
      const seen = this.filesSeen.get(full);
      if (seen && seen.stamp === stamp) {
        next.push(...seen.crls);
        continue;
      }
      changed = true;
      let crls: LoadedCrl[] = [];
      try {
        crls = parseCrls(fs.readFileSync(full), full).map((crl) => ({ crl, source: full, issuerKey: nameKey(crl.issuerName) }));
      } catch (err) {
        // Not fatal: without a usable CRL the certificates of that issuer fail closed (mode require).
        console.warn(`ignoring unreadable CRL file ${full}: ${(err as Error).message}`);
      }
      this.filesSeen.set(full, { stamp, crls });
      next.push(...crls);
    }
    for (const file of [...this.filesSeen.keys()]) {
      if (!present.has(file)) {
        this.filesSeen.delete(file);
        changed = true;
      }
    }
    if (changed) {
      this.fileCrls = next;
      this.reindex();
    }
  }

  private reindex(): void {
    const index = new Map<string, LoadedCrl[]>();
    for (const loaded of [...this.fileCrls, ...[...this.fetchedCrls.values()].flat()]) {
      const list = index.get(loaded.issuerKey) ?? [];
      list.push(loaded);
      index.set(loaded.issuerKey, list);
    }
    this.byIssuer = index;
    this.generationCounter++;
  }

  /**
   * The revocation status of `cert`, issued by `issuer` (whose signature on `cert` has been checked):
   * revoked when the newest usable CRL lists it with a revocation date at or before `revokedBy`.
   * `checkedAt` is the instant the CRL must be current at. Downloads a CRL when none is current.
   */
  async statusOf(cert: X509Certificate, issuer: X509Certificate, revokedBy: Date, checkedAt: Date): Promise<RevocationStatus> {
    this.refresh();
    let usable = await this.currentCrl(cert, issuer, checkedAt);
    if (!usable && this.options.fetch) {
      const urls = distributionPointUrls(cert);
      for (const url of urls) {
        await this.download(url);
        usable = await this.currentCrl(cert, issuer, checkedAt);
        if (usable) break;
      }
    }
    if (!usable) {
      return { status: 'unknown', why: `no current CRL signed by "${issuer.subject}" is available` };
    }
    const entry = usable.crl.findRevoked(cert);
    if (entry && entry.reason !== x509.X509CrlReason.removeFromCRL && entry.revocationDate.getTime() <= revokedBy.getTime()) {
      for (const extension of entry.extensions) {
        if (extension.critical && !UNDERSTOOD_ENTRY_EXTENSIONS.has(extension.type)) {
          return { status: 'unknown', why: `the CRL entry carries a critical extension ${extension.type} that ePost does not process` };
        }
      }
      return { status: 'revoked', revocationDate: entry.revocationDate, reason: reasonName(entry.reason), crlSource: usable.source };
    }
    return { status: 'good', nextUpdate: usable.crl.nextUpdate!, crlSource: usable.source };
  }

  /** The newest CRL of this issuer that is signed by it and current at `checkedAt`. */
  private async currentCrl(cert: X509Certificate, issuer: X509Certificate, checkedAt: Date): Promise<LoadedCrl | undefined> {
    const candidates = this.byIssuer.get(nameKey(cert.issuerName)) ?? [];
    let best: LoadedCrl | undefined;
    for (const loaded of candidates) {
      const { crl } = loaded;
      const nextUpdate = crl.nextUpdate;
      if (!nextUpdate || nextUpdate.getTime() <= checkedAt.getTime()) continue;
      if (crl.thisUpdate.getTime() > Date.now() + THIS_UPDATE_SKEW_MS) continue;
      if (best && best.crl.thisUpdate.getTime() >= crl.thisUpdate.getTime()) continue;
      if (!this.usableExtensions(crl)) continue;
      if (!(await this.signedBy(crl, issuer))) continue;
      best = loaded;
    }
    return best;
  }

  private usableExtensions(crl: X509Crl): boolean {
    return crl.extensions.every((extension) => !extension.critical || UNDERSTOOD_CRL_EXTENSIONS.has(extension.type));
  }

  private async signedBy(crl: X509Crl, issuer: X509Certificate): Promise<boolean> {
    const issuerFingerprint = fingerprintOf(issuer);
    const checked = this.verifiedSignatures.get(crl) ?? new Map<string, boolean>();
    this.verifiedSignatures.set(crl, checked);
    const known = checked.get(issuerFingerprint);
    if (known !== undefined) return known;
    let valid = false;
    const keyUsage = issuer.getExtension(x509.KeyUsagesExtension);
    const hash = signatureHashOf(crl);
    if ((!keyUsage || (keyUsage.usages & x509.KeyUsageFlags.cRLSign) !== 0) && hash && ACCEPTED_SIGNATURE_HASHES.has(hash)) {
      try {
        valid = await crl.verify({ publicKey: issuer.publicKey });
      } catch {
        valid = false;
      }
    }
    checked.set(issuerFingerprint, valid);
    return valid;
  }

  /** One download per URL at a time; a failing URL is not tried again before fetchRetryMs. */
  private download(url: string): Promise<void> {
    const running = this.inFlight.get(url);
    if (running) return running;
    const failed = this.failedAt.get(url);
    if (failed !== undefined && Date.now() - failed < this.options.fetchRetryMs) return Promise.resolve();
    const task = (async () => {
      try {
        const bytes = await this.fetchBounded(url);
        const crls = parseCrls(bytes, url);
        this.failedAt.delete(url);
        this.add(crls, url);
      } catch (err) {
        this.failedAt.set(url, Date.now());
        console.warn(`CRL distribution point ${url} unavailable: ${(err as Error).message}`);
      } finally {
        this.inFlight.delete(url);
      }
    })();
    this.inFlight.set(url, task);
    return task;
  }

  private async fetchBounded(url: string): Promise<Buffer> {
    const response = await fetch(url, { signal: AbortSignal.timeout(this.options.fetchTimeoutMs), redirect: 'error' });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    const chunks: Buffer[] = [];
    let size = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > this.options.maxCrlBytes) {
        await reader.cancel();
        throw new Error(`larger than ${this.options.maxCrlBytes} bytes`);
      }
      chunks.push(Buffer.from(value));
    }
    return Buffer.concat(chunks);
  }
}
