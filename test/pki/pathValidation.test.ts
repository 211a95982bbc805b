import fs from 'node:fs';
import { expect } from 'chai';
import { issueCertificate, parsePemCertificates, pkiLayout, sameCertificate, validateCertificatePath, x509 } from '../../app/pki/index.js';
import { createTestPki, disposeTestPki, type TestPki } from '../wssecurity/helpers.js';
import { DAY, refusalOf, rootCaOf } from './helpers.js';

const KU = x509.KeyUsageFlags;

describe('validateCertificatePath (the one RFC 5280 path validator)', function () {
  let pki: TestPki;
  let root: x509.X509Certificate;
  let senderCa: x509.X509Certificate;
  let sender: x509.X509Certificate;

  before(async function () {
    pki = await createTestPki();
    root = new x509.X509Certificate(fs.readFileSync(pki.manifest.rootCaCert, 'utf8'));
    senderCa = pki.senderCa.certificate;
    sender = new x509.X509Certificate(pki.sender.certificatePem);
  });

  after(function () {
    disposeTestPki(pki);
  });

  it('returns the path leaf first and anchor last, completing it with the intermediates offered', async function () {
    const path = await validateCertificatePath(sender, { anchors: [root], intermediates: [senderCa], at: new Date(), purpose: 'sender' });
    expect(path.map((c) => c.subject)).to.deep.equal([sender.subject, senderCa.subject, root.subject]);
    expect(sameCertificate(path[2]!, root)).to.equal(true);
  });

  it('checks every instant given: valid now and at a past instant, refused (FailedCheck by default) when one falls outside', async function () {
    const options = { anchors: [root], intermediates: [senderCa] };
    await validateCertificatePath(sender, { ...options, at: [new Date(), new Date(Date.now() - 3_600_000)] });
    const { code, message } = await refusalOf(validateCertificatePath(sender, { ...options, at: [new Date(), new Date(Date.now() - 30 * DAY)], what: 'sealing' }));
    expect(code).to.equal('FailedCheck');
    expect(message).to.match(/^The sealing certificate ".*" is not valid before/);
  });

  it('uses the caller\'s error code and names what the certificate is for', async function () {
    const { code, message } = await refusalOf(validateCertificatePath(sender, { anchors: [root], intermediates: [], at: new Date(), what: 'sender', errorCode: 'FailedAuthentication' }));
    expect(code).to.equal('FailedAuthentication');
    expect(message).to.match(/^The sender certificate does not chain to a trusted anchor/);
  });

  it('compares anchors by DER: a look-alike root carried by a document is an untrusted intermediate, not an anchor', async function () {
    const lookAlike = await issueCertificate({ subject: root.subject, ca: {}, keyUsages: KU.keyCertSign | KU.cRLSign });
    const forged = await issueCertificate({ subject: 'CN=Forged sealing', issuer: lookAlike, keyUsages: KU.digitalSignature });
    const { message } = await refusalOf(
      validateCertificatePath(forged.certificate, { anchors: [root], intermediates: [lookAlike.certificate], at: new Date(), what: 'sealing' }),
    );
    expect(message).to.match(/not made by|does not chain to a trusted anchor/);
  });

  it('applies the purpose: the TSA passes as timestamping and fails as sender; a sender fails as timestamping', async function () {
    const [tsa] = parsePemCertificates([fs.readFileSync(pkiLayout(pki.dir).tsaCert, 'utf8')]);
    const options = { anchors: [root], intermediates: [senderCa], at: new Date() };
    await validateCertificatePath(tsa!, { ...options, purpose: 'timestamping' });
    expect((await refusalOf(validateCertificatePath(tsa!, { ...options, purpose: 'sender' }))).message).to.match(/extendedKeyUsage/);
    expect((await refusalOf(validateCertificatePath(sender, { ...options, purpose: 'timestamping' }))).message).to.match(/id-kp-timeStamping/);
  });

  it('applies the sealing purpose: the sealing certificate passes, a CA does not', async function () {
    const [sealing] = parsePemCertificates([fs.readFileSync(pkiLayout(pki.dir).sealingCert, 'utf8')]);
    const options = { anchors: [root], intermediates: [senderCa], at: new Date(), purpose: 'sealing' as const };
    await validateCertificatePath(sealing!, options);
    expect((await refusalOf(validateCertificatePath(senderCa, options))).message).to.match(/is a certificate authority/);
  });

  it('trusts a certificate configured as an anchor as it is', async function () {
    const path = await validateCertificatePath(sender, { anchors: [root, sender], intermediates: [], at: new Date() });
    expect(path).to.have.length(1);
  });

  it('refuses a weak key anywhere on the path, with the reason the verifiers report', async function () {
    const rootIssuer = await rootCaOf(pki);
    const weak = await issueCertificate({ subject: 'CN=Weak sealing', issuer: rootIssuer, key: { kind: 'rsa', bits: 1024 }, keyUsages: KU.digitalSignature });
    const { message } = await refusalOf(validateCertificatePath(weak.certificate, { anchors: [root], intermediates: [], at: new Date(), what: 'sealing' }));
    expect(message).to.match(/too weak: a 1024-bit RSA key/);
  });

  it('bounds the work a document full of same-named certificates can cause', async function () {
    const decoys = [];
    for (let i = 0; i < 40; i++) {
      decoys.push((await issueCertificate({ subject: senderCa.subject, ca: {}, keyUsages: KU.keyCertSign, key: { kind: 'ec', curve: 'P-256' } })).certificate);
    }
    const { message } = await refusalOf(validateCertificatePath(sender, { anchors: [root], intermediates: [...decoys, senderCa], at: new Date() }));
    expect(message).to.match(/could not be built within 32 signature checks/);
  });
});
