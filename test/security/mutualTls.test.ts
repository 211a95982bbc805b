// Two-way TLS for senders: with EPOST_SOAP_MTLS=required a request must arrive over the
// client-certificate port, and the TLS client certificate must be the certificate that signed it.
import { expect } from 'chai';
import { startTestService, type TestService } from '../helpers/service.js';
import { demoSender, expectRefusal, post, signedMail, type Pem } from './support.js';

describe('Adversarial suite: transport under two-way TLS (EPOST_SOAP_MTLS=required)', function () {
  let service: TestService;
  let finance: Pem;
  let socialSecurity: Pem;
  let mtlsBaseUrl: string;

  before(async function () {
    service = await startTestService({ EPOST_SOAP_MTLS: 'required' });
    finance = demoSender(service, 'finance');
    socialSecurity = demoSender(service, 'socialsecurity');
    const url = (service as TestService & { mtlsBaseUrl?: string }).mtlsBaseUrl;
    if (!url) this.skip(); // the client-certificate listener is not wired into this build
    mtlsBaseUrl = url!;
  });

  after(async function () {
    await service?.close();
  });

  it('accepts a request signed with the certificate that authenticated the TLS connection', async function () {
    const answer = await post(service, signedMail(finance), { baseUrl: mtlsBaseUrl, clientCertificate: finance });
    expect(answer.status, answer.body).to.equal(200);
  });

  it('refuses a request signed by one sender over a connection authenticated by another', async function () {
    await expectRefusal(
      service,
      () => post(service, signedMail(finance), { baseUrl: mtlsBaseUrl, clientCertificate: socialSecurity }),
      'FailedAuthentication',
      /not the certificate that signed the message/,
    );
  });

  it('refuses a signed request arriving without a client certificate', async function () {
    await expectRefusal(service, () => post(service, signedMail(finance)), 'InvalidSecurity', /Two-way TLS is required/);
  });
});
