// The one place where configuration is read. Everything comes from environment variables with
// safe defaults, so `npm start` works on a fresh machine and production overrides what it must.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface EpostConfig {
  /** HTTPS port of the service (EPOST_PORT). */
  port: number;
  /** Processes serving requests on the same ports (EPOST_WORKERS, default: one per core). */
  workers: number;
  /** pino level of the operator log (EPOST_LOG_LEVEL): fatal, error, warn, info, debug, trace or silent. */
  logLevel: string;
  /** Interface to listen on (EPOST_HOST); loopback by default so a development start exposes nothing. */
  host: string;
  /**
   * HTTPS port that requires a TLS client certificate chaining to the trust anchors
   * (EPOST_MTLS_PORT, default 8444): eBox readers, security advisors, and SOAP senders under 2-way TLS.
   */
  mtlsPort: number;
  /** 'required': SOAP requests must arrive over the client-certificate port, signed by that same certificate (EPOST_SOAP_MTLS). */
  soapMutualTls: 'off' | 'required';
  /** SQLite file (EPOST_DB); ignored when databaseUrl is set. */
  dbFile: string;
  /** PostgreSQL connection string (DATABASE_URL); overrides dbFile. */
  databaseUrl: string | undefined;
  /** Trust anchors, intermediates and the development PKI live here (EPOST_CERTS_DIR). */
  certsDir: string;
  /** Generate a development PKI on first start when none exists (EPOST_DEV_PKI, default on). */
  devPki: boolean;
  /** Largest SOAP request accepted, in bytes, after any decompression (EPOST_MAX_REQUEST_BYTES). */
  maxRequestBytes: number;
  /** Largest registered document, in bytes once base64-decoded (EPOST_MAX_DOCUMENT_BYTES). */
  maxDocumentBytes: number;
  /** Longest lifetime a wsu:Timestamp may declare, in seconds (EPOST_TIMESTAMP_MAX_TTL). */
  timestampMaxTtlSeconds: number;
  /** Tolerated clock skew for a wsu:Timestamp Created in the future, in seconds (EPOST_CLOCK_SKEW). */
  clockSkewSeconds: number;
  /** AES-256-GCM key for data at rest, base64 of 32 bytes (EPOST_DATA_KEY); a development key is generated when absent. */
  dataKeyBase64: string | undefined;
  /**
   * Sender certificate revocation checking by CRL (EPOST_REVOCATION): `require` (default) refuses a
   * certificate whose status cannot be established, `prefer` checks when a current CRL is at hand,
   * `off` does not check.
   */
  revocation: 'require' | 'prefer' | 'off';
  /** Download CRLs from the http(s) distribution points of validated certificates when none is current (EPOST_CRL_FETCH, default on). */
  crlFetch: boolean;
  /** Time limit of one CRL download, milliseconds (EPOST_CRL_FETCH_TIMEOUT_MS, default 5000). */
  crlFetchTimeoutMs: number;
  /** Deepest element nesting accepted in a request (EPOST_XML_MAX_DEPTH, default 64). */
  xmlMaxDepth: number;
  /** Most elements accepted in a request (EPOST_XML_MAX_ELEMENTS, default 10000). */
  xmlMaxElements: number;
  /** Most attributes on one element, namespace declarations excluded (EPOST_XML_MAX_ATTRIBUTES, default 32). */
  xmlMaxAttributes: number;
  /** Most namespace declarations in a request (EPOST_XML_MAX_NAMESPACE_DECLARATIONS, default 64). */
  xmlMaxNamespaceDeclarations: number;
  /** Days an eBox message stays readable when its message type sets none (EPOST_EBOX_RETENTION_DAYS); never beyond its document's retention. */
  eboxRetentionDays: number;
  /** CA certificates trusted to assert a reader's SSIN in the subject serialNumber, as the eID citizen CAs do (EPOST_EBOX_READER_CAS, default certs/readers). */
  eboxReaderCaDir: string;
  /** Longest wait before the processing log's new records are put under a signed, timestamped tree head, in seconds (EPOST_LOG_TREE_INTERVAL, default 10). */
  logTreeIntervalSeconds: number;
  /** A tree head is also signed as soon as this many records wait for one (EPOST_LOG_TREE_BATCH, default 1000). */
  logTreeBatchRecords: number;
  /** Years the processing log and its tree heads are kept (EPOST_LOG_RETENTION_YEARS); never below the legal ten. */
  logRetentionYears: number;
  /** Default days a registered mail's document is kept when its sender organisation sets none (EPOST_DOCUMENT_RETENTION_DAYS). */
  documentRetentionDays: number;
  /** How often expired documents are purged, in seconds (EPOST_RETENTION_SWEEP_INTERVAL, default hourly). */
  retentionSweepSeconds: number;
  /** URL of an external RFC 3161 timestamping authority (EPOST_TSA_URL); unset: the built-in authority under certs/service. */
  tsaUrl: string | undefined;
  /** PEM files of the anchors the external authority's certificate must chain to (EPOST_TSA_ANCHORS, comma-separated; default: every file in certs/anchors). */
  tsaAnchorFiles: string[] | undefined;
  /** Policy OID requested from the external authority; its tokens must carry it (EPOST_TSA_POLICY). */
  tsaPolicy: string | undefined;
  /** Time limit of one exchange with the external authority, milliseconds (EPOST_TSA_TIMEOUT_MS, default 10000). */
  tsaTimeoutMs: number;
  /** Largest distance between the external authority's time and ours, seconds (EPOST_TSA_TOLERANCE, default 60). */
  tsaToleranceSeconds: number;
  /** CA certificates (PEM file) for an https:// authority URL (EPOST_TSA_TLS_CA; default: Node's roots). */
  tsaTlsCaFile: string | undefined;
  /** PKCS#11 library holding the sealing key (EPOST_SEALING_PKCS11_MODULE); unset: the key file certs/service/sealing.key.pem. */
  sealingPkcs11Module: string | undefined;
  /** Label of the token holding the sealing key (EPOST_SEALING_PKCS11_TOKEN, default epost). */
  sealingPkcs11Token: string;
  /** Label of the sealing private key in the token (EPOST_SEALING_PKCS11_KEY, default sealing). */
  sealingPkcs11KeyLabel: string;
  /** User PIN of the token (EPOST_SEALING_PKCS11_PIN). */
  sealingPkcs11Pin: string | undefined;
  /**
   * PEM files of the security token services whose SAML 2.0 holder-of-key assertions senders may
   * present (EPOST_SAML_STS_CERTS, comma-separated); unset: the development STS certificate
   * certs/service/sts.pem when it exists, otherwise no SAML sender is accepted.
   */
  samlStsCertFiles: string[] | undefined;
  /**
   * ePost's own enterprise number (EPOST_ENTERPRISE_NUMBER): the sender of the notices ePost posts into
   * eBoxes (send-proof copies, batch announcements), as the eBox API's senderOrganizationId.
   */
  epostEnterpriseNumber: string;
  /**
   * Where batch-channel recipients' batches are written, one folder per enterprise (EPOST_OUTBOX_DIR,
   * default: outbox/ beside the SQLite file); an enterprise's subscription may name its own folder.
   */
  outboxDir: string;
  /** How often delivered mails of batch-channel recipients are put into batches, in seconds (EPOST_BATCH_INTERVAL, default 60). */
  batchIntervalSeconds: number;
  /** Most registered mails in one batch (EPOST_BATCH_MAX_MAILS, default 200). */
  batchMaxMails: number;
  /** Most document bytes in one batch, which is built in memory (EPOST_BATCH_MAX_BYTES, default 100 MiB; a larger single document makes a batch of its own). */
  batchMaxBytes: number;
}

/** A valid enterprise number (10 digits from 0 or 1, mod-97 check), or a configuration error. */
function enterpriseNumberFrom(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const valid = /^[01]\d{9}$/.test(raw) && Number(raw.slice(8)) === 97 - (Number(raw.slice(0, 8)) % 97);
  if (!valid) throw new Error(`${name} must be a valid enterprise number (10 digits, e.g. 0200000043), got "${raw}"`);
  return raw;
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function boolFrom(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`${name} must be true or false, got "${raw}"`);
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new Error(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): EpostConfig {
  const certsDir = path.resolve(projectRoot, env.EPOST_CERTS_DIR || 'certs');
  return {
    port: intFrom(env, 'EPOST_PORT', 8443, 0, 65535),
    workers: intFrom(env, 'EPOST_WORKERS', os.availableParallelism(), 1, 64),
    host: env.EPOST_HOST || '127.0.0.1',
    logLevel: oneOf(env, 'EPOST_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    mtlsPort: intFrom(env, 'EPOST_MTLS_PORT', 8444, 0, 65535),
    soapMutualTls: oneOf(env, 'EPOST_SOAP_MTLS', ['off', 'required'] as const, 'off'),
    dbFile: path.resolve(projectRoot, env.EPOST_DB || path.join('db', 'epost.sqlite')),
    databaseUrl: env.DATABASE_URL || undefined,
    certsDir,
    devPki: boolFrom(env, 'EPOST_DEV_PKI', true),
    maxRequestBytes: intFrom(env, 'EPOST_MAX_REQUEST_BYTES', 20 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxDocumentBytes: intFrom(env, 'EPOST_MAX_DOCUMENT_BYTES', 10 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    timestampMaxTtlSeconds: intFrom(env, 'EPOST_TIMESTAMP_MAX_TTL', 300, 1, 3600),
    clockSkewSeconds: intFrom(env, 'EPOST_CLOCK_SKEW', 60, 0, 600),
    dataKeyBase64: env.EPOST_DATA_KEY || undefined,
    revocation: oneOf(env, 'EPOST_REVOCATION', ['require', 'prefer', 'off'] as const, 'require'),
    crlFetch: boolFrom(env, 'EPOST_CRL_FETCH', true),
    crlFetchTimeoutMs: intFrom(env, 'EPOST_CRL_FETCH_TIMEOUT_MS', 5000, 100, 60_000),
    xmlMaxDepth: intFrom(env, 'EPOST_XML_MAX_DEPTH', 64, 8, 1000),
    xmlMaxElements: intFrom(env, 'EPOST_XML_MAX_ELEMENTS', 10_000, 64, 10_000_000),
    xmlMaxAttributes: intFrom(env, 'EPOST_XML_MAX_ATTRIBUTES', 32, 4, 10_000),
    xmlMaxNamespaceDeclarations: intFrom(env, 'EPOST_XML_MAX_NAMESPACE_DECLARATIONS', 64, 8, 10_000),
    eboxRetentionDays: intFrom(env, 'EPOST_EBOX_RETENTION_DAYS', 3653, 1, 36525),
    eboxReaderCaDir: path.resolve(certsDir, env.EPOST_EBOX_READER_CAS || 'readers'),
    logTreeIntervalSeconds: intFrom(env, 'EPOST_LOG_TREE_INTERVAL', 10, 1, 3600),
    logTreeBatchRecords: intFrom(env, 'EPOST_LOG_TREE_BATCH', 1000, 1, 1_000_000),
    // Ten years is the legal floor for processing logs: a lower value is a configuration error.
    logRetentionYears: intFrom(env, 'EPOST_LOG_RETENTION_YEARS', 10, 10, 100),
    // The safe default keeps documents as long as the log (10 years and leap days); senders may set less.
    documentRetentionDays: intFrom(env, 'EPOST_DOCUMENT_RETENTION_DAYS', 3653, 1, 36525),
    retentionSweepSeconds: intFrom(env, 'EPOST_RETENTION_SWEEP_INTERVAL', 3600, 1, 86400),
    tsaUrl: env.EPOST_TSA_URL || undefined,
    tsaAnchorFiles: env.EPOST_TSA_ANCHORS ? env.EPOST_TSA_ANCHORS.split(',').map((f) => path.resolve(projectRoot, f.trim())) : undefined,
    tsaPolicy: env.EPOST_TSA_POLICY || undefined,
    tsaTimeoutMs: intFrom(env, 'EPOST_TSA_TIMEOUT_MS', 10_000, 100, 120_000),
    tsaToleranceSeconds: intFrom(env, 'EPOST_TSA_TOLERANCE', 60, 1, 3600),
    tsaTlsCaFile: env.EPOST_TSA_TLS_CA ? path.resolve(projectRoot, env.EPOST_TSA_TLS_CA) : undefined,
    sealingPkcs11Module: env.EPOST_SEALING_PKCS11_MODULE || undefined,
    sealingPkcs11Token: env.EPOST_SEALING_PKCS11_TOKEN || 'epost',
    sealingPkcs11KeyLabel: env.EPOST_SEALING_PKCS11_KEY || 'sealing',
    sealingPkcs11Pin: env.EPOST_SEALING_PKCS11_PIN || undefined,
    samlStsCertFiles: env.EPOST_SAML_STS_CERTS ? env.EPOST_SAML_STS_CERTS.split(',').map((f) => path.resolve(projectRoot, f.trim())) : undefined,
    epostEnterpriseNumber: enterpriseNumberFrom(env, 'EPOST_ENTERPRISE_NUMBER', '0200000043'),
    outboxDir: env.EPOST_OUTBOX_DIR
      ? path.resolve(projectRoot, env.EPOST_OUTBOX_DIR)
      : path.join(path.dirname(path.resolve(projectRoot, env.EPOST_DB || path.join('db', 'epost.sqlite'))), 'outbox'),
    batchIntervalSeconds: intFrom(env, 'EPOST_BATCH_INTERVAL', 60, 1, 86400),
    batchMaxMails: intFrom(env, 'EPOST_BATCH_MAX_MAILS', 200, 1, 10_000),
    batchMaxBytes: intFrom(env, 'EPOST_BATCH_MAX_BYTES', 100 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  };
}
