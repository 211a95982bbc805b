// The sender's proofs over HTTPS: the evidence bundle (verified offline with `npm run verify`, the
// document included) and the PDF reproduction; only for the mail's own sender, authenticated by its
// registered certificate on the client-certificate listener.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../../app/config/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { run } from '../helpers/run.js';
import { startTestService, testBackend, type TestService } from '../helpers/service.js';

describe(`sender proof exports over HTTPS (${testBackend})`, function () {
  let service: TestService;
  let registeredMailId: string;
  const content = Buffer.from(`exported document ${randomUUID()}`);

  before(async () => {
    service = await startTestService();
    registeredMailId = (
      await service.client().sendRegisteredMail({
        senderReference: `export-${randomUUID()}`,
        recipient: { kind: 'citizen', ssin: ssinFrom('850730033') },
        subject: 'Exported',
        document: { fileName: 'e.txt', mimeType: 'text/plain', content },
      })
    ).registeredMailId;
  });
  after(async () => service?.close());

  function get(baseUrl: string, urlPath: string, senderIndex?: number): Promise<{ status: number; type: string; body: Buffer }> {
    const sender = senderIndex === undefined ? undefined : service.devPki.senders[senderIndex]!;
    return new Promise((resolve, reject) => {
      https
        .get(
          new URL(urlPath, baseUrl),
          { ca: service.rootCaPem, ...(sender ? { cert: fs.readFileSync(sender.certFile), key: fs.readFileSync(sender.keyFile) } : {}) },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
          },
        )
        .on('error', reject);
    });
  }

  it('gives the sender a bundle with the document that `npm run verify` accepts offline', async () => {
    const answer = await get(service.mtlsBaseUrl, `/proofs/${registeredMailId}/bundle?document=true`, 0);
    expect(answer.status, answer.body.toString()).to.equal(200);
    expect(answer.type).to.match(/^application\/zip/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-export-'));
    fs.writeFileSync(path.join(dir, 'bundle.zip'), answer.body);
    fs.writeFileSync(path.join(dir, 'e.txt'), content);
    const tsx = pathToFileURL(path.join(projectRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')).href;
    const verified = await run(process.execPath, ['--import', tsx, path.join(projectRoot, 'scripts', 'verify.ts'), path.join(dir, 'bundle.zip'), '--anchor', service.devPki.rootCaCert, '--document', path.join(dir, 'e.txt')]);
    expect(verified.status, verified.stdout + verified.stderr).to.equal(0);
    expect(verified.stdout).to.contain('VALID');
  });

  it('gives the sender the PDF reproduction', async () => {
    const answer = await get(service.mtlsBaseUrl, `/proofs/${registeredMailId}/reproduction`, 0);
    expect(answer.status).to.equal(200);
    expect(answer.type).to.match(/^application\/pdf/);
    expect(answer.body.subarray(0, 5).toString()).to.equal('%PDF-');
  });

  it('answers another sender as for an unknown mail, and a caller without a certificate with 401', async () => {
    const foreign = await get(service.mtlsBaseUrl, `/proofs/${registeredMailId}/bundle`, 1);
    const unknown = await get(service.mtlsBaseUrl, `/proofs/${randomUUID()}/bundle`, 1);
    expect(foreign.status).to.equal(404);
    expect(JSON.parse(foreign.body.toString()).detail).to.equal(JSON.parse(unknown.body.toString()).detail);
    const anonymous = await get(service.baseUrl, `/proofs/${registeredMailId}/bundle`);
    expect(anonymous.status).to.equal(401);
    expect(anonymous.type).to.match(/^application\/problem\+json/);
  });
});
