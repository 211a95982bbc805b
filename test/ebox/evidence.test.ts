// Opening is evidence: the first download of a registered mail's document produces exactly one
// sealed, timestamped ContentHandover evidence (even under concurrent downloads), sets readStatus and
// the mail's status READ, and the sender fetches that evidence with GetProofOfDelivery. Expiry: a
// message leaves the listings at its expiration date (the message type's retention, else the
// configured one), and an unopened mail gets exactly one expiry evidence.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SenderClient } from '../../app/client/index.js';
import { defineMessageType, expireDueMessages } from '../../app/ebox/index.js';
import { verifyEvidence } from '../../app/proofs/index.js';
import { run } from '../helpers/run.js';
import type { TestService } from '../helpers/service.js';
import { CITIZEN_BASE, records, sendMail, startEboxService, type EboxTestBed, type SentMail } from './helpers.js';

const EVIDENCE_NS = 'urn:epost:registeredmail:v1';
const RETENTION_DAYS = 30;
const DAY = 24 * 3600 * 1000;

/** Every evidence GetProofOfDelivery returns to the sender, in order, fetched with the sender client. */
async function senderEvidence(service: TestService, registeredMailId: string): Promise<{ status: string; evidence: Buffer[] }> {
  const client = service.client();
  const { status } = await client.getProofOfDelivery({ registeredMailId });
  const answer = await client.post(client.sign(SenderClient.getProofOfDeliveryElement({ registeredMailId })), 'GetProofOfDelivery');
  const evidence = Array.from(answer.getElementsByTagNameNS(EVIDENCE_NS, 'Evidence')).map((el) => Buffer.from(el.textContent ?? '', 'base64'));
  return { status, evidence };
}

async function kinds(service: TestService, registeredMailId: string): Promise<string[]> {
  return (await service.ctx.db('proofs').where({ registered_mail_id: registeredMailId }).orderBy('created_at').select('kind')).map((r: { kind: string }) => r.kind);
}

describe('eBox evidence: opening and expiry', function () {
  let bed: EboxTestBed;
  before(async () => {
    bed = await startEboxService({ EPOST_EBOX_RETENTION_DAYS: String(RETENTION_DAYS) });
  });
  after(async () => bed?.service.close());

  describe('the first opening of a registered mail', () => {
    let mail: SentMail;
    let handover: Buffer;

    before(async () => {
      mail = await sendMail(bed.service, { kind: 'citizen', ssin: bed.readers.citizen.ssin }, { subject: 'Opened once' });
    });

    it('is not triggered by reading the message or its attachment metadata', async () => {
      for (const p of ['', '/attachments', '/attachments/document']) expect((await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages/${mail.messageId}${p}`)).status).to.equal(200);
      expect((await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages/${mail.messageId}`)).json().readStatus).to.equal(false);
      expect(await kinds(bed.service, mail.registeredMailId)).to.not.include('ContentHandover');
      expect((await senderEvidence(bed.service, mail.registeredMailId)).status).to.equal('DELIVERED');
    });

    it('produces exactly one ContentHandover evidence, however many downloads, and sets readStatus', async () => {
      const downloads = await Promise.all([1, 2, 3].map(() => bed.citizen.get(`${CITIZEN_BASE}/ebox/messages/${mail.messageId}/attachments/document/content`)));
      for (const d of downloads) {
        expect(d.status).to.equal(200);
        expect(d.body.equals(mail.content)).to.equal(true);
      }
      const again = await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages/${mail.messageId}/attachments/document/content`);
      expect(again.status).to.equal(200);
      expect((await kinds(bed.service, mail.registeredMailId)).filter((k) => k === 'ContentHandover')).to.have.length(1);
      expect((await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages/${mail.messageId}`)).json().readStatus).to.equal(true);
      const firsts = (await records(bed.service, 'DownloadDocument')).filter((r) => r.registered_mail_id === mail.registeredMailId);
      expect(firsts, 'every download is recorded').to.have.length(4);
      expect(firsts.filter((r) => r.evidence_id !== null), 'one of them with the handover evidence').to.have.length(1);
    });

    it('is fetched by the sender with GetProofOfDelivery: status READ, the evidence following the delivery', async () => {
      const { status, evidence } = await senderEvidence(bed.service, mail.registeredMailId);
      expect(status).to.equal('READ');
      const anchors = [bed.service.rootCaPem];
      const verified = await Promise.all(evidence.map((e) => verifyEvidence(e, anchors)));
      const events = verified.map((v) => v.facts.event);
      expect(events).to.deep.equal(['SubmissionAcceptance', 'ContentConsignment', 'ContentHandover']);
      const facts = verified[2]!.facts;
      expect(facts.registeredMailId).to.equal(mail.registeredMailId);
      expect(facts.eBox).to.deep.include({ kind: 'citizen', ownerId: bed.readers.citizen.ssin, messageId: mail.messageId });
      expect(facts.previous!.evidenceId).to.equal(verified[1]!.facts.evidenceId);
      const readAt = (await bed.service.ctx.db('ebox_messages').where({ id: mail.messageId }).first('read_at')).read_at;
      expect(facts.eventTime.toISOString()).to.equal(readAt);
      handover = evidence[2]!;
    });

    it('verifies with xmlsec1 alone against the development root', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-handover-'));
      const file = path.join(dir, 'handover.xml');
      fs.writeFileSync(file, handover);
      const verdict = await run('xmlsec1', ['--verify', '--trusted-pem', bed.service.devPki.rootCaCert, file]);
      expect(verdict.status, verdict.stderr).to.equal(0);
    });
  });

  describe('expiry', () => {
    let unopened: SentMail;
    let opened: SentMail;

    before(async () => {
      unopened = await sendMail(bed.service, { kind: 'citizen', ssin: bed.readers.citizen.ssin }, { subject: 'Never opened' });
      opened = await sendMail(bed.service, { kind: 'citizen', ssin: bed.readers.citizen.ssin }, { subject: 'Opened before expiry' });
      expect((await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages/${opened.messageId}/attachments/document/content`)).status).to.equal(200);
    });

    it("dates a message's expiry by the configured retention, or by its message type's", async () => {
      const message = (await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages/${unopened.messageId}`)).json();
      expect(new Date(message.expirationDate).getTime() - new Date(message.receiptDate).getTime()).to.be.closeTo(RETENTION_DAYS * DAY, 1000);
      const nsso = bed.service.devPki.senders[1]!;
      const admin = { db: bed.service.ctx.db, audit: bed.service.ctx.audit, now: () => new Date() };
      await defineMessageType(admin, { id: 'NSSO_SHORT', senderEnterpriseNumber: nsso.enterpriseNumber, name: { en: 'Short-lived' }, retentionDays: 5 }, 'test set-up');
      const short = await sendMail(bed.service, { kind: 'citizen', ssin: bed.readers.citizen.ssin }, { sender: nsso.slug });
      const shortMessage = (await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages/${short.messageId}`)).json();
      expect(shortMessage.messageTypeId).to.equal('NSSO_SHORT');
      expect(new Date(shortMessage.expirationDate).getTime() - new Date(shortMessage.receiptDate).getTime()).to.be.closeTo(5 * DAY, 1000);
    });

    it('removes expired messages from listings and seals one expiry evidence for an unopened mail', async () => {
      // The retention has run out for these two: their expiration date is now in the past.
      const past = new Date(Date.now() - 1000).toISOString();
      await bed.service.ctx.db('ebox_messages').whereIn('id', [unopened.messageId, opened.messageId]).update({ expires_at: past });
      const listed = (await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages?pageSize=100`)).json().items.map((m: { messageId: string }) => m.messageId);
      expect(listed).to.not.include(unopened.messageId);
      expect(listed).to.not.include(opened.messageId);
      expect((await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages/${unopened.messageId}`)).status).to.equal(404);
      expect((await bed.citizen.get(`${CITIZEN_BASE}/ebox/messages/${unopened.messageId}/attachments/document/content`)).status).to.equal(404);

      expect(await expireDueMessages(bed.service.ctx)).to.equal(2);
      expect(await expireDueMessages(bed.service.ctx), 'an expiry is processed once').to.equal(0);

      const { evidence } = await senderEvidence(bed.service, unopened.registeredMailId);
      const verified = await Promise.all(evidence.map((e) => verifyEvidence(e, [bed.service.rootCaPem])));
      expect(verified.map((v) => v.facts.event)).to.deep.equal(['SubmissionAcceptance', 'ContentConsignment', 'ContentHandoverFailure']);
      expect(verified[2]!.facts.reasons!.map((r) => r.code)).to.deep.equal(['Expired']);
      expect(await kinds(bed.service, opened.registeredMailId), 'an opened mail was handed over: no failure evidence').to.not.include('ContentHandoverFailure');

      const produced = (await records(bed.service, 'ProduceEvidence')).filter((r) => r.details.event === 'expiry');
      expect(produced.map((r) => r.registered_mail_id).sort()).to.deep.equal([unopened.registeredMailId, opened.registeredMailId].sort());
      expect(produced.find((r) => r.registered_mail_id === unopened.registeredMailId)!.evidence_id).to.equal(verified[2]!.facts.evidenceId);
    });
  });
});
