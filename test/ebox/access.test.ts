// Who may read which eBox, over real mutual TLS against the real service: a citizen reads their own
// eBox and nothing of another's; an enterprise user reads their enterprise's; a mandatary reads within
// the scope and period of a mandate and is refused outside it and after it ends; every read is
// recorded with the reader and the mandate used; mandates are managed by the admin command, logged.
import { expect } from 'chai';
import fs from 'node:fs';
import { addEnterpriseUser } from '../../app/access/enterpriseUsers.js';
import { defineMessageType, issueReaderCertificate } from '../../app/ebox/index.js';
import { enterpriseNumberFrom, ssinFrom } from '../../app/identifiers/index.js';
import { loadIssuer } from '../../app/pki/index.js';
import { runEboxCommand } from '../../scripts/admin/ebox.js';
import { CITIZEN_BASE, ENTERPRISE_BASE, ReaderClient, readerFor, records, sendMail, startEboxService, type EboxTestBed, type SentMail } from './helpers.js';

const OTHER_CITIZEN = ssinFrom('920412311');
const MANDATARY_PERSON = ssinFrom('750101002');
const SECRETARIAT = enterpriseNumberFrom('08765432'); // a social secretariat: an organisation mandatary
const SECRETARIAT_CLERK = ssinFrom('880606123');
const NSSO_TYPE = 'NSSO_CONTRIBUTIONS';
const DAY = 24 * 3600 * 1000;

describe('eBox readers and their rights (mutual TLS, development readers)', function () {
  let bed: EboxTestBed;
  let employer: string;
  let own: SentMail;
  let others: SentMail;
  let financeToEmployer: SentMail;
  let nssoToEmployer: SentMail;
  const admin = () => ({ db: bed.service.ctx.db, audit: bed.service.ctx.audit, now: () => bed.service.ctx.now() });

  before(async () => {
    bed = await startEboxService();
    employer = bed.readers.enterpriseUser.enterpriseNumber;
    const nsso = bed.service.devPki.senders[1]!;
    await defineMessageType(admin(), { id: NSSO_TYPE, senderEnterpriseNumber: nsso.enterpriseNumber, name: { fr: 'Cotisations ONSS', nl: 'RSZ-bijdragen', en: 'NSSO contributions' } }, 'test set-up');
    own = await sendMail(bed.service, { kind: 'citizen', ssin: bed.readers.citizen.ssin }, { subject: 'Own mail' });
    others = await sendMail(bed.service, { kind: 'citizen', ssin: OTHER_CITIZEN }, { subject: 'Someone else' });
    financeToEmployer = await sendMail(bed.service, { kind: 'enterprise', enterpriseNumber: employer }, { subject: 'Withholding tax' });
    nssoToEmployer = await sendMail(bed.service, { kind: 'enterprise', enterpriseNumber: employer }, { sender: nsso.slug, subject: 'Quarterly contributions' });
  });
  after(async () => bed?.service.close());

  describe('a citizen', () => {
    it('reads their own eBox and its registered mail', async () => {
      const list = await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages`);
      expect(list.status, list.text()).to.equal(200);
      expect(list.json().items.map((m: { messageId: string }) => m.messageId)).to.deep.equal([own.messageId]);
      const one = await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages/${own.messageId}`);
      expect(one.status).to.equal(200);
      expect(one.json()).to.include({ messageId: own.messageId, registeredMail: true });
      const content = await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages/${own.messageId}/attachments/document/content`);
      expect(content.status).to.equal(200);
      expect(content.body.equals(own.content)).to.equal(true);
    });

    it("gets the same 404 for another citizen's message as for an unknown id, and never its content", async () => {
      const foreign = await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages/${others.messageId}`);
      const unknown = await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages/00000000-0000-4000-8000-000000000000`);
      expect(foreign.status).to.equal(404);
      expect(unknown.status).to.equal(404);
      const strip = (a: { json(): any }) => ({ ...a.json(), id: undefined });
      expect(strip(foreign)).to.deep.equal(strip(unknown));
      for (const path of ['attachments', 'attachments/document', 'attachments/document/content']) {
        const answer = await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages/${others.messageId}/${path}`);
        expect(answer.status, path).to.equal(404);
        expect(answer.body.includes(others.content)).to.equal(false);
      }
      const row = await bed.service.ctx.db('ebox_messages').where({ id: others.messageId }).first('read_at');
      expect(row.read_at, "another's message stays unread").to.equal(null);
    });

    it('cannot open an enterprise eBox without a role or a mandate (401)', async () => {
      const answer = await bed.citizen.get(`${ENTERPRISE_BASE}/ebox/messages`, { 'Ebox-Enterprise-Number': employer });
      expect(answer.status).to.equal(401);
      expect(answer.text()).to.not.include(financeToEmployer.messageId);
    });

    it('is refused (401) without a client certificate and on the ordinary listener', async () => {
      const anonymous = new ReaderClient(bed.service.mtlsBaseUrl, bed.service.rootCaPem);
      const handshake = await anonymous.get(`${CITIZEN_BASE}/ebox`).catch((e: Error) => e);
      expect(handshake, 'the client-certificate listener completes no handshake without one').to.be.instanceOf(Error);
      const ordinary = await bed.citizen.at(bed.service.baseUrl).get(`${CITIZEN_BASE}/ebox/messages`);
      expect(ordinary.status).to.equal(401);
    });

    it('is refused (401) with a certificate naming an SSIN from a CA not trusted to assert SSINs', async () => {
      const senderCa = await loadIssuer(fs.readFileSync(bed.service.devPki.senderCaCert, 'utf8'), fs.readFileSync(bed.service.devPki.senderCaKey, 'utf8'));
      const forged = await issueReaderCertificate(senderCa, { ssin: bed.readers.citizen.ssin, name: 'Forged Citizen' });
      const client = new ReaderClient(bed.service.mtlsBaseUrl, bed.service.rootCaPem, { cert: forged.certPem, key: forged.keyPem });
      const answer = await client.get(`${CITIZEN_BASE}/ebox/messages`);
      expect(answer.status).to.equal(401);
      expect(answer.text()).to.not.include(own.messageId);
      const refused = (await records(bed.service, 'ListEboxMessages')).filter((r) => r.outcome === 'refused' && r.executor_fingerprint);
      expect(refused.some((r) => String(r.executor).includes('Forged Citizen'))).to.equal(true);
    });
  });

  describe('an enterprise user', () => {
    it("reads their enterprise's eBox, every message type", async () => {
      const list = await bed.enterpriseUser.get(`${ENTERPRISE_BASE}/ebox/messages`);
      expect(list.status, list.text()).to.equal(200);
      const ids = list.json().items.map((m: { messageId: string }) => m.messageId).sort();
      expect(ids).to.deep.equal([financeToEmployer.messageId, nssoToEmployer.messageId].sort());
      const content = await bed.enterpriseUser.get(`${ENTERPRISE_BASE}/ebox/messages/${nssoToEmployer.messageId}/attachments/document/content`);
      expect(content.status).to.equal(200);
      expect(content.body.equals(nssoToEmployer.content)).to.equal(true);
    });

    it('reads it as a person too: their own citizen eBox is theirs alone', async () => {
      const answer = await bed.enterpriseUser.get(`${CITIZEN_BASE}/ebox/messages`);
      expect(answer.status).to.equal(200);
      expect(answer.json().totalItems).to.equal(0);
    });

    it('loses the eBox when the role is removed (admin command, logged)', async () => {
      const clerk = ssinFrom('660505050');
      const client = await readerFor(bed.service, { ssin: clerk, name: 'Clerk Demo' });
      expect((await client.get(`${ENTERPRISE_BASE}/ebox`)).status).to.equal(401);
      await runEboxCommand(['enterprise-user', 'add', '--enterprise-number', employer, '--ssin', clerk], admin(), 'admin:test');
      expect((await client.get(`${ENTERPRISE_BASE}/ebox`)).status).to.equal(200);
      await runEboxCommand(['enterprise-user', 'remove', '--enterprise-number', employer, '--ssin', clerk], admin(), 'admin:test');
      expect((await client.get(`${ENTERPRISE_BASE}/ebox`)).status).to.equal(401);
      const changes = (await records(bed.service, 'AdministrativeChange')).filter((r) => r.details.ssin === clerk);
      expect(changes.map((r) => `${r.details.noun} ${r.details.verb}`)).to.deep.equal(['enterprise-user add', 'enterprise-user remove']);
      expect(changes.every((r) => r.executor === 'admin:test')).to.equal(true);
    });
  });

  describe('a mandatary', () => {
    let mandatary: ReaderClient;
    let mandateId: string;

    before(async () => {
      mandatary = await readerFor(bed.service, { ssin: MANDATARY_PERSON, name: 'Mandatary Demo' });
      const created = await runEboxCommand(
        ['mandate', 'create', '--mandator', employer, '--mandatary-ssin', MANDATARY_PERSON, '--message-types', NSSO_TYPE, '--from', new Date(Date.now() - DAY).toISOString()],
        admin(),
        'admin:test',
      );
      mandateId = (created.json as { id: string }).id;
    });

    it('reads the messages within the scope of the mandate, and only those', async () => {
      const list = await mandatary.get(`${ENTERPRISE_BASE}/ebox/messages`);
      expect(list.status, list.text()).to.equal(200);
      expect(list.json().items.map((m: { messageId: string }) => m.messageId)).to.deep.equal([nssoToEmployer.messageId]);
      const inScope = await mandatary.get(`${ENTERPRISE_BASE}/ebox/messages/${nssoToEmployer.messageId}/attachments/document/content`);
      expect(inScope.status).to.equal(200);
      expect(inScope.body.equals(nssoToEmployer.content)).to.equal(true);
      const summary = await mandatary.get(`${ENTERPRISE_BASE}/ebox`);
      expect(summary.json().numberOfMessages, 'the summary counts the scope only').to.equal(1);
    });

    it('gets 404 for a message of the mandator outside the scope, as for an unknown one', async () => {
      for (const path of ['', '/attachments', '/attachments/document/content']) {
        const answer = await mandatary.get(`${ENTERPRISE_BASE}/ebox/messages/${financeToEmployer.messageId}${path}`);
        expect(answer.status, path).to.equal(404);
      }
    });

    it('may not change visibility: reading is all a mandate gives', async () => {
      const answer = await mandatary.request('PATCH', `${ENTERPRISE_BASE}/ebox/messages`, {
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ items: [{ messageId: nssoToEmployer.messageId, visible: false }] }),
      });
      expect(answer.status).to.equal(401);
      expect((await bed.service.ctx.db('ebox_messages').where({ id: nssoToEmployer.messageId }).first('visible')).visible).to.be.oneOf([true, 1]);
    });

    it('is recorded reading, with the mandate used', async () => {
      const downloads = (await records(bed.service, 'DownloadDocument')).filter((r) => r.details.reader === MANDATARY_PERSON && r.outcome === 'completed');
      expect(downloads).to.have.length(1);
      expect(downloads[0]).to.include({ outcome: 'completed', registered_mail_id: nssoToEmployer.registeredMailId, recipient: `enterprise:${employer}` });
      expect(downloads[0]!.details).to.include({ capacity: 'mandatary', mandateIds: mandateId, messageId: nssoToEmployer.messageId });
      expect(downloads[0]!.executor).to.include(MANDATARY_PERSON);
      const listings = (await records(bed.service, 'ListEboxMessages')).filter((r) => r.details.reader === MANDATARY_PERSON && r.outcome === 'completed');
      expect(listings.length).to.be.greaterThan(0);
      expect(listings.every((r) => r.details.mandateIds === mandateId)).to.equal(true);
      const refusals = [...(await records(bed.service, 'ReadEboxMessage')), ...(await records(bed.service, 'DownloadDocument'))].filter(
        (r) => r.details.reader === MANDATARY_PERSON && r.outcome === 'refused',
      );
      expect(refusals.map((r) => r.details.requestedMessageId), 'out-of-scope attempts are recorded too').to.include(financeToEmployer.messageId);
    });

    it('is refused before the mandate starts and after its period', async () => {
      const person = ssinFrom('700707007');
      const client = await readerFor(bed.service, { ssin: person, name: 'Future Mandatary' });
      const future = await runEboxCommand(
        ['mandate', 'create', '--mandator', employer, '--mandatary-ssin', person, '--message-types', NSSO_TYPE, '--from', new Date(Date.now() + DAY).toISOString()],
        admin(),
        'admin:test',
      );
      expect((await client.get(`${ENTERPRISE_BASE}/ebox/messages`)).status, 'before its start').to.equal(401);
      const realNow = bed.service.ctx.now;
      try {
        bed.service.ctx.now = () => new Date(Date.now() + 2 * DAY);
        expect((await client.get(`${ENTERPRISE_BASE}/ebox/messages`)).status, 'within its period').to.equal(200);
      } finally {
        bed.service.ctx.now = realNow;
      }
      const lapsed = ssinFrom('710808008');
      const lapsedClient = await readerFor(bed.service, { ssin: lapsed, name: 'Lapsed Mandatary' });
      await runEboxCommand(
        [
          'mandate', 'create', '--mandator', employer, '--mandatary-ssin', lapsed, '--message-types', NSSO_TYPE,
          '--from', new Date(Date.now() - 10 * DAY).toISOString(), '--until', new Date(Date.now() - DAY).toISOString(),
        ],
        admin(),
        'admin:test',
      );
      const after = await lapsedClient.get(`${ENTERPRISE_BASE}/ebox/messages/${nssoToEmployer.messageId}/attachments/document/content`, { 'Ebox-Enterprise-Number': employer });
      expect(after.status, 'after its period').to.equal(401);
      expect(after.body.includes(nssoToEmployer.content)).to.equal(false);
      expect((future.json as { id: string }).id).to.be.a('string');
    });

    it('is refused at once after the mandate is ended (admin command, logged)', async () => {
      expect((await mandatary.get(`${ENTERPRISE_BASE}/ebox/messages`)).status).to.equal(200);
      const ended = await runEboxCommand(['mandate', 'end', mandateId], admin(), 'admin:test');
      expect((ended.json as { endedAt: string }).endedAt).to.be.a('string');
      const list = await mandatary.get(`${ENTERPRISE_BASE}/ebox/messages`);
      expect(list.status).to.equal(401);
      const content = await mandatary.get(`${ENTERPRISE_BASE}/ebox/messages/${nssoToEmployer.messageId}/attachments/document/content`, { 'Ebox-Enterprise-Number': employer });
      expect(content.status).to.equal(401);
      const changes = (await records(bed.service, 'AdministrativeChange')).filter((r) => r.details.mandateId === mandateId);
      expect(changes.map((r) => r.details.verb)).to.deep.equal(['create', 'end']);
      const listed = await runEboxCommand(['mandate', 'list', '--mandatary-ssin', MANDATARY_PERSON], admin(), 'admin:test');
      expect(listed.text).to.include(mandateId);
    });

    it("acts for an organisation mandatary through the organisation's enterprise users", async () => {
      const clerk = await readerFor(bed.service, { ssin: SECRETARIAT_CLERK, name: 'Secretariat Clerk' });
      expect((await clerk.get(`${ENTERPRISE_BASE}/ebox/messages`, { 'Ebox-Enterprise-Number': employer })).status).to.equal(401);
      await addEnterpriseUser(admin(), { enterpriseNumber: SECRETARIAT, ssin: SECRETARIAT_CLERK }, 'admin:test');
      const mandate = await runEboxCommand(
        ['mandate', 'create', '--mandator', employer, '--mandatary-enterprise', SECRETARIAT, '--message-types', `${NSSO_TYPE},REGISTERED_MAIL`, '--from', '2020-01-01'],
        admin(),
        'admin:test',
      );
      // The clerk can open two enterprise eBoxes now (the secretariat's own and the employer's): they name one.
      expect((await clerk.get(`${ENTERPRISE_BASE}/ebox/messages`)).status).to.equal(400);
      const list = await clerk.get(`${ENTERPRISE_BASE}/ebox/messages`, { 'Ebox-Enterprise-Number': employer });
      expect(list.status, list.text()).to.equal(200);
      expect(list.json().totalItems).to.equal(2);
      const read = await clerk.get(`${ENTERPRISE_BASE}/ebox/messages/${financeToEmployer.messageId}`, { 'Ebox-Enterprise-Number': employer });
      expect(read.status).to.equal(200);
      const recorded = (await records(bed.service, 'ReadEboxMessage')).filter((r) => r.details.reader === SECRETARIAT_CLERK && r.outcome === 'completed');
      expect(recorded.at(-1)!.details).to.include({ capacity: 'mandatary', mandateIds: (mandate.json as { id: string }).id });
    });
  });
});
