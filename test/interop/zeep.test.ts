// Interoperability: Python zeep, an independent SOAP stack, reads ePost's WSDL and sends a
// registered mail signed by its own WS-Security plugin; its SHA-1 defaults are refused.
import { expect } from 'chai';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ssinFrom } from '../../app/identifiers/index.js';
import { run } from '../helpers/run.js';
import { startTestService, type TestService } from '../helpers/service.js';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'zeep_send.py');

describe('interoperability with Python zeep (BinarySignature)', function () {
  let service: TestService;
  before(async () => {
    service = await startTestService();
  });
  after(async () => service?.close());

  async function zeep(mode: 'sha256' | 'sha1'): Promise<{ registeredMailId?: string; sendProofBytes?: number; fault?: string; reason?: string }> {
    const sender = service.devPki.senders[0]!;
    const result = await run(
      '/usr/bin/python3',
      [script, `${service.baseUrl}/soap/RegisteredMail?wsdl`, service.devPki.rootCaCert, sender.certFile, sender.keyFile, mode, ssinFrom('790101123')],
    );
    expect(result.status, result.stderr).to.equal(0);
    return JSON.parse(result.stdout.trim().split('\n').pop()!);
  }

  it('sends a registered mail from the WSDL, signed with RSA-SHA256 and SHA-256 digests, and gets a send-proof', async () => {
    const answer = await zeep('sha256');
    expect(answer.fault, answer.reason).to.equal(undefined);
    expect(answer.registeredMailId).to.match(/^[0-9a-f-]{36}$/);
    expect(answer.sendProofBytes).to.be.greaterThan(1000);
    const mail = await service.ctx.db('registered_mails').where({ id: answer.registeredMailId }).first();
    expect(mail).to.include({ subject: 'Sent by Python zeep', status: 'DELIVERED' });
  });

  it('is refused when zeep signs with its SHA-1 defaults', async () => {
    const before = Number((await service.ctx.db('registered_mails').count({ n: '*' }))[0]!.n);
    const answer = await zeep('sha1');
    expect(answer.fault).to.be.oneOf(['wsse:UnsupportedAlgorithm', 'wsse:InvalidSecurity']);
    expect(Number((await service.ctx.db('registered_mails').count({ n: '*' }))[0]!.n)).to.equal(before);
  });
});
