// Starts the real service (HTTPS on a loopback port, a fresh SQLite file) for a test file. The
// development PKI is generated once per test run into a temporary directory and shared.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

export async function startTestService(env: Record<string, string> = {}): Promise<TestService> {
  const { certsDir, devPki } = await testPki();
  const dbFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'epost-db-')), 'epost.sqlite');
  const config = loadConfig({ EPOST_PORT: '0', EPOST_MTLS_PORT: '0', EPOST_DB: dbFile, EPOST_CERTS_DIR: certsDir, ...env });
  const service = await startService(config);
  const rootCaPem = fs.readFileSync(devPki.rootCaCert, 'utf8');
  const count = async (table: string) => Number((await service.ctx.db(table).count({ n: '*' }))[0]!.n);
  return Object.assign(service, {
    certsDir,
    devPki,
    rootCaPem,
    dbFile,
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
