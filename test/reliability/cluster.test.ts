// `npm start` uses every core: the primary forks EPOST_WORKERS complete instances sharing the ports.
// Concurrent sends are served by more than one worker process, every acknowledged mail is stored
// once, the processing log the workers wrote together verifies, and /metrics counts for all workers.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SenderClient } from '../../app/client/index.js';
import { projectRoot } from '../../app/config/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { run } from '../helpers/run.js';
import { startTestService, testBackend, type TestService } from '../helpers/service.js';

const PARSE_SENDS = `
import sys
from prometheus_client.parser import text_string_to_metric_families
total = 0
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        if s.name == 'epost_soap_requests_total' and s.labels.get('operation') == 'SendRegisteredMail' and s.labels.get('outcome') == 'accepted':
            total += s.value
print(int(total))
`;

/** One GET on a fresh connection (so successive scrapes may reach different workers). */
function getText(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${res.statusCode}: ${body}`))));
      })
      .on('error', reject);
  });
}

const tsxLoader = pathToFileURL(path.join(projectRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')).href;

describe(`npm start with worker processes (${testBackend})`, function () {
  this.timeout(180_000);
  let setup: TestService;
  before(async () => {
    setup = await startTestService();
  });
  after(async () => setup?.close());

  it('serves concurrent sends from two workers, stores each once, and the shared log verifies', async () => {
    const env = { ...process.env, ...setup.databaseEnv, EPOST_CERTS_DIR: setup.certsDir, EPOST_PORT: '0', EPOST_MTLS_PORT: '0', EPOST_WORKERS: '2' };
    const primary = spawn(process.execPath, ['--import', tsxLoader, path.join(projectRoot, 'app', 'main.ts')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    primary.stdout.on('data', (d: Buffer) => (out += d.toString()));
    primary.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => primary.once('exit', r));
    try {
      const deadline = Date.now() + 60_000;
      while (!/listening on (https:\/\/\S+) \(2 worker processes\)/.test(out)) {
        if (Date.now() > deadline) throw new Error(`no banner:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const baseUrl = /listening on (https:\/\/\S+)/.exec(out)![1]!;
      // Let the second worker finish starting before the load.
      await new Promise((r) => setTimeout(r, 3000));
      const sender = setup.devPki.senders[0]!;
      const client = new SenderClient({
        baseUrl,
        certificatePem: fs.readFileSync(sender.certFile, 'utf8'),
        privateKeyPem: fs.readFileSync(sender.keyFile, 'utf8'),
        tlsCaPem: setup.rootCaPem,
      });
      const references = Array.from({ length: 24 }, () => `cluster-${randomUUID()}`);
      const sent = await Promise.all(
        references.map((senderReference) =>
          client.sendRegisteredMail({
            senderReference,
            recipient: { kind: 'citizen', ssin: ssinFrom('850730033') },
            subject: 'Served by a worker',
            document: { fileName: 'w.txt', mimeType: 'text/plain', content: Buffer.from(senderReference) },
          }),
        ),
      );
      expect(new Set(sent.map((s) => s.registeredMailId)).size).to.equal(references.length);
      const mails = await setup.ctx.db('registered_mails').whereIn('sender_reference', references);
      expect(mails).to.have.length(references.length);
      const pids = new Set(
        out
          .split('\n')
          .filter((line) => line.includes('"soap request"'))
          .map((line) => (JSON.parse(line) as { pid: number }).pid),
      );
      expect(pids.size, 'worker processes that answered').to.equal(2);

      // Whichever worker a scrape reaches, /metrics counts the sends of both (gathered by the primary),
      // as the Prometheus project's own parser reads it.
      for (let scrape = 0; scrape < 4; scrape++) {
        const text = await getText(`${baseUrl}/metrics`, setup.rootCaPem);
        const parsed = await run('/usr/bin/python3', ['-c', PARSE_SENDS], { input: text });
        expect(parsed.status, parsed.stderr).to.equal(0);
        expect(Number(parsed.stdout.trim()), text.slice(0, 2000)).to.equal(references.length);
      }
    } finally {
      primary.kill('SIGTERM');
      await exited;
    }
    await setup.ctx.audit.sealNow();
    const audit = await run(process.execPath, ['--import', tsxLoader, path.join(projectRoot, 'scripts', 'audit.ts'), 'verify'], {
      env: { ...process.env, ...setup.databaseEnv, EPOST_CERTS_DIR: setup.certsDir },
    });
    expect(audit.status, audit.stdout + audit.stderr).to.equal(0);
  });
});
