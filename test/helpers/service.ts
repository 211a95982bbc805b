// Starts the real service (HTTPS on loopback ports, a fresh database) for a test file. The database
// is a fresh SQLite file, or, when EPOST_TEST_BACKEND=postgres, a fresh PostgreSQL database on the
// server at EPOST_TEST_PG_URL. The development PKI is generated once per run and shared.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import knexModule from 'knex';
import { SenderClient } from '../../app/client/index.js';
import { loadConfig } from '../../app/config/index.js';
import { ensureDevPki, pkiLayout, type DevPkiManifest } from '../../app/pki/index.js';
import { startService, type RunningService } from '../../app/service.js';

let sharedCerts: Promise<{ certsDir: string; devPki: DevPkiManifest }> | undefined;

/** One development PKI for the whole run (generation takes about a second). */
export function testPki(): Promise<{ certsDir: string; devPki: DevPkiManifest }> {
  sharedCerts ??= (async () => {
    const certsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-certs-'));
    return { certsDir, devPki: await ensureDevPki(certsDir) };
  })();
  return sharedCerts;
}

export interface TestService extends RunningService {
  certsDir: string;
  devPki: DevPkiManifest;
  rootCaPem: string;
  /** The environment that points another instance at this service's database (e.g. a restart). */
  databaseEnv: Record<string, string>;
  /** The SQLite file (meaningless under PostgreSQL: use databaseEnv to reach the same database). */
  dbFile: string;
  /** A sender client for a demo sender of the development PKI (default: the first). */
  client(slug?: string): SenderClient;
  /** Counts of the stored registered-mail data, to prove that a refusal stored nothing. */
  counts(): Promise<StoredCounts>;
}

export interface StoredCounts {
  mails: number;
  documents: number;
  eboxMessages: number;
  proofs: number;
}

export const testBackend: 'sqlite' | 'postgres' = process.env.EPOST_TEST_BACKEND === 'postgres' ? 'postgres' : 'sqlite';
const PG_ADMIN_URL = process.env.EPOST_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Runs one statement on the PostgreSQL server's administrative database. */
async function pgAdmin(sql: string): Promise<void> {
  const admin = knexModule({ client: 'pg', connection: PG_ADMIN_URL, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(sql);
  } finally {
    await admin.destroy();
  }
}

/** A fresh, empty database for one test service, and how to drop it. */
export async function freshDatabase(): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  if (testBackend === 'sqlite') {
    const dbFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'epost-db-')), 'epost.sqlite');
    return { env: { EPOST_DB: dbFile }, drop: async () => fs.rmSync(path.dirname(dbFile), { recursive: true, force: true }) };
  }
  const name = `epost_test_${randomBytes(6).toString('hex')}`;
  await pgAdmin(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { env: { DATABASE_URL: url.toString() }, drop: () => pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * Starts the service on a fresh database; pass `service.databaseEnv` to start another instance (or
 * a restart) on the same database, which only its creator drops.
 */
export async function startTestService(env: Record<string, string> = {}): Promise<TestService> {
  const { certsDir, devPki } = await testPki();
  const reuses = 'EPOST_DB' in env || 'DATABASE_URL' in env;
  const database = reuses ? { env: {}, drop: async () => undefined } : await freshDatabase();
  const config = loadConfig({ EPOST_PORT: '0', EPOST_MTLS_PORT: '0', EPOST_LOG_LEVEL: 'warn', EPOST_CERTS_DIR: certsDir, ...database.env, ...env });
  const service = await startService(config);
  const databaseEnv: Record<string, string> = config.databaseUrl ? { DATABASE_URL: config.databaseUrl } : { EPOST_DB: config.dbFile };
  const closeService = service.close.bind(service);
  const rootCaPem = fs.readFileSync(devPki.rootCaCert, 'utf8');
  const count = async (table: string) => Number((await service.ctx.db(table).count({ n: '*' }))[0]!.n);
  return Object.assign(service, {
    certsDir,
    devPki,
    rootCaPem,
    databaseEnv,
    dbFile: config.dbFile,
    async close() {
      await closeService();
      await database.drop();
    },
    client(slug?: string) {
      const sender = slug ? devPki.senders.find((s) => s.slug === slug) : devPki.senders[0];
      if (!sender) throw new Error(`no demo sender ${slug}`);
      return new SenderClient({
        baseUrl: service.baseUrl,
        certificatePem: fs.readFileSync(sender.certFile, 'utf8'),
        privateKeyPem: fs.readFileSync(sender.keyFile, 'utf8'),
        tlsCaPem: rootCaPem,
      });
    },
    async counts() {
      return {
        mails: await count('registered_mails'),
        documents: await count('documents'),
        eboxMessages: await count('ebox_messages'),
        proofs: await count('proofs'),
      };
    },
  });
}

export { pkiLayout };
