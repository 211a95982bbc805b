// The registered-mail send path end to end: the CLI's client over real HTTPS against the real
// service (SQLite file, development PKI, built-in timestamping authority), proofs checked with
// xmlsec1 and openssl, and every refusal checked to leave nothing behind but its log record.
import { expect } from 'chai';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { SenderClient, SoapFault, postSoap, type RegisteredMailSubmission } from '../../app/client/index.js';
import { enterpriseNumberFrom, ssinFrom } from '../../app/identifiers/index.js';
import { issueCertificate, loadIssuer, x509 } from '../../app/pki/issue.js';
import { signRequest } from '../../app/wssecurity/index.js';
import { verifyProofIndependently } from '../helpers/independentVerifiers.js';
import { pkiLayout, startTestService, testBackend, type StoredCounts, type TestService } from '../helpers/service.js';

const CITIZEN = ssinFrom('850730033');
const CITIZEN_2000 = ssinFrom('030215123', true);
const ENTERPRISE = enterpriseNumberFrom('04123456');
const SEND_ACTION = 'urn:epost:registeredmail:v1/SendRegisteredMail';

function submission(overrides: Partial<RegisteredMailSubmission> = {}): RegisteredMailSubmission {
  return {
    senderReference: `test-${randomUUID()}`,
    recipient: { kind: 'citizen', ssin: CITIZEN },
    subject: 'Tax assessment 2026',
    language: 'fr',
    document: { fileName: 'assessment.pdf', mimeType: 'application/pdf', content: Buffer.from('%PDF-1.7 test document ' + randomUUID()) },
    ...overrides,
  };
}

describe(`registered-mail send path (HTTPS, ${testBackend}, development PKI)`, function () {
  let service: TestService;
  let client: SenderClient;

  before(async () => {
    service = await startTestService({ EPOST_MAX_DOCUMENT_BYTES: String(64 * 1024), EPOST_MAX_REQUEST_BYTES: String(256 * 1024) });
    client = service.client();
  });
  after(async () => service?.close());

  async function expectRefusal(send: () => Promise<unknown>, code: string): Promise<SoapFault> {
    const before = await service.counts();
    const refusalsBefore = await refusalCount(code);
    let fault: unknown;
    try {
      await send();
    } catch (err) {
      fault = err;
    }
    expect(fault, `expected the fault ${code}`).to.be.instanceOf(SoapFault);
    const soapFault = fault as SoapFault;
    expect(soapFault.code, soapFault.reason).to.equal(code);
    expect(soapFault.reason).to.be.a('string').and.not.match(/\n\s+at /); // a reason, never a stack trace
    expect(await service.counts(), 'a refusal stores no mail, document, eBox entry or proof').to.deep.equal(before);
    expect(await refusalCount(code), 'a refusal is logged').to.equal(refusalsBefore + 1);
    return soapFault;
  }

  async function refusalCount(code: string): Promise<number> {
    const [row] = await service.ctx.db('audit_records').where({ outcome: 'refused', disturbance_code: code }).count({ n: '*' });
    return Number(row!.n);
  }

  /** Posts a hand-made envelope (a tampered or foreign request) as the SOAP endpoint would receive it. */
  async function postRaw(envelope: string, soapAction = SEND_ACTION): Promise<never> {
    await client.post(envelope, soapAction.replace(/^.*\//, ''));
    throw new Error('the service accepted a request it should have refused');
  }

  describe('a registered mail sent with the CLI client', () => {
    let sent: Awaited<ReturnType<SenderClient['sendRegisteredMail']>>;
    let request: RegisteredMailSubmission;
    let countsBefore: StoredCounts;

    before(async () => {
      countsBefore = await service.counts();
      request = submission();
      sent = await client.sendRegisteredMail(request);
    });

    it('is accepted, stored, delivered into the citizen eBox, with both proofs', async () => {
      expect(sent.registeredMailId).to.match(/^[0-9a-f-]{36}$/);
      const after = await service.counts();
      expect(after).to.deep.equal({
        mails: countsBefore.mails + 1,
        documents: countsBefore.documents + 1,
        eboxMessages: countsBefore.eboxMessages + 1,
        proofs: countsBefore.proofs + 2,
      });
      const message = await service.ctx.db('ebox_messages').where({ registered_mail_id: sent.registeredMailId }).first();
      expect(message).to.include({ ebox_kind: 'citizen', ebox_owner_id: CITIZEN });
    });

    it('keeps the document encrypted at rest and the signed request in the log', async () => {
      const row = await service.ctx.db('documents').where({ registered_mail_id: sent.registeredMailId }).first();
      expect(Buffer.from(row.ciphertext).includes(request.document.content)).to.equal(false);
      const stored = service.ctx.vault.decrypt(
        { keyId: row.key_id, iv: row.iv, ciphertext: row.ciphertext, authTag: row.auth_tag },
        `document:${sent.registeredMailId}`,
      );
      expect(stored.equals(request.document.content)).to.equal(true);
      const log = await service.ctx.db('audit_records').where({ registered_mail_id: sent.registeredMailId, operation: 'SendRegisteredMail', outcome: 'accepted' }).first();
      expect(log).to.include({ operation: 'SendRegisteredMail', responsible: service.devPki.senders[0]!.enterpriseNumber });
      expect(Number(log.payload_size)).to.be.greaterThan(request.document.content.length);
    });

    it('returns a send-proof with the sender data that xmlsec1 and openssl ts verify', () => {
      const xml = sent.sendProof.toString('utf8');
      expect(xml).to.contain(request.senderReference).and.contain(CITIZEN).and.contain(sent.registeredMailId);
      expect(xml).to.contain(createHash('sha256').update(request.document.content).digest('base64'));
      const layout = pkiLayout(service.certsDir);
      const verdict = verifyProofIndependently(sent.sendProof, service.devPki.rootCaCert, layout.tsaCert);
      expect(verdict.xmlsec1.ok, verdict.xmlsec1.output).to.equal(true);
      expect(verdict.openssl.ok, verdict.openssl.output).to.equal(true);
    });

    it('lets its sender fetch the same send-proof and a delivery proof that verifies', async () => {
      const proofs = await client.getProofOfDelivery({ registeredMailId: sent.registeredMailId });
      expect(proofs.status).to.equal('DELIVERED');
      expect(proofs.sendProof.equals(sent.sendProof)).to.equal(true);
      expect(proofs.deliveryProof, 'delivery proof').to.be.instanceOf(Buffer);
      const delivery = proofs.deliveryProof!.toString('utf8');
      expect(delivery).to.contain(sent.registeredMailId).and.contain(createHash('sha256').update(sent.sendProof).digest('base64'));
      const verdict = verifyProofIndependently(proofs.deliveryProof!, service.devPki.rootCaCert, pkiLayout(service.certsDir).tsaCert);
      expect(verdict.xmlsec1.ok, verdict.xmlsec1.output).to.equal(true);
      expect(verdict.openssl.ok, verdict.openssl.output).to.equal(true);
      const bySenderReference = await client.getProofOfDelivery({ senderReference: request.senderReference });
      expect(bySenderReference.sendProof.equals(sent.sendProof)).to.equal(true);
    });

    it('names the mail, its proofs and its eBox entry with time-ordered ids (UUID version 7 of their events)', async () => {
      // Ids that grow with time keep each index's new entries in its last page (app/identifiers/timeOrderedId.ts).
      const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
      const millisecondOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);
      const mail = await service.ctx.db('registered_mails').where({ id: sent.registeredMailId }).first('submission_time');
      const proofs = await service.ctx.db('proofs').where({ registered_mail_id: sent.registeredMailId }).select('id', 'kind', 'created_at');
      const message = await service.ctx.db('ebox_messages').where({ registered_mail_id: sent.registeredMailId }).first('id', 'delivered_at');
      const named: Array<[string, string]> = [
        [sent.registeredMailId, mail.submission_time],
        ...proofs.map((proof): [string, string] => [String(proof.id), proof.created_at]),
        [String(message.id), message.delivered_at],
      ];
      expect(named).to.have.length(4);
      for (const [id, at] of named) {
        expect(id).to.match(UUID_V7);
        expect(millisecondOf(id), id).to.equal(new Date(at).getTime());
      }
      const later = await client.sendRegisteredMail(submission());
      expect(later.registeredMailId > sent.registeredMailId, 'a later mail sorts after an earlier one').to.equal(true);
    });

    it('hides it from another sender, who gets the unknown-id fault', async () => {
      const other = service.client(service.devPki.senders[1]!.slug);
      const unknown = await other.getProofOfDelivery({ registeredMailId: randomUUID() }).catch((e: unknown) => e as SoapFault);
      const foreign = await other.getProofOfDelivery({ registeredMailId: sent.registeredMailId }).catch((e: unknown) => e as SoapFault);
      expect(foreign).to.be.instanceOf(SoapFault);
      expect((foreign as SoapFault).code).to.equal('UnknownRegisteredMail');
      expect((foreign as SoapFault).reason).to.equal((unknown as SoapFault).reason);
    });
  });

  describe('delivery by recipient', () => {
    it('delivers to an enterprise eBox and to a citizen born from 2000, creating each eBox on first delivery', async () => {
      const toEnterprise = await client.sendRegisteredMail(submission({ recipient: { kind: 'enterprise', enterpriseNumber: ENTERPRISE } }));
      const toYoungCitizen = await client.sendRegisteredMail(submission({ recipient: { kind: 'citizen', ssin: CITIZEN_2000 } }));
      const boxes = await service.ctx.db('ebox_messages').whereIn('registered_mail_id', [toEnterprise.registeredMailId, toYoungCitizen.registeredMailId]);
      expect(boxes.map((b) => `${b.ebox_kind}:${b.ebox_owner_id}`).sort()).to.deep.equal([`citizen:${CITIZEN_2000}`, `enterprise:${ENTERPRISE}`]);
      expect(await service.ctx.db('eboxes').where({ kind: 'enterprise', owner_id: ENTERPRISE }).first()).to.not.equal(undefined);
    });
  });

  describe('idempotency by SenderReference', () => {
    it('answers a retry with the original id and send-proof and delivers once', async () => {
      const request = submission();
      const first = await client.sendRegisteredMail(request);
      const countsAfterFirst = await service.counts();
      const retry = await client.sendRegisteredMail(request);
      expect(retry.registeredMailId).to.equal(first.registeredMailId);
      expect(retry.sendProof.equals(first.sendProof)).to.equal(true);
      expect(await service.counts()).to.deep.equal(countsAfterFirst);
    });

    it('refuses the same SenderReference for different content with DuplicateReference', async () => {
      const request = submission();
      await client.sendRegisteredMail(request);
      await expectRefusal(
        () => client.sendRegisteredMail({ ...request, document: { ...request.document, content: Buffer.from('other content') } }),
        'DuplicateReference',
      );
    });

    it('stores exactly one mail when the same submission races with itself', async () => {
      const request = submission();
      const answers = await Promise.all([1, 2, 3, 4].map(() => client.sendRegisteredMail(request)));
      expect(new Set(answers.map((a) => a.registeredMailId)).size).to.equal(1);
      const mails = await service.ctx.db('registered_mails').where({ sender_reference: request.senderReference });
      expect(mails).to.have.length(1);
    });
  });

  describe('refusals leave no mail, eBox entry or proof behind', () => {
    it('an unsigned request: InvalidSecurity', async () => {
      const unsigned =
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/><soap:Body>' +
        SenderClient.sendRegisteredMailElement(submission()) +
        '</soap:Body></soap:Envelope>';
      await expectRefusal(() => postRaw(unsigned), 'InvalidSecurity');
    });

    it('a Body changed after signing: FailedCheck', async () => {
      const signed = client.sign(SenderClient.sendRegisteredMailElement(submission({ subject: 'Original subject' })));
      await expectRefusal(() => postRaw(signed.replace('Original subject', 'Forged subject')), 'FailedCheck');
    });

    it('an expired Timestamp: MessageExpired', async () => {
      const sender = service.devPki.senders[0]!;
      const stale = signRequest({
        operationXml: SenderClient.sendRegisteredMailElement(submission()),
        certificatePem: fs.readFileSync(sender.certFile, 'utf8'),
        privateKeyPem: fs.readFileSync(sender.keyFile, 'utf8'),
        now: new Date(Date.now() - 10 * 60 * 1000),
        ttlSeconds: 300,
      });
      await expectRefusal(() => postRaw(stale), 'MessageExpired');
    });

    it('a replayed request: InvalidSecurity, and still one mail', async () => {
      const request = submission();
      const signed = client.sign(SenderClient.sendRegisteredMailElement(request));
      await client.post(signed, 'SendRegisteredMail');
      await expectRefusal(() => postRaw(signed), 'InvalidSecurity');
      expect(await service.ctx.db('registered_mails').where({ sender_reference: request.senderReference })).to.have.length(1);
    });

    it('a certificate from an untrusted CA: FailedAuthentication', async () => {
      const KU = x509.KeyUsageFlags;
      const rogueRoot = await issueCertificate({ subject: 'CN=Rogue Root', ca: {}, keyUsages: KU.keyCertSign | KU.cRLSign });
      const rogue = await issueCertificate({ subject: 'CN=Rogue sender', issuer: rogueRoot, keyUsages: KU.digitalSignature });
      const signed = signRequest({ operationXml: SenderClient.sendRegisteredMailElement(submission()), certificatePem: rogue.certPem, privateKeyPem: rogue.keyPem });
      await expectRefusal(() => postRaw(signed), 'FailedAuthentication');
    });

    it('a valid certificate of an unregistered sender: FailedAuthentication', async () => {
      const senderCa = await loadIssuer(fs.readFileSync(service.devPki.senderCaCert, 'utf8'), fs.readFileSync(service.devPki.senderCaKey, 'utf8'));
      const stranger = await issueCertificate({ subject: 'CN=Unregistered institution', issuer: senderCa, keyUsages: x509.KeyUsageFlags.digitalSignature });
      const signed = signRequest({ operationXml: SenderClient.sendRegisteredMailElement(submission()), certificatePem: stranger.certPem, privateKeyPem: stranger.keyPem });
      await expectRefusal(() => postRaw(signed), 'FailedAuthentication');
    });

    it('a Digest that does not match the content: DigestMismatch', async () => {
      const element = SenderClient.sendRegisteredMailElement(submission()).replace(
        /(<Digest[^>]*>)[^<]+(<\/Digest>)/,
        `$1${createHash('sha256').update('something else').digest('base64')}$2`,
      );
      await expectRefusal(() => postRaw(client.sign(element)), 'DigestMismatch');
    });

    it('an invalid SSIN: InvalidRecipient', async () => {
      const badSsin = CITIZEN.slice(0, 9) + String((Number(CITIZEN.slice(9)) % 97) + 1).padStart(2, '0');
      await expectRefusal(() => client.sendRegisteredMail(submission({ recipient: { kind: 'citizen', ssin: badSsin } })), 'InvalidRecipient');
    });

    it('an invalid enterprise number: InvalidRecipient', async () => {
      const badNumber = ENTERPRISE.slice(0, 8) + String((Number(ENTERPRISE.slice(8)) % 97) + 1).padStart(2, '0');
      await expectRefusal(
        () => client.sendRegisteredMail(submission({ recipient: { kind: 'enterprise', enterpriseNumber: badNumber } })),
        'InvalidRecipient',
      );
    });

    it('a document over the configured limit: DocumentTooLarge', async () => {
      const big = Buffer.alloc(100 * 1024, 7);
      await expectRefusal(() => client.sendRegisteredMail(submission({ document: { fileName: 'big.bin', mimeType: 'application/octet-stream', content: big } })), 'DocumentTooLarge');
    });

    it('a request over the request-size limit: DocumentTooLarge, before parsing', async () => {
      const huge = Buffer.alloc(300 * 1024, 7);
      await expectRefusal(() => client.sendRegisteredMail(submission({ document: { fileName: 'huge.bin', mimeType: 'application/octet-stream', content: huge } })), 'DocumentTooLarge');
    });

    it('a SOAPAction naming another operation than the signed Body: InvalidSecurity', async () => {
      const signed = client.sign(SenderClient.sendRegisteredMailElement(submission()));
      const answer = await postSoap(client.options, signed, 'urn:epost:registeredmail:v1/GetProofOfDelivery');
      expect(answer.status).to.equal(500);
      expect(answer.body.toString()).to.contain('InvalidSecurity');
    });
  });
});
