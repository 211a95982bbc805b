// Sender certificate lifecycle with `npm run admin`, run as an operator runs it (tsx, the service's
// configuration), against the running service: register an organisation and a certificate, list
// them, revoke the certificate, and see the very next request refused whatever the CRL says.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { projectRoot } from '../../app/config/index.js';
import { enterpriseNumberFrom } from '../../app/identifiers/index.js';
import { run, type RunResult } from '../helpers/run.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { devCas, expectRefusal, pemOf, post, senderCertificate, signedMail } from './support.js';

const TSX = pathToFileURL(path.join(projectRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')).href;

describe('Sender certificate lifecycle (npm run admin)', function () {
  let service: TestService;
  let work: string;
  const enterpriseNumber = enterpriseNumberFrom('07654321');

  before(async function () {
    service = await startTestService();
    work = fs.mkdtempSync(path.join(service.certsDir, 'admin-'));
  });

  after(async function () {
    await service?.close();
  });

  function admin(...args: string[]): Promise<RunResult> {
    return run(process.execPath, ['--import', TSX, path.join(projectRoot, 'scripts', 'admin.ts'), ...args, '--by', 'security-test'], {
      cwd: work,
      env: { ...process.env, EPOST_CERTS_DIR: service.certsDir, ...service.databaseEnv },
    });
  }

  function json<T>(result: RunResult): T {
    expect(result.status, result.stderr).to.equal(0);
    return JSON.parse(result.stdout) as T;
  }

  it('registers an organisation and a certificate, lists them, and the certificate can send', async function () {
    const org = json<{ enterpriseNumber: string; allowedOperations: string[] }>(
      await admin('organisation', 'register', '--enterprise-number', enterpriseNumber, '--name', 'City of Liège (test)', '--operations', 'SendRegisteredMail', '--json'),
    );
    expect(org).to.include({ enterpriseNumber });
    expect(org.allowedOperations).to.deep.equal(['SendRegisteredMail']);
    expect(json<{ enterpriseNumber: string }[]>(await admin('organisation', 'list', '--json')).map((o) => o.enterpriseNumber)).to.include(enterpriseNumber);

    const { senderCa } = await devCas(service);
    const certificate = await senderCertificate(senderCa, { subject: `CN=Liège sender, O=City of Liège (test), 2.5.4.97=NTRBE-${enterpriseNumber}, C=BE` });
    fs.writeFileSync(path.join(work, 'liege.pem'), certificate.certPem);
    const registered = json<{ fingerprintSha256: string; revokedAt: string | null }>(
      await admin('certificate', 'register', '--enterprise-number', enterpriseNumber, '--cert', 'liege.pem', '--json'),
    );
    expect(registered.fingerprintSha256).to.equal(Buffer.from(await certificate.certificate.getThumbprint('SHA-256')).toString('hex'));
    expect(registered.revokedAt).to.equal(null);
    expect((await admin('certificate', 'list')).stdout).to.contain(registered.fingerprintSha256);

    const accepted = await post(service, signedMail(pemOf(certificate)));
    expect(accepted.status, accepted.body).to.equal(200);

    // Revoked in the database: refused at once, although its CA's CRL still says it is good.
    const revoked = json<{ revokedAt: string }>(await admin('certificate', 'revoke', registered.fingerprintSha256.slice(0, 20), '--reason', 'key lost', '--json'));
    expect(revoked.revokedAt).to.be.a('string');
    await expectRefusal(service, () => post(service, signedMail(pemOf(certificate))), 'FailedAuthentication', /not registered/);
    const all = json<{ revokedAt: string | null }[]>(await admin('certificate', 'list', '--enterprise-number', enterpriseNumber, '--all', '--json'));
    expect(all.map((c) => c.revokedAt)).to.deep.equal([revoked.revokedAt]);

    // A revocation is final, and every change was recorded with who made it.
    const again = await admin('certificate', 'register', '--enterprise-number', enterpriseNumber, '--cert', 'liege.pem');
    expect(again.status).to.equal(1);
    expect(again.stderr).to.match(/^error: The certificate [0-9a-f]{64} was revoked on .*; a revocation is final/);
    const changes = (await service.ctx.audit.records({ operation: 'AdministrativeChange', responsible: enterpriseNumber })).map((r) => [r.executor, JSON.parse(r.details!).change]);
    expect(changes).to.deep.equal([
      ['admin:security-test', 'senderOrganisation.register'],
      ['admin:security-test', 'senderCertificate.register'],
      ['admin:security-test', 'senderCertificate.revoke'],
    ]);
  });

  it('refuses, with one clear line and exit code 1, another organisation\'s certificate, an unknown one, and one the gate would refuse', async function () {
    const finance = service.devPki.senders[0]!;
    const other = await admin('certificate', 'register', '--enterprise-number', enterpriseNumber, '--cert', finance.certFile);
    expect(other.status).to.equal(1);
    expect(other.stderr).to.match(/^error: The certificate names organisation \d{10} \(organizationIdentifier\), not \d{10}\n$/);

    const unknown = await admin('certificate', 'revoke', 'ab'.repeat(32), '--json');
    expect(unknown.status).to.equal(1);
    expect(JSON.parse(unknown.stdout)).to.deep.equal({ error: { code: 'InvalidRequest', message: `No sender certificate ${'ab'.repeat(32)} is registered` } });

    const { senderCa } = await devCas(service);
    const expired = await senderCertificate(senderCa, { notBefore: new Date(Date.now() - 30 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    fs.writeFileSync(path.join(work, 'expired.pem'), expired.certPem);
    const refused = await admin('certificate', 'register', '--enterprise-number', enterpriseNumber, '--cert', 'expired.pem');
    expect(refused.status).to.equal(1);
    expect(refused.stderr).to.match(/not acceptable as a sender certificate: .*expired/);
    expect(refused.stderr).to.not.match(/\n\s+at /);
  });

  it('answers a wrong command with its usage and exit code 2', async function () {
    const wrong = await admin('certificate', 'delete');
    expect(wrong.status).to.equal(2);
    expect(wrong.stderr).to.match(/usage: npm run admin -- organisation register/);
  });

  it('registers, lists and revokes a security advisor, each change recorded with who made it', async function () {
    const { senderCa } = await devCas(service);
    const advisor = await senderCertificate(senderCa, { subject: 'CN=Advisor Test, O=ePost, C=BE' });
    fs.writeFileSync(path.join(work, 'advisor.pem'), advisor.certPem);
    const registered = json<{ fingerprintSha256: string }>(await admin('advisor', 'register', '--cert', 'advisor.pem', '--name', 'Advisor Test', '--json'));
    expect(registered.fingerprintSha256).to.match(/^[0-9a-f]{64}$/);
    expect((await admin('advisor', 'list')).stdout).to.contain(registered.fingerprintSha256);
    expect((await admin('advisor', 'register', '--cert', 'missing.pem')).status).to.equal(1);
    expect((await admin('advisor', 'register')).status).to.equal(2);
    json(await admin('advisor', 'revoke', registered.fingerprintSha256, '--json'));
    const listed = json<{ fingerprint_sha256: string; revoked_at: string | null }[]>(await admin('advisor', 'list', '--json'));
    expect(listed.find((a) => a.fingerprint_sha256 === registered.fingerprintSha256)?.revoked_at).to.be.a('string');
    const changes = (await service.ctx.audit.records({ operation: 'AdministrativeChange' }))
      .map((r) => [r.executor, JSON.parse(r.details!).change])
      .filter(([, change]) => String(change).startsWith('securityAdvisor'));
    expect(changes).to.deep.equal([
      ['admin:security-test', 'securityAdvisor.register'],
      ['admin:security-test', 'securityAdvisor.revoke'],
    ]);
  });
});
