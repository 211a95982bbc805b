// Bulk sending from a manifest, as an institution runs it: `npm run send -- --batch` in its own
// process, interrupted with SIGKILL and resumed; nothing is sent twice and every proof is kept.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../../app/config/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { run } from '../helpers/run.js';
import { startTestService, type TestService } from '../helpers/service.js';

const DOCUMENTS = 1000;
const CONCURRENCY = 8;
const tsxLoader = pathToFileURL(path.join(projectRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')).href;

describe('bulk sending (npm run send -- --batch)', function () {
  this.timeout(10 * 60_000);
  let service: TestService;
  let work: string;

  before(async () => {
    service = await startTestService();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-bulk-'));
  });
  after(async () => service?.close());

  function cliArgs(manifest: string, out: string): string[] {
    const sender = service.devPki.senders[0]!;
    return [
      '--import', tsxLoader, path.join(projectRoot, 'scripts', 'send.ts'),
      '--url', service.baseUrl, '--cert', sender.certFile, '--key', sender.keyFile, '--ca', service.devPki.rootCaCert,
      '--batch', manifest, '--out', out, '--concurrency', String(CONCURRENCY),
    ];
  }

  async function acceptedSends(): Promise<number> {
    const metric = await service.metrics.soapRequests.get();
    return metric.values.filter((v) => v.labels.operation === 'SendRegisteredMail' && v.labels.outcome === 'accepted').reduce((n, v) => n + v.value, 0);
  }

  it(`sends ${DOCUMENTS} documents, survives SIGKILL, resumes, and sends nothing twice`, async () => {
    const docs = path.join(work, 'docs');
    fs.mkdirSync(docs);
    const rows = ['recipient,subject,file,language'];
    for (let i = 0; i < DOCUMENTS; i++) {
      const file = `letter-${i}.txt`;
      fs.writeFileSync(path.join(docs, file), `Letter number ${i}\n`);
      rows.push(`citizen:${ssinFrom(String(850730000 + i).padStart(9, '0'))},"Annual statement, ${i}",docs/${file},${['fr', 'nl', 'de', 'en'][i % 4]}`);
    }
    const manifest = path.join(work, 'manifest.csv');
    fs.writeFileSync(manifest, rows.join('\n') + '\n');
    const out = path.join(work, 'out');
    const sendsBefore = await acceptedSends();

    // First run: killed once a few hundred are done.
    const first = spawn(process.execPath, cliArgs(manifest, out), { stdio: ['ignore', 'pipe', 'pipe'] });
    const stateFile = path.join(out, 'state.jsonl');
    const exited = new Promise((r) => first.once('exit', r));
    while (!fs.existsSync(stateFile) || fs.readFileSync(stateFile, 'utf8').split('\n').length < 250) {
      await new Promise((r) => setTimeout(r, 50));
    }
    first.kill('SIGKILL');
    await exited;
    const doneBeforeKill = fs.readFileSync(stateFile, 'utf8').split('\n').filter(Boolean).length;
    expect(doneBeforeKill).to.be.lessThan(DOCUMENTS);

    // Second run: the same command finishes the rest.
    const second = await run(process.execPath, cliArgs(manifest, out), { timeoutMs: 8 * 60_000 });
    expect(second.status, second.stderr).to.equal(0);
    expect(second.stderr).to.match(/progress 100%: 1000\/1000 done/);
    expect(second.stderr).to.contain('from an earlier run');
    expect(second.stdout).to.contain(`Sent ${DOCUMENTS} of ${DOCUMENTS} (0 failed)`);

    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as { outcomes: { status: string; senderReference: string; registeredMailId: string; proofFile: string }[] };
    expect(report.outcomes).to.have.length(DOCUMENTS);
    expect(report.outcomes.every((o) => o.status === 'sent' && fs.existsSync(o.proofFile))).to.equal(true);
    expect(fs.readFileSync(path.join(out, 'report.csv'), 'utf8').trim().split('\n')).to.have.length(DOCUMENTS + 1);

    const references = report.outcomes.map((o) => o.senderReference);
    const mails = await service.ctx.db('registered_mails').whereIn('sender_reference', references).select('sender_reference', 'id');
    expect(mails, 'one mail per manifest row').to.have.length(DOCUMENTS);
    expect(new Set(mails.map((m) => m.id))).to.deep.equal(new Set(report.outcomes.map((o) => o.registeredMailId)));
    // Only the submissions in flight at the kill may have reached the service twice (and were then
    // answered from the original by idempotency).
    expect((await acceptedSends()) - sendsBefore).to.be.at.most(DOCUMENTS + CONCURRENCY);
  });

  it('refuses a manifest with problems before sending anything, naming every one', async () => {
    const manifest = path.join(work, 'bad.csv');
    fs.writeFileSync(manifest, 'recipient,subject,file\ncitizen:123,Hello,missing.txt\nsomeone:1,Hi,bad.csv\n');
    const before = await service.counts();
    const result = await run(process.execPath, cliArgs(manifest, path.join(work, 'bad-out')));
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.contain('line 2').and.contain('line 3');
    expect(await service.counts()).to.deep.equal(before);
  });
});
