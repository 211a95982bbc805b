// What the processing-log tests share: running `npm run audit` against a test service's database,
// lifting the database guards the way a hostile administrator would, security-advisor certificates
// and HTTPS requests with a client certificate.
import fs from 'node:fs';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import type { RegisteredMailSubmission } from '../../app/client/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { issueCertificate, loadIssuer, x509 } from '../../app/pki/issue.js';
import { isPostgres, type Database } from '../../app/storage/index.js';
import { run, type RunResult } from '../helpers/run.js';
import { projectRoot } from '../../app/config/index.js';
import type { TestService } from '../helpers/service.js';

export const CITIZEN = ssinFrom('850730033');

export function submission(overrides: Partial<RegisteredMailSubmission> = {}): RegisteredMailSubmission {
  return {
    senderReference: `audit-${randomUUID()}`,
    recipient: { kind: 'citizen', ssin: CITIZEN },
    subject: 'Processing log test',
    document: { fileName: 'notice.txt', mimeType: 'text/plain', content: Buffer.from(`a document ${randomUUID()}`) },
    ...overrides,
  };
}

/** `npm run audit -- <args>` against the service's database and certificates, as an operator runs it. */
export function runAudit(service: TestService, args: string[]): Promise<RunResult> {
  return run(process.execPath, ['--import', 'tsx', 'scripts/audit.ts', ...args], {
    cwd: projectRoot,
    env: { ...process.env, ...service.databaseEnv, EPOST_CERTS_DIR: service.certsDir },
    timeoutMs: 120_000,
  });
}

const LOG_TABLES = ['audit_records', 'audit_payloads', 'audit_tree_nodes', 'audit_tree_heads', 'audit_signers', 'audit_log_head'];

/**
 * Runs `tamper` with the log's database guards lifted, as an administrator with full rights could,
 * and puts them back: what remains to catch the tampering is the tree and its signed heads.
 */
export async function withoutLogGuards(db: Database, tamper: (db: Database) => Promise<void>): Promise<void> {
  if (isPostgres(db)) {
    for (const table of LOG_TABLES) await db.raw(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
    try {
      await tamper(db);
    } finally {
      for (const table of LOG_TABLES) await db.raw(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
    }
    return;
  }
  const triggers = (await db('sqlite_master').where({ type: 'trigger' }).whereIn('tbl_name', LOG_TABLES).select('name', 'sql')) as Array<{ name: string; sql: string }>;
  for (const t of triggers) await db.raw(`DROP TRIGGER ${t.name}`);
  try {
    await tamper(db);
  } finally {
    for (const t of triggers) await db.raw(t.sql);
  }
}

/** A certificate under the development root CA, usable as a TLS client certificate on the client-certificate listener. */
export async function clientCertificate(service: TestService, commonName: string): Promise<{ certPem: string; keyPem: string }> {
  const root = await loadIssuer(fs.readFileSync(service.devPki.rootCaCert, 'utf8'), fs.readFileSync(service.devPki.rootCaKey, 'utf8'));
  const issued = await issueCertificate({
    subject: `CN=${commonName}, O=ePost tests, C=BE`,
    issuer: root,
    keyUsages: x509.KeyUsageFlags.digitalSignature,
    extendedKeyUsages: [x509.ExtendedKeyUsage.clientAuth],
  });
  return { certPem: issued.certPem, keyPem: issued.keyPem };
}

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
  json(): any;
}

/** GET over HTTPS, trusting the development root, with an optional client certificate and headers. */
export function httpsGet(service: TestService, url: string, options: { client?: { certPem: string; keyPem: string }; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: 'GET',
        ca: service.rootCaPem,
        headers: options.headers ?? {},
        agent: false,
        ...(options.client ? { cert: options.client.certPem, key: options.client.keyPem } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body, json: () => JSON.parse(body) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The message a database refusal gives; fails if the statement was accepted. */
export async function refusalOf(statement: PromiseLike<unknown>): Promise<string> {
  try {
    await statement;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the database accepted a change it should have refused');
}

/** Records of the log as rows, in insertion order, for before/after comparisons. */
export async function recordsAfter(db: Database, afterId: number): Promise<any[]> {
  return db('audit_records').where('id', '>', afterId).orderBy('id').select('*');
}

export async function lastRecordId(db: Database): Promise<number> {
  const row = await db('audit_records').max({ id: 'id' }).first();
  return Number(row?.id ?? 0);
}
