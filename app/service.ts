// Assembles the service from its configuration: development PKI (when enabled), database and
// migrations, data key, trust store, timestamping authority and sealer. Used by `npm start`, the
// scripts and the tests alike, so all of them run the same service.
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AuditLog, unsequencedRecordCount } from './audit/index.js';
import { batchChannelBacklog, runBatchChannel } from './batch/index.js';
import { ALL_OPERATIONS, ALL_RECIPIENT_KINDS, certificateFingerprint, registerSenderCertificateBy, registerSenderOrganisationBy } from './access/index.js';
import type { EpostConfig } from './config/index.js';
import { createApp, createHttpsServer, createMutualTlsServer } from './http/server.js';
import { checkReadiness, clusterMetricsText, createLogger, ServiceMetrics, type Logger } from './operations/index.js';
import type { TimestampAuthority } from './timestamp/index.js';
import { ensureDevPki, pkiLayout, readPemTexts, TrustStore, type DevPkiManifest } from './pki/index.js';
import { ensureDevEboxReaders, expireDueMessages, registerDevEboxReaders } from './ebox/index.js';
import { describeForOperator } from './errors/index.js';
import { EVIDENCE_NS, sealerFromConfig } from './proofs/index.js';
import type { ServiceContext } from './registeredmail/context.js';
import { purgeExpiredReplayKeys } from './registeredmail/replay.js';
import { loadDataVault, openDatabase, startWalCheckpointer, transactionsFor } from './storage/index.js';
import { timestampAuthorityFromConfig } from './timestamp/index.js';

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
  metrics: ServiceMetrics;
  logger: Logger;
  /** Graceful shutdown: stop accepting, let in-flight requests finish (bounded), then close. */
  close(): Promise<void>;
}


/** The timestamping authority, counting the tokens it issues for the metrics. */
function countedTimestamps(tsa: TimestampAuthority, metrics: ServiceMetrics): TimestampAuthority {
  return {
    async timestamp(imprint: Buffer) {
      const token = await tsa.timestamp(imprint);
      metrics.timestampTokens.inc();
      return token;
    },
  };
}

export async function assembleContext(
  config: EpostConfig,
  metrics = new ServiceMetrics(),
): Promise<{ ctx: ServiceContext; devPki: DevPkiManifest | undefined; tsa: TimestampAuthority }> {
  const layout = pkiLayout(config.certsDir);
  const devPki = config.devPki ? await ensureDevPki(config.certsDir) : undefined;
  // Development eBox readers (a citizen CA, a demo citizen and enterprise user) before the
  // client-certificate listener reads the trusted CAs.
  const readers = config.devPki ? await ensureDevEboxReaders(config.certsDir, config.eboxReaderCaDir) : undefined;
  const db = await openDatabase(config);
  const vault = loadDataVault(config.dataKeyBase64, config.devPki ? path.join(layout.devDir, 'data-key.b64') : undefined);
  const trust = TrustStore.fromConfig(config);
  // The built-in authority, or an external one (EPOST_TSA_URL); the sealing key from its file or a
  // PKCS#11 token (EPOST_SEALING_PKCS11_MODULE).
  const tsa = countedTimestamps(await timestampAuthorityFromConfig(config), metrics);
  const sealer = await sealerFromConfig(config, tsa);
  // The log reads the service's clock through ctx, so a test that pins ctx.now pins the log too.
  const audit = await AuditLog.open(config, db, vault, () => ctx.now(), tsa);
  const ctx: ServiceContext = { config, db, sendTransactions: transactionsFor(db), vault, trust, sealer, audit, now: () => new Date() };
  if (devPki) await registerDemoSenders(ctx, devPki);
  if (readers) await registerDevEboxReaders(ctx, readers);
  return { ctx, devPki, tsa };
}

/**
 * The demo institutions of the development PKI may send to every kind of eBox. They are registered
 * once, as any administrative change is: recorded in the processing log.
 */
async function registerDemoSenders(ctx: ServiceContext, devPki: DevPkiManifest): Promise<void> {
  const by = { executor: 'ePost development set-up', log: ctx.audit, now: () => ctx.now() };
  for (const demo of devPki.senders) {
    if (!(await ctx.db('sender_organisations').where({ enterprise_number: demo.enterpriseNumber }).first('enterprise_number'))) {
      await registerSenderOrganisationBy(
        ctx.db,
        { enterpriseNumber: demo.enterpriseNumber, name: demo.name, allowedOperations: ALL_OPERATIONS, allowedRecipientKinds: ALL_RECIPIENT_KINDS },
        by,
      );
    }
    const pem = fs.readFileSync(demo.certFile, 'utf8');
    const fingerprint = certificateFingerprint(new X509Certificate(pem).raw);
    if (!(await ctx.db('sender_certificates').where({ fingerprint_sha256: fingerprint }).first('fingerprint_sha256'))) {
      await registerSenderCertificateBy(ctx.db, demo.enterpriseNumber, pem, by);
    }
  }
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** A minimal document sealed (never stored) by the readiness check: proves the sealing key and the TSA answer. */
const READINESS_PROBE_XML = `<EvidenceBundleManifest xmlns="${EVIDENCE_NS}"/>`;

/** Longest a shutdown waits for in-flight requests before closing their connections. */
const SHUTDOWN_GRACE_MS = 30_000;

export interface StartOptions {
  processMetrics?: boolean;
  /** One worker of several (`npm start`): scrapes serve the metrics of all workers, gathered by the primary. */
  clusterWorker?: boolean;
}

export async function startService(config: EpostConfig, options: StartOptions = {}): Promise<RunningService> {
  const metrics = new ServiceMetrics(options);
  const logger = createLogger(config.logLevel);
  const { ctx, devPki, tsa } = await assembleContext(config, metrics);
  const layout = pkiLayout(config.certsDir);
  const tls = { cert: fs.readFileSync(layout.tlsCert, 'utf8'), key: fs.readFileSync(layout.tlsKey, 'utf8') };
  for (const [name, file] of [['tls', layout.tlsCert], ['sealing', layout.sealingCert], ['tsa', layout.tsaCert]] as const) {
    metrics.watchCertificate(name, new Date(new X509Certificate(fs.readFileSync(file)).validTo));
  }
  metrics.watchCommits(() => ctx.sendTransactions.stats);
  metrics.watchQueues(async () => ({ log_records_unsequenced: await unsequencedRecordCount(ctx.db), ...(await batchChannelBacklog(ctx.db)) }));
  let accepting = true;
  const app = createApp(ctx, {
    metrics,
    logger,
    accepting: () => accepting,
    metricsText: options.clusterWorker ? clusterMetricsText(metrics.registry) : undefined,
    readiness: () =>
      checkReadiness({
        db: ctx.db,
        timestampProbe: (imprint) => tsa.timestamp(imprint),
        sealProbe: () => ctx.sealer.seal(READINESS_PROBE_XML),
      }),
  });
  const server = createHttpsServer(tls, app);
  // TLS clients are verified against the same anchors (and intermediates) as message signers.
  const mtlsServer = createMutualTlsServer(tls, [...readPemTexts(layout.anchorsDir), ...readPemTexts(layout.intermediatesDir)], app);
  const port = await listen(server, config.port, config.host);
  const mtlsPort = await listen(mtlsServer, config.mtlsPort, config.host);
  const host = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const purge = setInterval(() => void purgeExpiredReplayKeys(ctx.db, ctx.now()).catch(() => undefined), 60_000);
  purge.unref();
  // Messages past their retention leave the eBoxes, each with its expiry evidence.
  const expiry = setInterval(() => void expireDueMessages(ctx).catch((err) => logger.warn(`eBox expiry sweep failed: ${describeForOperator(err)}`)), config.retentionSweepSeconds * 1000);
  expiry.unref();
  // Batch-channel recipients: delivered mails into sealed batches, batches into outboxes, acknowledgements taken.
  // Several instances may run it at once: unique keys make one of them win and the others leave nothing.
  let batching: Promise<void> | undefined;
  const batches = setInterval(() => {
    batching ??= runBatchChannel(ctx, (message) => logger.warn(message)).finally(() => (batching = undefined));
  }, config.batchIntervalSeconds * 1000);
  batches.unref();
  ctx.audit.start();
  // SQLite: the WAL is copied into the database file off the event loop (storage/checkpointer.ts).
  const checkpointer = config.databaseUrl ? undefined : startWalCheckpointer(config.dbFile, (message) => logger.warn(message));
  return {
    ctx,
    server,
    mtlsServer,
    baseUrl: `https://${host}:${port}`,
    mtlsBaseUrl: `https://${host}:${mtlsPort}`,
    devPki,
    metrics,
    logger,
    async close() {
      accepting = false;
      clearInterval(purge);
      clearInterval(expiry);
      clearInterval(batches);
      await batching;
      const closed = Promise.all([server, mtlsServer].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      for (const s of [server, mtlsServer]) s.closeIdleConnections();
      const deadline = Date.now() + SHUTDOWN_GRACE_MS;
      while (metrics.inFlightCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const s of [server, mtlsServer]) s.closeAllConnections();
      await closed;
      await ctx.audit.stop();
      await checkpointer?.stop();
      await ctx.db.destroy();
    },
  };
}
