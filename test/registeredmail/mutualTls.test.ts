// Two-way TLS for senders (EPOST_SOAP_MTLS=required): the request must come over the
// client-certificate listener, and the TLS client certificate must be the one that signed it.
import { expect } from 'chai';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { SenderClient, SoapFault } from '../../app/client/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { startTestService, type TestService } from '../helpers/service.js';

describe('two-way TLS for senders', function () {
  let service: TestService;
  before(async () => {
    service = await startTestService({ EPOST_SOAP_MTLS: 'required' });
  });
  after(async () => service?.close());

  function senderClient(signer: number, tlsIdentity: number | undefined, baseUrl: string): SenderClient {
    const pem = (n: number) => service.devPki.senders[n]!;
    return new SenderClient({
      baseUrl,
      certificatePem: fs.readFileSync(pem(signer).certFile, 'utf8'),
      privateKeyPem: fs.readFileSync(pem(signer).keyFile, 'utf8'),
      tlsCaPem: service.rootCaPem,
      ...(tlsIdentity === undefined
        ? {}
        : { tlsClient: { cert: fs.readFileSync(pem(tlsIdentity).certFile, 'utf8'), key: fs.readFileSync(pem(tlsIdentity).keyFile, 'utf8') } }),
    });
  }

  const mail = () => ({
    senderReference: `mtls-${randomUUID()}`,
    recipient: { kind: 'citizen' as const, ssin: ssinFrom('850730033') },
    subject: 'Over two-way TLS',
    document: { fileName: 'a.txt', mimeType: 'text/plain', content: Buffer.from('two-way TLS') },
  });

  it('accepts a request whose TLS client certificate is its signing certificate', async () => {
    const sent = await senderClient(0, 0, service.mtlsBaseUrl).sendRegisteredMail(mail());
    expect(sent.registeredMailId).to.match(/^[0-9a-f-]{36}$/);
  });

  it('refuses the ordinary listener with InvalidSecurity', async () => {
    const fault = await senderClient(0, undefined, service.baseUrl).sendRegisteredMail(mail()).catch((e: unknown) => e);
    expect(fault).to.be.instanceOf(SoapFault);
    expect((fault as SoapFault).code).to.equal('InvalidSecurity');
  });

  it('refuses a TLS client certificate other than the signing one with FailedAuthentication', async () => {
    const before = await service.counts();
    const fault = await senderClient(0, 1, service.mtlsBaseUrl).sendRegisteredMail(mail()).catch((e: unknown) => e);
    expect(fault).to.be.instanceOf(SoapFault);
    expect((fault as SoapFault).code).to.equal('FailedAuthentication');
    expect(await service.counts()).to.deep.equal(before);
  });

  it('does not complete a TLS handshake without a client certificate on the client-certificate listener', async () => {
    const error = await senderClient(0, undefined, service.mtlsBaseUrl).sendRegisteredMail(mail()).catch((e: unknown) => e as Error);
    expect(error).to.be.instanceOf(Error);
    expect(error).to.not.be.instanceOf(SoapFault);
  });
});
