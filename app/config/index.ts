// The one place where configuration is read. Everything comes from environment variables with
// safe defaults, so `npm start` works on a fresh machine and production overrides what it must.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface EpostConfig {
  /** HTTPS port of the service (EPOST_PORT). */
  port: number;
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
    host: env.EPOST_HOST || '127.0.0.1',
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
  };
}
