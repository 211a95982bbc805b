// eBox notices over real mutual TLS against the real service: a sender organisation that chose
// send-proof copies finds, in its own enterprise eBox, a notice (registeredMail false, sent by ePost)
// whose attachment is the very send-proof the SOAP answer carried, and that verifies; without the
// choice, nothing. Reading a notice marks it read and is recorded, with no handover evidence. A batch
// announcement posted with postNotice shows for the enterprise's users and every mandatary of it; a
// send-proof copy never shows for a mandatary. Notices are filtered, counted, hidden, searched,
// shown by the web reader and expire like messages, without evidence.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { addEnterpriseUser } from '../../app/access/enterpriseUsers.js';
import { updateOrganisation } from '../../app/access/index.js';
import { expireDueMessages, postNotice, type EboxNotice } from '../../app/ebox/index.js';
import { EpostError } from '../../app/errors/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { verifyEvidence } from '../../app/proofs/index.js';
import { statementsOf } from '../../app/storage/index.js';
import { runEboxCommand } from '../../scripts/admin/ebox.js';
import { ENTERPRISE_BASE, readerFor, records, sendMail, startEboxService, type EboxTestBed, type ReaderClient } from './helpers.js';

const FINANCE_CLERK = ssinFrom('790303115');
const MANDATARY = ssinFrom('810909227');
const COPY_MANDATARY = ssinFrom('830101339');
const DAY = 24 * 3600 * 1000;

describe('eBox notices: send-proof copies and batch announcements', function () {
  let bed: EboxTestBed;
  let finance: { enterpriseNumber: string; slug: string };
  let clerk: ReaderClient;
  const by = () => ({ executor: 'admin:notices-test', log: bed.service.ctx.audit });
  const admin = () => ({ db: bed.service.ctx.db, audit: bed.service.ctx.audit, now: () => bed.service.ctx.now() });
  const ids = (answer: { json(): any }): string[] => answer.json().items.map((m: { messageId: string }) => m.messageId);
  const inBox = (reader: ReaderClient, enterpriseNumber: string, path: string) => reader.get(`${ENTERPRISE_BASE}${path}`, { 'Ebox-Enterprise-Number': enterpriseNumber });

  before(async () => {
    bed = await startEboxService();
    finance = bed.service.devPki.senders[0]!;
    // A person who reads the sender organisation's own enterprise eBox.
    await addEnterpriseUser(admin(), { enterpriseNumber: finance.enterpriseNumber, ssin: FINANCE_CLERK }, 'test set-up');
    clerk = await readerFor(bed.service, { ssin: FINANCE_CLERK, name: 'Finance Clerk' });
  });
  after(async () => bed?.service.close());

  describe('send-proof copies', () => {
    let registeredMailId: string;
    let sendProof: Buffer;
    let noticeId: string;

    it('with copies on: the sender’s enterprise eBox gets a notice whose attachment is the send-proof the SOAP answer returned', async () => {
      await updateOrganisation(bed.service.ctx.db, finance.enterpriseNumber, { sendProofCopies: true }, by());
      const senderReference = `copy-${randomUUID()}`;
      const sent = await bed.service.client(finance.slug).sendRegisteredMail({
        senderReference,
        recipient: { kind: 'citizen', ssin: bed.readers.citizen.ssin },
        subject: 'Avertissement-extrait de rôle',
        document: { fileName: 'role.pdf', mimeType: 'application/pdf', content: Buffer.from(`%PDF-1.7 ${randomUUID()}`) },
      });
      registeredMailId = sent.registeredMailId;
      sendProof = sent.sendProof;

      const list = await inBox(clerk, finance.enterpriseNumber, '/ebox/messages?registeredMail=false');
      expect(list.status, list.text()).to.equal(200);
      expect(list.json().totalItems).to.equal(1);
      const notice = list.json().items[0];
      noticeId = notice.messageId;
      expect(notice).to.include({
        registeredMail: false,
        readStatus: false,
        visible: true,
        senderOrganizationId: bed.service.ctx.config.epostEnterpriseNumber,
        senderApplicationId: 'epost',
        messageTypeId: 'EPOST_SEND_PROOF_COPY',
      });
      expect(notice.senderOrganizationId).to.match(/^[0-1][0-9]{9}$/);
      expect(Object.keys(notice.subject).sort()).to.deep.equal(['de', 'en', 'fr', 'nl']);
      expect(notice.subject.en).to.include(senderReference);
      expect(notice.attachments.totalItems).to.equal(1);
      const attachment = notice.attachments.items[0];
      expect(attachment).to.include({ fileName: `send-proof-${registeredMailId}.xml`, mediaType: 'text/xml', mainContent: true });

      const content = await clerk.get(new URL(attachment.contentHref).pathname, { 'Ebox-Enterprise-Number': finance.enterpriseNumber });
      expect(content.status).to.equal(200);
      expect(content.body.equals(sendProof), 'byte for byte the send-proof of the SOAP answer').to.equal(true);
      const verified = await verifyEvidence(content.body, [bed.service.rootCaPem]);
      expect(verified.facts).to.include({ event: 'SubmissionAcceptance', registeredMailId });

      // Posted in the send transaction, and logged as its own step.
      const deliveries = (await records(bed.service, 'DeliverIntoEbox')).filter((r) => r.details.notice === 'SendProofCopy');
      expect(deliveries).to.have.length(1);
      expect(deliveries[0]).to.include({ registered_mail_id: registeredMailId, recipient: `enterprise:${finance.enterpriseNumber}`, responsible: finance.enterpriseNumber });
      expect(deliveries[0]!.details.messageId).to.equal(noticeId);
      const proofId = (await bed.service.ctx.db('proofs').where({ registered_mail_id: registeredMailId, kind: 'SendProof' }).first('id')).id;
      expect(deliveries[0]).to.include({ evidence_id: null });
      expect(deliveries[0]!.details.sendProofId).to.equal(proofId);
    });

    it('reading it marks it read and is recorded, with no handover evidence: the mail is not handed over', async () => {
      const downloads = (await records(bed.service, 'DownloadDocument')).filter((r) => r.details.messageId === noticeId);
      expect(downloads).to.have.length(1);
      expect(downloads[0]).to.include({ outcome: 'completed', responsible: 'ePost', evidence_id: null, registered_mail_id: registeredMailId });
      expect(downloads[0]!.details).to.include({ reader: FINANCE_CLERK, capacity: 'enterpriseUser', notice: 'SendProofCopy', firstOpening: true });
      const kinds = await bed.service.ctx.db('proofs').where({ registered_mail_id: registeredMailId }).orderBy('kind').pluck('kind');
      expect(kinds).to.deep.equal(['DeliveryProof', 'SendProof']);
      expect((await bed.service.ctx.db('registered_mails').where({ id: registeredMailId }).first('status')).status).to.equal('DELIVERED');
      expect((await bed.service.ctx.db('ebox_messages').where({ registered_mail_id: registeredMailId }).first('read_at')).read_at, "the recipient's message stays unread").to.equal(null);
      expect((await records(bed.service, 'ProduceEvidence')).filter((r) => r.registered_mail_id === registeredMailId)).to.deep.equal([]);
      const read = await inBox(clerk, finance.enterpriseNumber, `/ebox/messages/${noticeId}`);
      expect(read.json().readStatus).to.equal(true);
      // The copy is stored encrypted, bound to its notice.
      const row = await bed.service.ctx.db('ebox_notices').where({ id: noticeId }).first('ciphertext');
      expect(Buffer.from(row.ciphertext).includes(sendProof.subarray(0, 64))).to.equal(false);
    });

    it('with copies off: nothing is posted', async () => {
      await updateOrganisation(bed.service.ctx.db, finance.enterpriseNumber, { sendProofCopies: false }, by());
      const sent = await sendMail(bed.service, { kind: 'citizen', ssin: bed.readers.citizen.ssin }, { sender: finance.slug });
      expect(await bed.service.ctx.db('ebox_notices').where({ registered_mail_id: sent.registeredMailId }).count({ n: '*' }).then((r) => Number(r[0]!.n))).to.equal(0);
      expect(ids(await inBox(clerk, finance.enterpriseNumber, '/ebox/messages'))).to.deep.equal([noticeId]);
    });
  });

  describe('batch announcements and mandates', () => {
    let employer: string;
    let batchNotice: string;
    let copyNotice: string;
    let mailToEmployer: string;
    let mandatary: ReaderClient;
    let copyMandatary: ReaderClient;
    let mandateId: string;
    const batchId = randomUUID();

    const notice = (kind: EboxNotice['kind'], extra: Partial<EboxNotice>): EboxNotice => ({
      eBox: { kind: 'enterprise', ownerId: employer },
      kind,
      subject: { fr: `Lot ${kind} disponible`, nl: `Batch ${kind} beschikbaar`, de: `Stapel ${kind} verfügbar`, en: `Batch ${kind} available` },
      attachment: { fileName: `${kind}.json`, mimeType: 'text/plain', content: Buffer.from(JSON.stringify({ kind, batchId })) },
      at: new Date(),
      ...extra,
    });

    before(async () => {
      employer = bed.readers.enterpriseUser.enterpriseNumber;
      mailToEmployer = (await sendMail(bed.service, { kind: 'enterprise', enterpriseNumber: employer })).messageId;
      // As the lead's batch channel posts them: inside its own transaction.
      batchNotice = await bed.service.ctx.db.transaction((trx) => postNotice(statementsOf(trx), bed.service.ctx.vault, notice('BatchAvailable', { batchId })));
      copyNotice = await bed.service.ctx.db.transaction((trx) => postNotice(statementsOf(trx), bed.service.ctx.vault, notice('SendProofCopy', { registeredMailId: randomUUID() })));
      const from = new Date(Date.now() - DAY).toISOString();
      mandatary = await readerFor(bed.service, { ssin: MANDATARY, name: 'Mandatary Notices' });
      copyMandatary = await readerFor(bed.service, { ssin: COPY_MANDATARY, name: 'Copy Mandatary' });
      const created = await runEboxCommand(['mandate', 'create', '--mandator', employer, '--mandatary-ssin', MANDATARY, '--message-types', 'REGISTERED_MAIL', '--from', from], admin(), 'admin:test');
      mandateId = (created.json as { id: string }).id;
      await runEboxCommand(['mandate', 'create', '--mandator', employer, '--mandatary-ssin', COPY_MANDATARY, '--message-types', 'EPOST_SEND_PROOF_COPY', '--from', from], admin(), 'admin:test');
    });

    it('shows both notices to the enterprise user, beside its registered mail, with the registeredMail filter', async () => {
      const all = await inBox(bed.enterpriseUser, employer, '/ebox/messages');
      expect(ids(all).sort()).to.deep.equal([batchNotice, copyNotice, mailToEmployer].sort());
      expect(ids(await inBox(bed.enterpriseUser, employer, '/ebox/messages?registeredMail=true'))).to.deep.equal([mailToEmployer]);
      expect(ids(await inBox(bed.enterpriseUser, employer, '/ebox/messages?registeredMail=false')).sort()).to.deep.equal([batchNotice, copyNotice].sort());
      expect(ids(await inBox(bed.enterpriseUser, employer, '/ebox/messages?registeredMail=false&pageSize=1&page=2'))).to.have.length(1);
      expect(ids(await inBox(bed.enterpriseUser, employer, '/ebox/messages?messageTypeId=EPOST_BATCH_AVAILABLE'))).to.deep.equal([batchNotice]);
      expect(ids(await inBox(bed.enterpriseUser, employer, `/ebox/messages?senderOrganizationId=${bed.service.ctx.config.epostEnterpriseNumber}`)).sort()).to.deep.equal([batchNotice, copyNotice].sort());
      expect(ids(await inBox(bed.enterpriseUser, employer, '/ebox/messages?q=BatchAvailable%20beschikbaar&qlang=nl')), 'the subject in the language searched').to.deep.equal([batchNotice]);
      expect(ids(await inBox(bed.enterpriseUser, employer, '/ebox/messages?q=BatchAvailable%20beschikbaar&qlang=fr'))).to.deep.equal([]);
      const summary = await inBox(bed.enterpriseUser, employer, '/ebox');
      expect(summary.json()).to.include({ numberOfMessages: 3, numberOfUnreadMessages: 3 });
      const one = (await inBox(bed.enterpriseUser, employer, `/ebox/messages/${batchNotice}`)).json();
      expect(one).to.include({ registeredMail: false, messageTypeId: 'EPOST_BATCH_AVAILABLE' });
      expect(one.subject).to.deep.equal({ fr: 'Lot BatchAvailable disponible', nl: 'Batch BatchAvailable beschikbaar', de: 'Stapel BatchAvailable verfügbar', en: 'Batch BatchAvailable available' });
    });

    it('shows a batch announcement to every mandatary, a send-proof copy to none, even one whose mandate names its type', async () => {
      expect(ids(await inBox(mandatary, employer, '/ebox/messages')).sort()).to.deep.equal([batchNotice, mailToEmployer].sort());
      expect(ids(await inBox(copyMandatary, employer, '/ebox/messages'))).to.deep.equal([batchNotice]);
      for (const reader of [mandatary, copyMandatary]) {
        expect((await inBox(reader, employer, `/ebox/messages/${copyNotice}`)).status).to.equal(404);
        expect((await inBox(reader, employer, `/ebox/messages/${copyNotice}/attachments/document/content`)).status).to.equal(404);
      }
      const content = await inBox(mandatary, employer, `/ebox/messages/${batchNotice}/attachments/document/content`);
      expect(content.status).to.equal(200);
      expect(JSON.parse(content.text())).to.deep.equal({ kind: 'BatchAvailable', batchId });
      const recorded = (await records(bed.service, 'DownloadDocument')).filter((r) => r.details.messageId === batchNotice);
      expect(recorded.at(-1)!.details).to.include({ capacity: 'mandatary', mandateIds: mandateId, notice: 'BatchAvailable', batchId });
    });

    it('hides and shows a notice like a message (its holder only)', async () => {
      const patch = (reader: ReaderClient, visible: boolean) =>
        reader.request('PATCH', `${ENTERPRISE_BASE}/ebox/messages`, {
          headers: { 'content-type': 'application/json', 'Ebox-Enterprise-Number': employer },
          body: JSON.stringify({ items: [{ messageId: copyNotice, visible }] }),
        });
      expect((await patch(bed.enterpriseUser, false)).status).to.equal(200);
      expect(ids(await inBox(bed.enterpriseUser, employer, '/ebox/messages?visible=false'))).to.deep.equal([copyNotice]);
      expect((await bed.service.ctx.db('ebox_notices').where({ id: copyNotice }).first('visible')).visible).to.be.oneOf([false, 0]);
      expect((await patch(copyMandatary, true)).status).to.equal(401);
      expect((await patch(bed.enterpriseUser, true)).status).to.equal(200);
      expect(ids(await inBox(bed.enterpriseUser, employer, '/ebox/messages?visible=false'))).to.deep.equal([]);
    });

    it('lists notices in the web reader, in the reader’s language, without proofs', async () => {
      const page = (await bed.enterpriseUser.get(`/ebox/enterprise/${employer}/?lang=de`)).text();
      expect(page).to.include('Stapel BatchAvailable verfügbar');
      expect(page).to.include('ePost-Mitteilung');
      const message = await bed.enterpriseUser.get(`/ebox/enterprise/${employer}/messages/${copyNotice}?lang=en`);
      expect(message.status).to.equal(200);
      expect(message.text()).to.include('This is a notice from ePost, not a registered mail');
      expect(message.text()).to.not.include('proofs-heading');
      const download = await bed.enterpriseUser.get(`/ebox/enterprise/${employer}/messages/${copyNotice}/document`);
      expect(download.status).to.equal(200);
      expect(JSON.parse(download.text()).kind).to.equal('SendProofCopy');
      expect((await bed.enterpriseUser.get(`/ebox/enterprise/${employer}/messages/${copyNotice}/reproduction.pdf`)).status).to.equal(404);
    });

    it('expires with the eBox retention: it leaves the eBox and its attachment is dropped, with no evidence', async () => {
      const row = await bed.service.ctx.db('ebox_notices').where({ id: batchNotice }).first('delivered_at', 'expires_at');
      expect(new Date(row.expires_at).getTime() - new Date(row.delivered_at).getTime()).to.equal(bed.service.ctx.config.eboxRetentionDays * DAY);
      await bed.service.ctx.db('ebox_notices').where({ id: batchNotice }).update({ expires_at: new Date(Date.now() - 1000).toISOString() });
      const evidenceBefore = (await records(bed.service, 'ProduceEvidence')).length;
      expect(await expireDueMessages(bed.service.ctx)).to.be.at.least(1);
      expect(ids(await inBox(bed.enterpriseUser, employer, '/ebox/messages'))).to.not.include(batchNotice);
      expect((await inBox(mandatary, employer, `/ebox/messages/${batchNotice}`)).status).to.equal(404);
      const expired = await bed.service.ctx.db('ebox_notices').where({ id: batchNotice }).first('expired_at', 'ciphertext');
      expect(expired.expired_at).to.be.a('string');
      expect(expired.ciphertext).to.equal(null);
      expect((await records(bed.service, 'ProduceEvidence')).length).to.equal(evidenceBefore);
      expect((await records(bed.service, 'PurgeDocument')).filter((r) => r.details.messageId === batchNotice)).to.have.length(1);
    });

    it('refuses an incomplete notice, and stores nothing', async () => {
      const refused = async (bad: EboxNotice, reason: RegExp) => {
        const err = await bed.service.ctx.db.transaction((trx) => postNotice(statementsOf(trx), bed.service.ctx.vault, bad)).then(() => undefined, (e: unknown) => e);
        expect(err).to.be.instanceOf(EpostError);
        expect((err as EpostError).message).to.match(reason);
      };
      const count = async () => Number((await bed.service.ctx.db('ebox_notices').count({ n: '*' }))[0]!.n);
      const before = await count();
      await refused({ ...notice('BatchAvailable', { batchId }), subject: { fr: 'Lot', nl: 'Batch', en: 'Batch' } }, /subject needs 1 to 500 characters in de/);
      await refused(notice('BatchAvailable', {}), /names its batch/);
      await refused(notice('SendProofCopy', {}), /names its registered mail/);
      await refused({ ...notice('BatchAvailable', { batchId }), eBox: { kind: 'enterprise', ownerId: '0123456789' } }, /no enterprise eBox can be 0123456789/);
      await refused({ ...notice('BatchAvailable', { batchId }), attachment: { fileName: '../x', mimeType: 'text/plain', content: Buffer.from('{}') } }, /plain file name/);
      await refused({ ...notice('BatchAvailable', { batchId }), attachment: { fileName: 'x.json', mimeType: 'application/json', content: Buffer.from('{}') } }, /media type "application\/json" is not one the eBox API allows/);
      expect(await count()).to.equal(before);
    });
  });
});
