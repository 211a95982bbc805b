// Assembles the service from its configuration: development PKI (when enabled), database and
// migrations, data key, trust store, timestamping authority and sealer. Used by `npm start`, the
// scripts and the tests alike, so all of them run the same service.
import fs from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ALL_OPERATIONS, ALL_RECIPIENT_KINDS, registerSenderCertificate, registerSenderOrganisation } from './access/index.js';
import type { EpostConfig } from './config/index.js';
import { createHttpsServer } from './http/server.js';
import { ensureDevPki, pkiLayout, TrustStore, type DevPkiManifest } from './pki/index.js';
import { ProofSealer } from './proofs/index.js';
import type { ServiceContext } from './registeredmail/context.js';
import { purgeExpiredReplayKeys } from './registeredmail/replay.js';
import { loadDataVault, openDatabase } from './storage/index.js';
import { BuiltInTimestampAuthority } from './timestamp/index.js';

export interface RunningService {
  ctx: ServiceContext;
  server: Server;
  /** https://host:port of the listening server. */
  baseUrl: string;
  devPki: DevPkiManifest | undefined;
  close(): Promise<void>;
}

function readPems(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.pem'))
    .sort()
    .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
}

export async function assembleContext(config: EpostConfig): Promise<{ ctx: ServiceContext; devPki: DevPkiManifest | undefined }> {
  const layout = pkiLayout(config.certsDir);
  const devPki = config.devPki ? await ensureDevPki(config.certsDir) : undefined;
  const db = await openDatabase(config);
  const vault = loadDataVault(config.dataKeyBase64, config.devPki ? path.join(layout.devDir, 'data-key.b64') : undefined);
  const trust = TrustStore.fromDirectories(layout.anchorsDir, layout.intermediatesDir);
  const tsa = await BuiltInTimestampAuthority.fromPem(fs.readFileSync(layout.tsaCert, 'utf8'), fs.readFileSync(layout.tsaKey, 'utf8'));
  const sealer = await ProofSealer.fromPem({
    sealingCertPem: fs.readFileSync(layout.sealingCert, 'utf8'),
    sealingKeyPem: fs.readFileSync(layout.sealingKey, 'utf8'),
    tsa,
  });
  const ctx: ServiceContext = { config, db, vault, trust, sealer, now: () => new Date() };
  if (devPki) await registerDemoSenders(ctx, devPki);
  return { ctx, devPki };
}

/** The demo institutions of the development PKI may send to every kind of eBox. */
async function registerDemoSenders(ctx: ServiceContext, devPki: DevPkiManifest): Promise<void> {
  for (const demo of devPki.senders) {
    await registerSenderOrganisation(ctx.db, {
      enterpriseNumber: demo.enterpriseNumber,
      name: demo.name,
      allowedOperations: ALL_OPERATIONS,
      allowedRecipientKinds: ALL_RECIPIENT_KINDS,
    });
    await registerSenderCertificate(ctx.db, demo.enterpriseNumber, fs.readFileSync(demo.certFile, 'utf8'));
  }
}

export async function startService(config: EpostConfig): Promise<RunningService> {
  const { ctx, devPki } = await assembleContext(config);
  const layout = pkiLayout(config.certsDir);
  const server = createHttpsServer(ctx, { cert: fs.readFileSync(layout.tlsCert, 'utf8'), key: fs.readFileSync(layout.tlsKey, 'utf8') });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const purge = setInterval(() => void purgeExpiredReplayKeys(ctx.db, ctx.now()).catch(() => undefined), 60_000);
  purge.unref();
  return {
    ctx,
    server,
    baseUrl: `https://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    devPki,
    async close() {
      clearInterval(purge);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await ctx.db.destroy();
    },
  };
}
