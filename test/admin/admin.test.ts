// `npm run admin`, every noun and verb, run as an operator runs it (tsx, the service's configuration)
// against the running service: each verb succeeds with --json, each is refused with a one-line error
// and the right exit code (1 refused, 2 usage), and every change is an AdministrativeChange record
// with who made it. The many refusal variants are exercised on the functions the command calls.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import {
  authorise,
  authoriseOrganisation,
  certificatesExpiringWithin,
  expiringCertificates,
  organisationDetails,
  registerApplication,
  registerOrganisation,
  registerSenderCertificateBy,
  revokeApplication,
  senderForOrganisation,
  updateOrganisation,
  type AuthenticatedSender,
  type SenderAdministrator,
} from '../../app/access/index.js';
import { projectRoot } from '../../app/config/index.js';
import { EpostError } from '../../app/errors/index.js';
import { enterpriseNumberFrom, ssinFrom } from '../../app/identifiers/index.js';
import type { IssuedCertificate } from '../../app/pki/index.js';
import { run, type RunResult } from '../helpers/run.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { devCas, pemOf, post, senderCertificate, signedMail } from '../security/support.js';

const TSX = pathToFileURL(path.join(projectRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')).href;
const DAY = 86_400_000;

describe('npm run admin: every noun and verb', function () {
  this.timeout(120_000);
  let service: TestService;
  let work: string;
  let soon: IssuedCertificate; // expires in 10 days
  let later: IssuedCertificate; // expires in 200 days
  let advisor: IssuedCertificate;
  const org = enterpriseNumberFrom('03456789');
  const mandator = enterpriseNumberFrom('03456790');
  const person = ssinFrom('850730033');

  before(async function () {
    service = await startTestService();
    work = fs.mkdtempSync(path.join(service.certsDir, 'admin-'));
    const { senderCa } = await devCas(service);
    soon = await senderCertificate(senderCa, { subject: `CN=Payroll app, O=Admin test, 2.5.4.97=NTRBE-${org}, C=BE`, notAfter: new Date(Date.now() + 10 * DAY) });
    later = await senderCertificate(senderCa, { subject: 'CN=Letters, O=Admin test, C=BE', notAfter: new Date(Date.now() + 200 * DAY) });
    advisor = await senderCertificate(senderCa, { subject: 'CN=Advisor, O=ePost, C=BE' });
    fs.writeFileSync(path.join(work, 'soon.pem'), soon.certPem);
    fs.writeFileSync(path.join(work, 'later.pem'), later.certPem);
    fs.writeFileSync(path.join(work, 'advisor.pem'), advisor.certPem);
    fs.writeFileSync(path.join(work, 'not-a-cert.pem'), 'hello');
  });

  after(async function () {
    await service?.close();
  });

  function admin(...args: string[]): Promise<RunResult> {
    return adminAs('admin-test', ...args);
  }

  function adminAs(by: string, ...args: string[]): Promise<RunResult> {
    return run(process.execPath, ['--import', TSX, path.join(projectRoot, 'scripts', 'admin.ts'), ...args, '--by', by], {
      cwd: work,
      env: { ...process.env, EPOST_CERTS_DIR: service.certsDir, ...service.databaseEnv },
    });
  }

  async function json<T = any>(...args: string[]): Promise<T> {
    return jsonAs('admin-test', ...args);
  }

  async function jsonAs<T = any>(by: string, ...args: string[]): Promise<T> {
    const result = await adminAs(by, ...args, '--json');
    expect(result.status, `${args.join(' ')}: ${result.stderr}`).to.equal(0);
    return JSON.parse(result.stdout) as T;
  }

  async function changesBy(executor: string): Promise<string[]> {
    const records = await service.ctx.audit.records({ operation: 'AdministrativeChange' });
    return records
      .filter((r) => r.executor === executor)
      .map((r) => {
        const details = JSON.parse(r.details!);
        return details.change ?? `${details.noun}.${details.verb}`;
      });
  }

  it('runs every verb with --json, and records each change with who made it', async function () {
    // Two independent chains at once (two cores): readers and advisors, made by another operator.
    const readers = readerAndAdvisorVerbs();
    readers.catch(() => undefined); // awaited below; a failure there must not go unhandled meanwhile
    const registered = await json('organisation', 'register', '--enterprise-number', org, '--name-fr', 'Secrétariat social (test)', '--name-nl', 'Sociaal secretariaat (test)',
      '--name-de', 'Sozialsekretariat (test)', '--name-en', 'Social secretariat (test)', '--contact-email', 'ops@example.be');
    expect(registered).to.deep.include({ enterpriseNumber: org, name: 'Social secretariat (test)', allowedMessageTypes: null });
    expect(registered.names).to.deep.equal({ fr: 'Secrétariat social (test)', nl: 'Sociaal secretariaat (test)', de: 'Sozialsekretariat (test)', en: 'Social secretariat (test)' });
    expect(registered.contact).to.deep.equal({ email: 'ops@example.be', phone: null });

    const updated = await json('organisation', 'update', org, '--contact-phone', '+32 2 123 45 67');
    expect(updated.contact).to.deep.equal({ email: 'ops@example.be', phone: '+32 2 123 45 67' });

    const authorised = await json('organisation', 'authorise', org, '--operations', 'SendRegisteredMail', '--message-types', 'REGISTERED_MAIL');
    expect(authorised).to.deep.include({ allowedOperations: ['SendRegisteredMail'], allowedRecipientKinds: ['citizen', 'enterprise'], allowedMessageTypes: ['REGISTERED_MAIL'] });

    const application = await json('application', 'register', '--enterprise-number', org, '--name', 'Payroll');
    expect(application).to.include({ enterpriseNumber: org, name: 'Payroll', registeredBy: 'admin:admin-test', revokedAt: null });

    const attached = await json('certificate', 'register', '--enterprise-number', org, '--cert', 'soon.pem', '--application', application.id);
    expect(attached.applicationId).to.equal(application.id);
    const plain = await json('certificate', 'register', '--enterprise-number', org, '--cert', 'later.pem');
    expect(plain.applicationId).to.equal(null);
    expect((await json<any[]>('certificate', 'list', '--enterprise-number', org)).map((c) => c.fingerprintSha256).sort()).to.deep.equal([attached.fingerprintSha256, plain.fingerprintSha256].sort());

    // Expiry warnings: the 10-day certificate, not the 200-day one; the same figure for /metrics.
    expect((await json<any[]>('certificate', 'expiring', '--days', '30')).map((c) => c.fingerprintSha256)).to.deep.equal([attached.fingerprintSha256]);
    expect(await certificatesExpiringWithin(service.ctx.db, 30)).to.equal(1);
    expect(await certificatesExpiringWithin(service.ctx.db, 365)).to.be.at.least(2);

    // A message-type authorisation does not stop a send that names no message type (SOAP today).
    const sent = await post(service, signedMail(pemOf(later)));
    expect(sent.status, sent.body).to.equal(200);

    const shown = await json('organisation', 'show', org);
    expect(shown.applications.map((a: { id: string }) => a.id)).to.deep.equal([application.id]);
    expect(shown.certificates).to.have.length(2);
    expect((await json<any[]>('organisation', 'list')).find((o) => o.enterpriseNumber === org)).to.deep.include({ allowedMessageTypes: ['REGISTERED_MAIL'] });

    // Revoking the application revokes the certificates attached to it, not the others.
    const revokedApplication = await json('application', 'revoke', application.id, '--reason', 'replaced');
    expect(revokedApplication.revokedCertificates).to.deep.equal([attached.fingerprintSha256]);
    const stillValid = await service.ctx.db('sender_certificates').where({ enterprise_number: org }).whereNull('revoked_at').pluck('fingerprint_sha256');
    expect(stillValid).to.deep.equal([plain.fingerprintSha256]);
    const applications = await json<any[]>('application', 'list', '--enterprise-number', org, '--all');
    expect(applications.map((a) => [a.id, a.revokedBy])).to.deep.equal([[application.id, 'admin:admin-test']]);
    expect((await json('certificate', 'revoke', plain.fingerprintSha256)).revokedAt).to.be.a('string');

    await readers;

    expect(await changesBy('admin:admin-test')).to.deep.equal([
      'senderOrganisation.register',
      'senderOrganisation.update',
      'senderOrganisation.authorise',
      'senderApplication.register',
      'senderCertificate.register',
      'senderCertificate.register',
      'senderApplication.revoke',
      'senderCertificate.revoke',
    ]);
    expect(await changesBy('admin:admin-test-readers')).to.deep.equal([
      'securityAdvisor.register',
      'securityAdvisor.revoke',
      'message-type.define',
      'enterprise-user.add',
      'enterprise-user.remove',
      'mandate.create',
      'mandate.end',
    ]);
    const [authoriseRecord] = (await service.ctx.audit.records({ operation: 'AdministrativeChange', responsible: org })).filter((r) => JSON.parse(r.details!).change === 'senderOrganisation.authorise');
    expect(JSON.parse(authoriseRecord!.details!)).to.include({ allowedOperations: 'SendRegisteredMail', allowedMessageTypes: 'REGISTERED_MAIL' });
  });

  async function readerAndAdvisorVerbs(): Promise<void> {
    const reader = 'admin-test-readers';
    const advisorRegistered = await jsonAs(reader, 'advisor', 'register', '--cert', 'advisor.pem', '--name', 'Ada Advisor');
    expect((await jsonAs<any[]>(reader, 'advisor', 'list')).map((a) => a.fingerprint_sha256)).to.include(advisorRegistered.fingerprintSha256);
    expect(await jsonAs(reader, 'advisor', 'revoke', advisorRegistered.fingerprintSha256)).to.deep.equal({ fingerprintSha256: advisorRegistered.fingerprintSha256, revoked: true });

    expect(await jsonAs(reader, 'ebox', 'message-type', 'define', '--id', 'ADMIN_TEST', '--name-en', 'Admin test', '--name-fr', 'Test admin', '--retention-days', '90')).to.include({ id: 'ADMIN_TEST' });
    expect((await jsonAs<any[]>(reader, 'ebox', 'message-type', 'list')).map((t) => t.id)).to.include('ADMIN_TEST');
    expect(await jsonAs(reader, 'ebox', 'enterprise-user', 'add', '--enterprise-number', mandator, '--ssin', person)).to.include({ enterpriseNumber: mandator, ssin: person });
    expect((await jsonAs<any[]>(reader, 'ebox', 'enterprise-user', 'list', '--enterprise-number', mandator)).map((u) => u.ssin)).to.deep.equal([person]);
    expect(await jsonAs(reader, 'ebox', 'enterprise-user', 'remove', '--enterprise-number', mandator, '--ssin', person)).to.deep.equal({ removed: true });
    const mandate = await jsonAs(reader, 'ebox', 'mandate', 'create', '--mandator', mandator, '--mandatary-ssin', person, '--message-types', 'ADMIN_TEST', '--from', '2026-01-01');
    expect((await jsonAs<any[]>(reader, 'ebox', 'mandate', 'list', '--mandator', mandator)).map((m) => m.id)).to.deep.equal([mandate.id]);
    expect((await jsonAs(reader, 'ebox', 'mandate', 'end', mandate.id)).endedAt).to.be.a('string');

  }

  it('refuses each verb with a one-line error: exit 1 when refused, 2 on a usage mistake, and records nothing', async function () {
    const unknownOrg = enterpriseNumberFrom('09999999');
    // One refusal per noun and exit code at the command; the other verbs' refusals are checked on
    // the functions below (each process start costs seconds).
    const cases: Array<{ args: string[]; status: 1 | 2; error: RegExp }> = [
      { args: ['organisation', 'register', '--enterprise-number', '0123456789', '--name', 'X'], status: 1, error: /"0123456789" is not a valid enterprise number/ },
      { args: ['organisation', 'register', '--enterprise-number', unknownOrg, '--name', 'X', '--operations', 'Teleport'], status: 2, error: /"Teleport" is not one of the operations/ },
      { args: ['organisation', 'authorise', org, '--message-types', 'NO_SUCH_TYPE'], status: 1, error: /Unknown message type\(s\): NO_SUCH_TYPE/ },
      { args: ['application', 'revoke', 'no-such-application'], status: 1, error: /No application no-such-application is registered/ },
      { args: ['certificate', 'register', '--enterprise-number', org, '--cert', 'not-a-cert.pem'], status: 1, error: /not a readable X\.509 certificate/ },
      { args: ['certificate', 'revoke', 'zz'], status: 1, error: /"zz" is not a SHA-256 fingerprint/ },
      { args: ['certificate', 'expiring', '--days', 'soon'], status: 2, error: /--days must be a whole number of days/ },
      { args: ['advisor', 'revoke', 'ab'.repeat(32)], status: 1, error: /No active security advisor has the certificate/ },
      { args: ['advisor', 'list', '--colour'], status: 2, error: /Unknown option '--colour'/ },
      { args: ['ebox', 'message-type', 'define', '--id', 'X', '--name-en', 'X', '--retention-days', '0'], status: 1, error: /retention days must be an integer from 1 to 36525/ },
      { args: ['ebox', 'enterprise-user', 'remove', '--enterprise-number', mandator], status: 2, error: /--ssin is required/ },
      { args: ['ebox', 'mandate', 'end', 'no-such-mandate'], status: 1, error: /mandate/i },
      { args: ['teleport', 'now'], status: 2, error: /^error: usage: npm run admin -- organisation register/ },
    ];
    const before = (await changesBy('admin:admin-test')).length;
    // Two at a time (two cores); the refusals change nothing, so order does not matter.
    for (let i = 0; i < cases.length; i += 2) {
      await Promise.all(
        cases.slice(i, i + 2).map(async ({ args, status, error }) => {
          const result = await admin(...args, '--json');
          const label = args.join(' ');
          expect(result.status, `${label}: ${result.stderr}`).to.equal(status);
          expect(result.stderr.split('\n')[0], label).to.match(/^error: \S/);
          expect(result.stderr, label).to.match(error);
          const answer = JSON.parse(result.stdout) as { error: { code: string; message: string } };
          expect(answer.error.code, label).to.equal(status === 2 ? 'Usage' : 'InvalidRequest');
          // Refusals are one line; a usage mistake is followed by the usage text.
          if (status === 1) expect(result.stderr.trim().split('\n'), label).to.have.length(1);
        }),
      );
    }
    expect((await changesBy('admin:admin-test')).length).to.equal(before);
  });

  it('turns send-proof copies on and off with organisation update, shows them, records each change, and refuses a bad value', async function () {
    const by = 'admin-test-copies';
    const [on, refusedValue, refusedOrg] = await Promise.all([
      jsonAs(by, 'organisation', 'update', org, '--send-proof-copies', 'on'),
      adminAs(by, 'organisation', 'update', org, '--send-proof-copies', 'maybe', '--json'),
      adminAs(by, 'organisation', 'update', enterpriseNumberFrom('09999999'), '--send-proof-copies', 'on', '--json'),
    ]);
    expect(on).to.include({ enterpriseNumber: org, sendProofCopies: true });
    expect(refusedValue.status).to.equal(2);
    expect(refusedValue.stderr.split('\n')[0]).to.match(/^error: --send-proof-copies must be on or off, not "maybe"/);
    expect(refusedOrg.status).to.equal(1);
    expect(refusedOrg.stderr.trim()).to.match(/^error: No sender organisation \d+ is registered$/);
    // The authenticated sender carries the choice (certificate and SAML senders share the mapping).
    expect((await senderForOrganisation(service.ctx.db, org, 'CN=Payroll app', 'ab'.repeat(32))).sendProofCopies).to.equal(true);
    const shown = await adminAs(by, 'organisation', 'show', org);
    expect(shown.stdout).to.include('send-proof copies in its enterprise eBox: on');
    const off = await jsonAs(by, 'organisation', 'update', org, '--send-proof-copies', 'off');
    expect(off.sendProofCopies).to.equal(false);
    expect((await organisationDetails(service.ctx.db, org)).sendProofCopies).to.equal(false);
    const changes = (await service.ctx.audit.records({ operation: 'AdministrativeChange', responsible: org }))
      .filter((r) => r.executor === `admin:${by}`)
      .map((r) => JSON.parse(r.details!));
    expect(changes.map((d) => [d.change, d.sendProofCopies])).to.deep.equal([
      ['senderOrganisation.update', true],
      ['senderOrganisation.update', false],
    ]);
  });

  it('refuses the other mistakes at the functions the command calls, and enforces a message-type authorisation where a type is known', async function () {
    const by: SenderAdministrator = { executor: 'admin:function-test', log: service.ctx.audit };
    const other = enterpriseNumberFrom('03456791');
    const refusal = async (promise: Promise<unknown>, reason: RegExp): Promise<void> => {
      const err = await promise.then(() => undefined, (e: unknown) => e);
      expect(err, String(reason)).to.be.instanceOf(EpostError);
      expect((err as EpostError).code).to.equal('InvalidRequest');
      expect((err as EpostError).message).to.match(reason);
    };
    const base = { enterpriseNumber: other, allowedOperations: ['SendRegisteredMail' as const], allowedRecipientKinds: ['citizen' as const] };
    await refusal(registerOrganisation(service.ctx.db, { ...base }, by), /has a name/);
    await refusal(registerOrganisation(service.ctx.db, { ...base, names: { en: 'Other', nl: '  ' } }, by), /The nl name cannot be empty/);
    await refusal(registerOrganisation(service.ctx.db, { ...base, name: 'O', contactEmail: 'not-an-address' }, by), /is not an e-mail address/);
    await refusal(registerOrganisation(service.ctx.db, { ...base, name: 'O', contactPhone: 'call me' }, by), /is not a telephone number/);
    await refusal(registerOrganisation(service.ctx.db, { ...base, name: 'O', allowedOperations: ['Teleport' as never] }, by), /"Teleport" is not an operation/);
    await refusal(registerOrganisation(service.ctx.db, { ...base, name: 'O', allowedMessageTypes: [] }, by), /at least one message type/);
    const registered = await registerOrganisation(service.ctx.db, { ...base, names: { de: 'Andere (test)' } }, by);
    expect(registered.name).to.equal('Andere (test)');
    await refusal(updateOrganisation(service.ctx.db, other, {}, by), /Nothing to update/);
    await refusal(updateOrganisation(service.ctx.db, enterpriseNumberFrom('09999999'), { name: 'Y' }, by), /No sender organisation \d+ is registered/);
    await refusal(organisationDetails(service.ctx.db, enterpriseNumberFrom('09999999')), /No sender organisation \d+ is registered/);
    await refusal(expiringCertificates(service.ctx.db, -1), /"-1" is not a number of days/);
    await refusal(authoriseOrganisation(service.ctx.db, other, {}, by), /Nothing to authorise/);
    await refusal(authoriseOrganisation(service.ctx.db, other, { recipientKinds: [] }, by), /at least one operation and one recipient kind/);
    await refusal(authoriseOrganisation(service.ctx.db, other, { recipientKinds: ['robot' as never] }, by), /"robot" is not a recipient kind/);
    const app = await registerApplication(service.ctx.db, other, 'Mailroom', by);
    await refusal(registerApplication(service.ctx.db, other, 'Mailroom', by), /already has an application "Mailroom"/);
    await refusal(registerApplication(service.ctx.db, other, ' ', by), /An application has a name/);
    // Another organisation's application, a revoked one: no certificate is attached to either.
    const { senderCa } = await devCas(service);
    const cert = await senderCertificate(senderCa);
    await refusal(registerSenderCertificateBy(service.ctx.db, org, cert.certPem, by, { applicationId: app.id }), new RegExp(`No application ${app.id} of organisation ${org}`));
    await revokeApplication(service.ctx.db, app.id, by);
    await refusal(revokeApplication(service.ctx.db, app.id, by), /was already revoked/);
    await refusal(registerSenderCertificateBy(service.ctx.db, other, cert.certPem, by, { applicationId: app.id }), /was revoked on/);
    expect(await changesBy('admin:function-test')).to.deep.equal(['senderOrganisation.register', 'senderApplication.register', 'senderApplication.revoke']);

    // authorise(): the message-type restriction applies only where the request names a type.
    const sender = { enterpriseNumber: other, name: 'Andere', allowedOperations: ['SendRegisteredMail'], allowedRecipientKinds: ['citizen'], allowedMessageTypes: ['REGISTERED_MAIL'] } as AuthenticatedSender;
    expect(() => authorise(sender, 'SendRegisteredMail', 'citizen')).not.to.throw();
    expect(() => authorise(sender, 'SendRegisteredMail', 'citizen', 'REGISTERED_MAIL')).not.to.throw();
    expect(() => authorise(sender, 'SendRegisteredMail', 'citizen', 'ADMIN_TEST')).to.throw(EpostError, /may not send messages of type ADMIN_TEST/);
    expect(() => authorise({ ...sender, allowedMessageTypes: null }, 'SendRegisteredMail', 'citizen', 'ADMIN_TEST')).not.to.throw();
    expect(() => authorise(sender, 'SendRegisteredMail', 'enterprise')).to.throw(EpostError, /may not send to enterprise eBoxes/);
    expect(() => authorise(sender, 'GetProofOfDelivery')).to.throw(EpostError, /may not use GetProofOfDelivery/);
  });
});
