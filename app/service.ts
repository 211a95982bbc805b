// Assembles the service from its configuration: development PKI (when enabled), database and
// migrations, data key, trust store, timestamping authority and sealer. Used by `npm start`, the
// scripts and the tests alike, so all of them run the same service.
import fs from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ALL_OPERATIONS, ALL_RECIPIENT_KINDS, registerSenderCertificate, registerSenderOrganisation } from './access/index.js';
import type { EpostConfig } from './config/index.js';
import { createApp, createHttpsServer, createMutualTlsServer } from './http/server.js';
import { ensureDevPki, pkiLayout, TrustStore, type DevPkiManifest } from './pki/index.js';
import { ProofSealer } from './proofs/index.js';
import type { ServiceContext } from './registeredmail/context.js';
import { purgeExpiredReplayKeys } from './registeredmail/replay.js';
import { loadDataVault, openDatabase } from './storage/index.js';
import { BuiltInTimestampAuthority } from './timestamp/index.js';

export interface RunningService {
  ctx: ServiceContext;
  server: Server;
  /** The listener that requires a TLS client certificate. */
  mtlsServer: Server;
  /** https://host:port of the ordinary listener. */
  baseUrl: string;
  /** https://host:port of the client-certificate listener. */
  mtlsBaseUrl: string;
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

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

export async function startService(config: EpostConfig): Promise<RunningService> {
  const { ctx, devPki } = await assembleContext(config);
  const layout = pkiLayout(config.certsDir);
  const tls = { cert: fs.readFileSync(layout.tlsCert, 'utf8'), key: fs.readFileSync(layout.tlsKey, 'utf8') };
  const app = createApp(ctx);
  const server = createHttpsServer(ctx, tls, app);
  // TLS clients are verified against the same anchors (and intermediates) as message signers.
  const mtlsServer = createMutualTlsServer(ctx, tls, [...readPems(layout.anchorsDir), ...readPems(layout.intermediatesDir)], app);
  const port = await listen(server, config.port, config.host);
  const mtlsPort = await listen(mtlsServer, config.mtlsPort, config.host);
  const host = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const purge = setInterval(() => void purgeExpiredReplayKeys(ctx.db, ctx.now()).catch(() => undefined), 60_000);
  purge.unref();
  return {
    ctx,
    server,
    mtlsServer,
    baseUrl: `https://${host}:${port}`,
    mtlsBaseUrl: `https://${host}:${mtlsPort}`,
    devPki,
    async close() {
      clearInterval(purge);
      await Promise.all([closeServer(server), closeServer(mtlsServer)]);
      await ctx.db.destroy();
    },
  };
}
