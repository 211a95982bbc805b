// A send refused from an authenticated sender yields a sealed SubmissionRejection evidence: in the
// fault, stored, referenced by the refusal's log record, and verifiable with independent tools. An
// unauthenticated refusal yields none (there is nobody to attribute the submission to).
import { expect } from 'chai';
import { createHash, randomUUID } from 'node:crypto';
import { SenderClient, SoapFault } from '../../app/client/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { issueCertificate, x509 } from '../../app/pki/issue.js';
import { verifyEvidence } from '../../app/proofs/index.js';
import { signRequest } from '../../app/wssecurity/index.js';
import { verifyProofIndependently } from '../helpers/independentVerifiers.js';
import { pkiLayout, startTestService, testBackend, type TestService } from '../helpers/service.js';

describe(`SubmissionRejection evidence (${testBackend})`, function () {
  let service: TestService;
  before(async () => {
    service = await startTestService();
  });
  after(async () => service?.close());

  const element = (senderReference: string) =>
    SenderClient.sendRegisteredMailElement({
      senderReference,
      recipient: { kind: 'citizen', ssin: ssinFrom('850730033') },
      subject: 'Rejected',
      document: { fileName: 'r.txt', mimeType: 'text/plain', content: Buffer.from('the real content') },
    }).replace(/(<Digest[^>]*>)[^<]+(<\/Digest>)/, `$1${createHash('sha256').update('other content').digest('base64')}$2`);

  it('is returned in the fault of a refused send, stored, logged and verifiable', async () => {
    const client = service.client();
    const reference = `rejected-${randomUUID()}`;
    const fault = await client.post(client.sign(element(reference)), 'SendRegisteredMail').then(
      () => undefined,
      (e: unknown) => e as SoapFault,
    );
    expect(fault).to.be.instanceOf(SoapFault);
    expect(fault!.code).to.equal('DigestMismatch');
    expect(fault!.rejectionEvidence, 'the sealed rejection in the fault').to.be.instanceOf(Buffer);

    const verified = await verifyEvidence(fault!.rejectionEvidence!, [service.rootCaPem]);
    expect(verified.facts.event).to.equal('SubmissionRejection');
    expect(verified.facts.senderReference).to.equal(reference);
    expect(verified.facts.sender.enterpriseNumber).to.equal(service.devPki.senders[0]!.enterpriseNumber);
    expect(verified.facts.reasons?.[0]?.code).to.equal('DigestMismatch');
    const independent = verifyProofIndependently(fault!.rejectionEvidence!, service.devPki.rootCaCert, pkiLayout(service.certsDir).tsaCert);
    expect(independent.xmlsec1.ok, independent.xmlsec1.output).to.equal(true);
    expect(independent.openssl.ok, independent.openssl.output).to.equal(true);

    const stored = await service.ctx.db('submission_rejections').where({ sender_reference: reference }).first();
    expect(Buffer.from(stored.sealed_xml).equals(fault!.rejectionEvidence!)).to.equal(true);
    const record = await service.ctx.db('audit_records').where({ evidence_id: stored.evidence_id }).first();
    expect(record).to.include({ outcome: 'refused', disturbance_code: 'DigestMismatch' });
    expect(await service.ctx.db('registered_mails').where({ sender_reference: reference })).to.have.length(0);
  });

  it('is not produced when the sender could not be authenticated', async () => {
    const KU = x509.KeyUsageFlags;
    const rogueRoot = await issueCertificate({ subject: 'CN=Rogue Root', ca: {}, keyUsages: KU.keyCertSign | KU.cRLSign });
    const rogue = await issueCertificate({ subject: 'CN=Rogue sender', issuer: rogueRoot, keyUsages: KU.digitalSignature });
    const before = Number((await service.ctx.db('submission_rejections').count({ n: '*' }))[0]!.n);
    const fault = await service
      .client()
      .post(signRequest({ operationXml: element(`rogue-${randomUUID()}`), certificatePem: rogue.certPem, privateKeyPem: rogue.keyPem }), 'SendRegisteredMail')
      .then(
        () => undefined,
        (e: unknown) => e as SoapFault,
      );
    expect(fault!.code).to.equal('FailedAuthentication');
    expect(fault!.rejectionEvidence).to.equal(undefined);
    expect(Number((await service.ctx.db('submission_rejections').count({ n: '*' }))[0]!.n)).to.equal(before);
  });
});
