// Reading the processing log: only a registered security advisor, authenticated by a TLS client
// certificate on the client-certificate listener, who states a purpose. Everyone else gets 403
// problem+json, and every consultation, granted or refused, is itself a record.
import { expect } from 'chai';
import { createHash, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { registerSecurityAdvisor, revokeSecurityAdvisor } from '../../app/access/securityAdvisors.js';
import { enterpriseNumberFrom } from '../../app/identifiers/index.js';
import { startTestService, testBackend, type TestService } from '../helpers/service.js';
import { CITIZEN, clientCertificate, httpsGet, lastRecordId, recordsAfter, submission } from './helpers.js';

const ENTERPRISE = enterpriseNumberFrom('04123456');
const PURPOSE = 'Complaint 2026-117: was the tax notice delivered?';
const fingerprint = (pem: string) => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');

describe(`the processing log API for security advisors (${testBackend})`, function () {
  let service: TestService;
  let advisor: { certPem: string; keyPem: string };
  let stranger: { certPem: string; keyPem: string };
  let citizenMailId: string;
  let sender: string;

  before(async () => {
    service = await startTestService({ EPOST_LOG_TREE_INTERVAL: '3600' });
    sender = service.devPki.senders[0]!.enterpriseNumber;
    advisor = await clientCertificate(service, 'Security Advisor One');
    stranger = await clientCertificate(service, 'Not An Advisor');
    await registerSecurityAdvisor(service.ctx.db, service.ctx.audit, { certificatePem: advisor.certPem, name: 'Security Advisor One', organisation: 'ePost' }, { executor: 'test administrator' });
    const client = service.client();
    citizenMailId = (await client.sendRegisteredMail(submission())).registeredMailId;
    await client.sendRegisteredMail(submission({ recipient: { kind: 'enterprise', enterpriseNumber: ENTERPRISE } }));
    await service.client(service.devPki.senders[1]!.slug).sendRegisteredMail(submission());
  });
  after(async () => service?.close());

  const recordsUrl = (query: Record<string, string> = {}) => `${service.mtlsBaseUrl}/log/records?${new URLSearchParams(query)}`;

  it('registering a security advisor is an administrative change in the log', async () => {
    const rows = await service.ctx.db('audit_records').where({ operation: 'AdministrativeChange' }).orderBy('id');
    const row = rows.find((r) => JSON.parse(r.details).change === 'securityAdvisor.register');
    expect(row).to.include({ outcome: 'completed', executor: 'test administrator' });
    expect(JSON.parse(row.details)).to.include({ change: 'securityAdvisor.register', fingerprint: fingerprint(advisor.certPem) });
  });

  it('an advisor who states a purpose reads records filtered by time range, organisation, recipient and operation; the consultation is a record', async () => {
    const before = await lastRecordId(service.ctx.db);
    const from = new Date(Date.now() - 60_000).toISOString();
    const answer = await httpsGet(service, recordsUrl({ from, to: new Date(Date.now() + 60_000).toISOString(), organisation: sender, recipient: CITIZEN, operation: 'SendRegisteredMail' }), {
      client: advisor,
      headers: { 'X-Purpose': PURPOSE },
    });
    expect(answer.status, answer.body).to.equal(200);
    const body = answer.json();
    expect(body.count).to.equal(1);
    expect(body.records[0]).to.include({ operation: 'SendRegisteredMail', responsible: sender, recipient: `citizen:${CITIZEN}`, registeredMailId: citizenMailId, outcome: 'accepted' });
    expect(body.records[0].payload.sha256).to.match(/^[0-9a-f]{64}$/);
    expect(body.records[0]).to.not.have.property('payloadBytes');

    const enterprise = (await httpsGet(service, recordsUrl({ recipient: `enterprise:${ENTERPRISE}`, purpose: PURPOSE }), { client: advisor })).json();
    expect(enterprise.records.map((r: { operation: string }) => r.operation).sort()).to.deep.equal(['DeliverIntoEbox', 'SendRegisteredMail']);
    const other = (await httpsGet(service, recordsUrl({ organisation: service.devPki.senders[1]!.enterpriseNumber, operation: 'DeliverIntoEbox', purpose: PURPOSE }), { client: advisor })).json();
    expect(other.count).to.equal(1);
    const future = (await httpsGet(service, recordsUrl({ from: new Date(Date.now() + 3_600_000).toISOString(), purpose: PURPOSE }), { client: advisor })).json();
    expect(future.count).to.equal(0);

    const consultations = await recordsAfter(service.ctx.db, before);
    expect(consultations).to.have.length(4);
    expect(consultations[0]).to.include({ operation: 'ConsultLog', outcome: 'accepted', purpose: PURPOSE, executor_fingerprint: fingerprint(advisor.certPem), responsible: 'ePost' });
    expect(consultations[0].executor).to.contain('Security Advisor One');
    expect(JSON.parse(consultations[0].details)).to.include({ organisation: sender, recipient: CITIZEN, operation: 'SendRegisteredMail', from, recordsReturned: 1 });
  });

  it('an advisor reads a record’s payload, the signed request, decrypted; that is a record too', async () => {
    const send = await service.ctx.db('audit_records').where({ registered_mail_id: citizenMailId, operation: 'SendRegisteredMail' }).first();
    const before = await lastRecordId(service.ctx.db);
    const answer = await httpsGet(service, `${service.mtlsBaseUrl}/log/records/${send.id}/payload`, { client: advisor, headers: { 'X-Purpose': PURPOSE } });
    expect(answer.status, answer.body).to.equal(200);
    const payload = Buffer.from(answer.json().payload, 'base64');
    expect(createHash('sha256').update(payload).digest('hex')).to.equal(send.payload_sha256);
    expect(payload.toString('utf8')).to.contain('SendRegisteredMailRequest');
    const [read] = await recordsAfter(service.ctx.db, before);
    expect(read).to.include({ operation: 'ReadLogPayload', outcome: 'accepted', registered_mail_id: citizenMailId, purpose: PURPOSE });
  });

  it('a certificate that is not an advisor’s gets 403 problem+json and a logged refusal', async () => {
    for (const who of [stranger, { certPem: fs.readFileSync(service.devPki.senders[0]!.certFile, 'utf8'), keyPem: fs.readFileSync(service.devPki.senders[0]!.keyFile, 'utf8') }]) {
      const before = await lastRecordId(service.ctx.db);
      const answer = await httpsGet(service, recordsUrl(), { client: who, headers: { 'X-Purpose': PURPOSE } });
      expect(answer.status).to.equal(403);
      expect(answer.contentType).to.contain('application/problem+json');
      expect(answer.json()).to.include({ status: 403, title: 'Forbidden' });
      expect(answer.body).to.not.contain(citizenMailId);
      const refusals = await recordsAfter(service.ctx.db, before);
      expect(refusals).to.have.length(1);
      expect(refusals[0]).to.include({ operation: 'ConsultLog', outcome: 'refused', disturbance_code: 'NotAuthorized', executor_fingerprint: fingerprint(who.certPem), purpose: PURPOSE });
    }
  });

  it('without a client certificate (the ordinary listener, administrators included) 403 and a logged refusal', async () => {
    const before = await lastRecordId(service.ctx.db);
    const answer = await httpsGet(service, `${service.baseUrl}/log/records?purpose=curiosity`);
    expect(answer.status).to.equal(403);
    expect(answer.contentType).to.contain('application/problem+json');
    const payload = await httpsGet(service, `${service.baseUrl}/log/records/1/payload?purpose=curiosity`);
    expect(payload.status).to.equal(403);
    const refusals = await recordsAfter(service.ctx.db, before);
    expect(refusals.map((r) => [r.operation, r.outcome, r.disturbance_code, r.executor])).to.deep.equal([
      ['ConsultLog', 'refused', 'NotAuthorized', null],
      ['ReadLogPayload', 'refused', 'NotAuthorized', null],
    ]);
  });

  it('an advisor without a stated purpose gets 403 and a logged refusal', async () => {
    const before = await lastRecordId(service.ctx.db);
    const answer = await httpsGet(service, recordsUrl(), { client: advisor, headers: { 'X-Purpose': '   ' } });
    expect(answer.status).to.equal(403);
    expect(answer.json().detail).to.match(/purpose/);
    const refusals = await recordsAfter(service.ctx.db, before);
    expect(refusals).to.have.length(1);
    expect(refusals[0]).to.include({ operation: 'ConsultLog', outcome: 'refused', disturbance_code: 'NotAuthorized', executor_fingerprint: fingerprint(advisor.certPem), purpose: null });
  });

  it('a revoked advisor is refused, and the revocation is an administrative change in the log', async () => {
    const former = await clientCertificate(service, 'Former Advisor');
    await registerSecurityAdvisor(service.ctx.db, service.ctx.audit, { certificatePem: former.certPem, name: 'Former Advisor', organisation: 'ePost' }, { executor: 'test administrator' });
    expect((await httpsGet(service, recordsUrl({ purpose: PURPOSE }), { client: former })).status).to.equal(200);
    await revokeSecurityAdvisor(service.ctx.db, service.ctx.audit, fingerprint(former.certPem), { executor: 'test administrator' });
    expect((await httpsGet(service, recordsUrl({ purpose: PURPOSE }), { client: former })).status).to.equal(403);
    const revocation = await service.ctx.db('audit_records').where({ operation: 'AdministrativeChange' }).orderBy('id', 'desc').first();
    expect(JSON.parse(revocation.details)).to.deep.equal({ change: 'securityAdvisor.revoke', fingerprint: fingerprint(former.certPem) });
  });
});
