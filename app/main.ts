// `npm start`: the service on its embedded defaults (SQLite under db/, a development PKI under
// certs/, the built-in timestamping authority), with the exact command to send a first mail.
import path from 'node:path';
import { loadConfig, projectRoot } from './config/index.js';
import { ssinFrom } from './identifiers/index.js';
import { startService } from './service.js';

const config = loadConfig();
const service = await startService(config, { processMetrics: true });
const relative = (p: string) => path.relative(projectRoot, p) || '.';

console.log(`ePost registered-mail service listening on ${service.baseUrl}`);
console.log(`  WSDL:      ${service.baseUrl}/soap/RegisteredMail?wsdl`);
console.log(`  client-certificate (2-way TLS) listener: ${service.mtlsBaseUrl}`);
console.log(`  database:  ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : relative(config.dbFile)}`);
console.log(`  certs:     ${relative(config.certsDir)}`);
const demo = service.devPki?.senders[0];
if (demo) {
  console.log('');
  console.log('Send a first registered mail (development PKI, demo sender ' + demo.name + '):');
  console.log(
    `  npm run send -- --cert ${relative(demo.certFile)} --key ${relative(demo.keyFile)} ` +
      `--to citizen:${ssinFrom('850730033')} --file README.md --subject "My first registered mail"`,
  );
  console.log('then fetch its proofs with:  npm run proofs -- <RegisteredMailId>');
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`${signal}: closing`);
    void service.close().then(() => process.exit(0));
  });
}
