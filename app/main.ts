// `npm start`: the service on its embedded defaults (SQLite under db/, a development PKI under
// certs/, the built-in timestamping authority), with the exact command to send a first mail.
// It uses every core: a primary process prepares the PKI and the database once, then forks
// EPOST_WORKERS processes that share the listening ports. Each worker is a complete instance; the
// database keeps them consistent (replay keys, idempotency, the processing log), exactly as for
// several instances behind a load balancer.
import cluster from 'node:cluster';
import path from 'node:path';
import { loadConfig, projectRoot, type EpostConfig } from './config/index.js';
import { ssinFrom } from './identifiers/index.js';
import { serveClusterMetrics } from './operations/index.js';
import type { DevPkiManifest } from './pki/index.js';
import { assembleContext, startService } from './service.js';

interface Listening {
  baseUrl: string;
  mtlsBaseUrl: string;
}

const relative = (p: string) => path.relative(projectRoot, p) || '.';

function printBanner(config: EpostConfig, listening: Listening, devPki: DevPkiManifest | undefined, workers: number): void {
  console.log(`ePost registered-mail service listening on ${listening.baseUrl} (${workers} worker process${workers > 1 ? 'es' : ''})`);
  console.log(`  WSDL:      ${listening.baseUrl}/soap/RegisteredMail?wsdl`);
  console.log(`  client-certificate (2-way TLS) listener: ${listening.mtlsBaseUrl}`);
  console.log(`  database:  ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : relative(config.dbFile)}`);
  console.log(`  certs:     ${relative(config.certsDir)}`);
  const demo = devPki?.senders[0];
  if (demo) {
    console.log('');
    console.log('Send a first registered mail (development PKI, demo sender ' + demo.name + '):');
    console.log(
      `  npm run send -- --cert ${relative(demo.certFile)} --key ${relative(demo.keyFile)} ` +
        `--to citizen:${ssinFrom('850730033')} --file README.md --subject "My first registered mail"`,
    );
    console.log('then fetch its proofs with:  npm run proofs -- <RegisteredMailId>');
  }
}

/** One complete instance: serves until SIGTERM/SIGINT (graceful) or until its primary goes away. */
async function runInstance(config: EpostConfig): Promise<void> {
  const service = await startService(config, { processMetrics: true, clusterWorker: cluster.isWorker });
  const listening = { baseUrl: service.baseUrl, mtlsBaseUrl: service.mtlsBaseUrl };
  if (cluster.isWorker) process.send!({ listening });
  else printBanner(config, listening, service.devPki, 1);
  let closing = false;
  const close = (code: number) => {
    if (closing) return;
    closing = true;
    void service.close().finally(() => process.exit(code));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => close(0));
  // A worker whose primary died stops taking requests and finishes what it has.
  if (cluster.isWorker) process.once('disconnect', () => close(1));
}

/** Prepares the PKI, the database and the demo registrations once, then forks and supervises workers. */
async function runPrimary(config: EpostConfig): Promise<void> {
  const { ctx, devPki } = await assembleContext(config);
  await ctx.db.destroy();
  serveClusterMetrics();
  let shuttingDown = false;
  let announced = false;
  const fork = () => {
    const worker = cluster.fork();
    worker.on('message', (message: { listening?: Listening }) => {
      if (message.listening && !announced) {
        announced = true;
        printBanner(config, message.listening, devPki, config.workers);
      }
    });
  };
  cluster.on('exit', (worker, code, signal) => {
    if (shuttingDown) return;
    console.error(`worker ${worker.process.pid} ended (${signal ?? code}); starting another`);
    fork();
  });
  for (let i = 0; i < config.workers; i++) fork();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      shuttingDown = true;
      console.log(`${signal}: closing ${config.workers} workers`);
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
      const wait = setInterval(() => {
        if (Object.keys(cluster.workers ?? {}).length === 0) {
          clearInterval(wait);
          process.exit(0);
        }
      }, 50);
    });
  }
}

const config = loadConfig();
if (config.workers > 1 && cluster.isPrimary) await runPrimary(config);
else await runInstance(config);
