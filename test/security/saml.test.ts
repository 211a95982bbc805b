// SAML Token Profile 1.1, holder-of-key (issue 8): a sender presents a SAML 2.0 assertion from the
// trusted security token service instead of an X.509 token, and signs with the key it confirms; the
// organisation the assertion names is the one that is authorised. Over real HTTPS to the real
// service; every refusal with its exact fault code, nothing stored and one disturbance recorded.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { postSoap } from '../../app/client/index.js';
import { registerSenderOrganisation } from '../../app/access/index.js';
import { enterpriseNumberFrom } from '../../app/identifiers/index.js';
import { issueCertificate, x509 } from '../../app/pki/index.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { devSts, issueAssertion, signWithAssertion, type AssertionOptions } from './samlSupport.js';
import { SOAP_ACTION, demoSender, devCas, expectRefusal, mailOperation, pemOf, post, senderCertificate, type Pem } from './support.js';

describe('SAML holder-of-key senders (issue 8)', function () {
  let service: TestService;
  let sts: Pem;
  /** A key of the sender's own, certified by the sender CA but registered nowhere: only the STS vouches for it. */
  let holder: Pem;
  let finance: string;

  before(async function () {
    service = await startTestService();
    sts = devSts(service);
    holder = pemOf(await senderCertificate((await devCas(service)).senderCa));
    finance = demoSender(service, 'finance').enterpriseNumber;
  });

  after(async () => {
    await service?.close();
  });

  function assertion(overrides: Partial<AssertionOptions> = {}) {
    return issueAssertion({ sts, confirmedCertificatePem: holder.certificatePem, enterpriseNumber: finance, ...overrides });
  }

  it('accepts a request signed with the key an assertion of the trusted STS confirms: the mail is stored and delivered', async () => {
    const before = await service.counts();
    const operationXml = mailOperation();
    const senderReference = /SEC-[0-9a-f-]{36}/.exec(operationXml)![0];
    const request = signWithAssertion(holder, assertion(), operationXml);
    const answer = await postSoap({ baseUrl: service.baseUrl, tlsCaPem: service.rootCaPem }, request, SOAP_ACTION.send);
    const body = answer.body.toString('utf8');
    expect(body, body.slice(0, 600)).not.to.contain('Fault>');
    expect(answer.status).to.equal(200);
    const after = await service.counts();
    expect(after.mails).to.equal(before.mails + 1);
    expect(after.documents).to.equal(before.documents + 1);
    expect(after.eboxMessages, 'delivered into the recipient eBox').to.equal(before.eboxMessages + 1);
    // The mail is the finance organisation's, though the confirmed certificate is registered to no one.
    const mail = await service.ctx.db('registered_mails').where({ sender_reference: senderReference }).first();
    expect(mail?.sender_enterprise_number).to.equal(finance);
  });

  it('refuses an unsigned assertion (InvalidSecurityToken)', async () => {
    const request = signWithAssertion(holder, assertion({ sts: undefined }));
    await expectRefusal(service, () => post(service, request), 'InvalidSecurityToken', /not signed/);
  });

  it('refuses an assertion signed by another issuer, even one certified by the same root under the STS name (FailedAuthentication)', async () => {
    const { root } = await devCas(service);
    const rogue = await issueCertificate({
      subject: 'CN=ePost Development Security Token Service, O=ePost (development only), C=BE',
      issuer: root,
      keyUsages: x509.KeyUsageFlags.digitalSignature,
    });
    const request = signWithAssertion(holder, assertion({ sts: pemOf(rogue) }));
    await expectRefusal(service, () => post(service, request), 'FailedAuthentication', /trusted security token service/);
  });

  it('refuses an assertion altered after the STS signed it: another organisation put in (FailedAuthentication)', async () => {
    const genuine = assertion();
    const other = demoSender(service, 'socialsecurity').enterpriseNumber;
    const altered = { ...genuine, xml: genuine.xml.replace(`<saml2:AttributeValue>${finance}<`, `<saml2:AttributeValue>${other}<`) };
    expect(altered.xml).not.to.equal(genuine.xml);
    await expectRefusal(service, () => post(service, signWithAssertion(holder, altered)), 'FailedAuthentication');
  });

  it('refuses an expired assertion (MessageExpired)', async () => {
    const now = Date.now();
    const request = signWithAssertion(holder, assertion({ notBefore: new Date(now - 2 * 3600_000), notOnOrAfter: new Date(now - 3600_000) }));
    await expectRefusal(service, () => post(service, request), 'MessageExpired', /expired/);
  });

  it('refuses an assertion not yet valid beyond the clock skew (MessageExpired)', async () => {
    const now = Date.now();
    const request = signWithAssertion(holder, assertion({ notBefore: new Date(now + 600_000), notOnOrAfter: new Date(now + 3600_000) }));
    await expectRefusal(service, () => post(service, request), 'MessageExpired', /not valid before/);
  });

  it('refuses a message signed with another key than the one the assertion confirms (FailedAuthentication)', async () => {
    // The other key is a genuine, registered sender's: still not the holder of this assertion.
    const request = signWithAssertion(demoSender(service, 'finance'), assertion());
    await expectRefusal(service, () => post(service, request), 'FailedAuthentication', /holder-of-key/);
  });

  it('refuses an assertion naming an organisation that is not registered (NotAuthorized)', async () => {
    const request = signWithAssertion(holder, assertion({ enterpriseNumber: enterpriseNumberFrom('04123456') }));
    await expectRefusal(service, () => post(service, request), 'NotAuthorized', /not registered/);
  });

  it('refuses an assertion naming a registered organisation not authorised to send (NotAuthorized)', async () => {
    const enterpriseNumber = enterpriseNumberFrom('05123456');
    await registerSenderOrganisation(service.ctx.db, {
      enterpriseNumber,
      name: `Proofs only ${randomUUID()}`,
      allowedOperations: ['GetProofOfDelivery'],
      allowedRecipientKinds: ['citizen'],
    });
    const request = signWithAssertion(holder, assertion({ enterpriseNumber }));
    await expectRefusal(service, () => post(service, request), 'NotAuthorized', /may not use SendRegisteredMail/);
  });

  it('refuses assertion wrapping: the genuine assertion hidden inside a forged one (InvalidSecurity)', async () => {
    const genuine = assertion();
    const forged = assertion({ sts: undefined, enterpriseNumber: demoSender(service, 'socialsecurity').enterpriseNumber });
    const wrapped = {
      id: forged.id,
      xml: forged.xml.replace('</saml2:Conditions>', '').replace(/(<saml2:Conditions [^>]*\/>)/, `$1<saml2:Advice>${genuine.xml}</saml2:Advice>`),
    };
    expect(wrapped.xml).to.contain('saml2:Advice');
    await expectRefusal(service, () => post(service, signWithAssertion(holder, wrapped)), 'InvalidSecurity', /SAML assertion/);
  });

  it('refuses a second element bearing the assertion ID, so no reference can be steered to a copy (FailedCheck)', async () => {
    const genuine = assertion();
    const request = signWithAssertion(holder, genuine).replace('<soap:Header>', `<soap:Header><x:Decoy xmlns:x="urn:attacker" ID="${genuine.id}"/>`);
    expect(request).to.contain('x:Decoy');
    await expectRefusal(service, () => post(service, request), 'FailedCheck', /more than once/);
  });

  it('refuses an assertion whose signature method is SHA-1 (UnsupportedAlgorithm), before any cryptography', async () => {
    const genuine = assertion();
    const sha1 = { ...genuine, xml: genuine.xml.replace('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'http://www.w3.org/2000/09/xmldsig#rsa-sha1') };
    expect(sha1.xml).not.to.equal(genuine.xml);
    await expectRefusal(service, () => post(service, signWithAssertion(holder, sha1)), 'UnsupportedAlgorithm');
  });

  it('refuses a KeyIdentifier naming another assertion than the one carried (SecurityTokenUnavailable)', async () => {
    const genuine = assertion();
    const request = signWithAssertion(holder, genuine).replace(`>${genuine.id}</wsse:KeyIdentifier>`, '>_someOtherAssertion</wsse:KeyIdentifier>');
    expect(request).to.contain('_someOtherAssertion');
    await expectRefusal(service, () => post(service, request), 'SecurityTokenUnavailable');
  });
});
