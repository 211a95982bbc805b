// `npm start` uses every core: the primary forks EPOST_WORKERS complete instances sharing the ports.
// Concurrent sends are served by more than one worker process, every acknowledged mail is stored
// once, and the processing log the workers wrote together verifies.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SenderClient } from '../../app/client/index.js';
import { projectRoot } from '../../app/config/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { run } from '../helpers/run.js';
import { startTestService, testBackend, type TestService } from '../helpers/service.js';

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
