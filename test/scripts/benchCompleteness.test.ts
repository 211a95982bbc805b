// The bench counts only complete registered sends: after its levels it checks what the service stored
// against the answers its client saw. These tests run that check on a real service's database, whole
// and then with a mail's companions removed or its proof replaced.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { postSoap, SenderClient } from '../../app/client/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { readPemTexts } from '../../app/pki/index.js';
import { AcknowledgedSends, checkCompleteness, type CompletenessOptions } from '../../scripts/benchCompleteness.js';
import { pkiLayout, startTestService, testBackend, type TestService } from '../helpers/service.js';

describe(`bench: only complete registered sends count (${testBackend})`, function () {
  this.timeout(60_000);
  let service: TestService;
  let options: CompletenessOptions;
  const acknowledged = new AcknowledgedSends(1); // every send-proof kept
  const ids: string[] = [];

  before(async () => {
    service = await startTestService();
    const layout = pkiLayout(service.certsDir);
    options = { trust: { anchorsPem: readPemTexts(layout.anchorsDir), intermediatesPem: readPemTexts(layout.intermediatesDir) } };
    const client = service.client();
    for (let i = 0; i < 4; i++) {
      const request = client.sign(
        SenderClient.sendRegisteredMailElement({
          senderReference: `complete-${randomUUID()}`,
          recipient: { kind: 'citizen', ssin: ssinFrom('850730033') },
          subject: 'Completeness',
          document: { fileName: 'c.txt', mimeType: 'text/plain', content: Buffer.from(`letter ${i}`) },
        }),
      );
      const { status, body } = await postSoap({ baseUrl: service.baseUrl, tlsCaPem: service.rootCaPem }, Buffer.from(request), 'urn:epost:registeredmail:v1/SendRegisteredMail');
      expect(status).to.equal(200);
      expect(acknowledged.record(body.toString('utf8')), 'an answer with a mail id and a send-proof').to.equal(true);
    }
    ids.push(...acknowledged.ids);
  });

  after(() => service?.close());

  it('does not count a fault as an acknowledged send', () => {
    const fault = '<soap:Fault><faultcode>soap:Client</faultcode><faultstring>InvalidSecurity</faultstring></soap:Fault>';
    expect(new AcknowledgedSends().record(fault)).to.equal(false);
  });

  it('finds every acknowledged send stored with its companions, its proofs verifying and the log intact', async () => {
    const report = await checkCompleteness(service.ctx.db, acknowledged, options);
    expect(report).to.deep.include({ acknowledged: 4, storedMails: 4, missing: [], incomplete: [], unacknowledged: 0, proofsVerified: 4, proofProblems: [] });
    expect(report.log.ok, report.log.problems.join('; ')).to.equal(true);
    expect(report.complete).to.equal(true);
  });

  it('reports an acknowledged send that was not stored', async () => {
    const withPhantom = Object.assign(new AcknowledgedSends(), { ids: new Set([...ids, '01J00000000000000000000000']) });
    const report = await checkCompleteness(service.ctx.db, withPhantom, options);
    expect(report.missing).to.deep.equal(['01J00000000000000000000000']);
    expect(report.complete).to.equal(false);
  });

  it('counts a stored mail whose answer the client never saw, which is no incompleteness', async () => {
    const answerLost = Object.assign(new AcknowledgedSends(), { ids: new Set(ids.slice(1)) });
    const report = await checkCompleteness(service.ctx.db, answerLost, options);
    expect(report).to.deep.include({ acknowledged: 3, storedMails: 4, unacknowledged: 1, missing: [], complete: true });
  });

  it('reports a mail without its eBox entry or delivery proof, and a send-proof that is not the one handed out', async () => {
    const db = service.ctx.db;
    await db('ebox_messages').where({ registered_mail_id: ids[0] }).delete();
    await db('proofs').where({ registered_mail_id: ids[1], kind: 'DeliveryProof' }).delete();
    const other = await db('proofs').where({ registered_mail_id: ids[3], kind: 'SendProof' }).first('sealed_xml');
    await db('proofs').where({ registered_mail_id: ids[2], kind: 'SendProof' }).update({ sealed_xml: other.sealed_xml });

    const report = await checkCompleteness(db, acknowledged, options);
    expect(report.complete).to.equal(false);
    expect(report.incomplete).to.deep.include({ registeredMailId: ids[0], lacking: ['its eBox entry'] });
    expect(report.incomplete).to.deep.include({ registeredMailId: ids[1], lacking: ['its delivery proof'] });
    expect(report.proofProblems).to.have.length(2);
    expect(report.proofProblems.join('\n')).to.include(`${ids[1]}: its proofs are not stored`).and.include(`${ids[2]}: the stored send-proof is not the one handed out`);
    expect(report.proofsVerified).to.equal(2);
  });
});
