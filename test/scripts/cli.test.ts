// The command-line scripts, run as a newcomer runs them (tsx, real HTTPS), against the real service.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../../app/config/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { run } from '../helpers/run.js';
import { verifyProofIndependently } from '../helpers/independentVerifiers.js';
import { pkiLayout, startTestService, type TestService } from '../helpers/service.js';

describe('npm run send / npm run proofs', function () {
  let service: TestService;
  let work: string;
  before(async () => {
    service = await startTestService();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-cli-'));
  });
  after(async () => service?.close());

  function script(name: string, args: string[]) {
    const sender = service.devPki.senders[0]!;
    const connection = ['--url', service.baseUrl, '--cert', sender.certFile, '--key', sender.keyFile, '--ca', service.devPki.rootCaCert];
    return run(process.execPath, ['--import', pathToFileURL(path.join(projectRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')).href, path.join(projectRoot, 'scripts', `${name}.ts`), ...connection, ...args], {
      cwd: work,
      env: { ...process.env, EPOST_CERTS_DIR: service.certsDir },
    });
  }

  it('sends a file as registered mail, writes the send-proof, then fetches both proofs', async () => {
    const file = path.join(work, 'letter.txt');
    fs.writeFileSync(file, 'Dear citizen, this is a registered letter.\n');
    const sent = await script('send', ['--to', `citizen:${ssinFrom('850730033')}`, '--file', file, '--subject', 'CLI letter']);
    expect(sent.status, sent.stderr).to.equal(0);
    const id = /RegisteredMailId: (\S+)/.exec(sent.stdout)?.[1];
    expect(id).to.match(/^[0-9a-f-]{36}$/);
    const sendProofFile = path.join(work, `${id}.send-proof.xml`);
    expect(fs.existsSync(sendProofFile)).to.equal(true);

    const fetched = await script('proofs', [id!, '--out-dir', path.join(work, 'proofs')]);
    expect(fetched.status, fetched.stderr).to.equal(0);
    expect(fetched.stdout).to.contain('Status:         DELIVERED');
    const deliveryProof = fs.readFileSync(path.join(work, 'proofs', `${id}.delivery-proof.xml`));
    const verdict = verifyProofIndependently(deliveryProof, service.devPki.rootCaCert, pkiLayout(service.certsDir).tsaCert);
    expect(verdict.xmlsec1.ok, verdict.xmlsec1.output).to.equal(true);
    expect(fs.readFileSync(path.join(work, 'proofs', `${id}.send-proof.xml`)).equals(fs.readFileSync(sendProofFile))).to.equal(true);
  });

  it('prints a refusal as one readable line and exits non-zero', async () => {
    const file = path.join(work, 'letter.txt');
    fs.writeFileSync(file, 'x');
    const refused = await script('send', ['--to', 'citizen:12345678901', '--file', file, '--subject', 'bad recipient']);
    expect(refused.status).to.equal(1);
    expect(refused.stderr).to.match(/ePost refused the request: epost:InvalidRecipient: .+/);
    expect(refused.stderr).to.not.match(/\n\s+at /);
  });
});
