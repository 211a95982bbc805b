import { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { issueCertificate, pkiLayout, TrustStore, x509 } from '../../app/pki/index.js';
import { createTestPki, disposeTestPki, type TestPki } from '../wssecurity/helpers.js';

const KU = x509.KeyUsageFlags;
const YEAR = 365 * 86_400_000;

async function refusalOf(promise: Promise<void>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name?: string; code: string; message: string };
    if (e.name !== 'EpostError') throw err;
    return { code: e.code, message: e.message };
  }
  throw new Error('the trust store accepted the certificate');
}

describe('TrustStore (sender certificates)', function () {
  let pki: TestPki;

  before(async function () {
    pki = await createTestPki();
  });

  after(function () {
    disposeTestPki(pki);
  });

  function demoSender(): x509.X509Certificate {
    return new x509.X509Certificate(pki.sender.certificatePem);
  }

  it('reads anchors and intermediates from directories, several certificates per file', async function () {
    const layout = pkiLayout(pki.dir);
    const bundleDir = fs.mkdtempSync(path.join(pki.dir, 'bundle-'));
    const other = await issueCertificate({ subject: 'CN=Other root', ca: {}, keyUsages: KU.keyCertSign });
    fs.writeFileSync(path.join(bundleDir, 'bundle.pem'), other.certPem + fs.readFileSync(path.join(layout.anchorsDir, 'dev-root-ca.pem'), 'utf8'));
    fs.writeFileSync(path.join(bundleDir, 'ignored.txt'), other.certPem);
    const store = TrustStore.fromDirectories(bundleDir, layout.intermediatesDir);
    expect(store.anchorCount).to.equal(2);
    await store.validateSigner(demoSender(), new Date());
  });

  it('refuses a chain without its intermediate', async function () {
    const store = TrustStore.fromDirectories(pkiLayout(pki.dir).anchorsDir, path.join(pki.dir, 'no-such-dir'));
    const { code, message } = await refusalOf(store.validateSigner(demoSender(), new Date()));
    expect(code).to.equal('FailedAuthentication');
    expect(message).to.match(/does not chain/);
  });

  it('checks the validity window on every call, also when the chain is cached', async function () {
    await pki.trust.validateSigner(demoSender(), new Date());
    const { code, message } = await refusalOf(pki.trust.validateSigner(demoSender(), new Date(Date.now() + 3 * YEAR)));
    expect(code).to.equal('FailedAuthentication');
    expect(message).to.match(/expired/);
    await pki.trust.validateSigner(demoSender(), new Date());
  });

  it('enforces the path length of the sender CA (pathLength 0: no sub-CA below it)', async function () {
    const subCa = await issueCertificate({ subject: 'CN=Rogue sub-CA', issuer: pki.senderCa, ca: {}, keyUsages: KU.keyCertSign });
    const leaf = await issueCertificate({ subject: 'CN=Leaf under rogue sub-CA', issuer: subCa, keyUsages: KU.digitalSignature });
    const store = new TrustStore(
      [new x509.X509Certificate(fs.readFileSync(pki.manifest.rootCaCert, 'utf8'))],
      [pki.senderCa.certificate, subCa.certificate],
    );
    const { code, message } = await refusalOf(store.validateSigner(leaf.certificate, new Date()));
    expect(code).to.equal('FailedAuthentication');
    expect(message).to.match(/allows 0 intermediate/);
  });

  it('refuses a certificate issued by an end entity (no basicConstraints cA)', async function () {
    const sender = await pki.issueSender();
    const leaf = await issueCertificate({ subject: 'CN=Issued by an end entity', issuer: sender, keyUsages: KU.digitalSignature });
    const store = new TrustStore([new x509.X509Certificate(fs.readFileSync(pki.manifest.rootCaCert, 'utf8'))], [pki.senderCa.certificate, sender.certificate]);
    const { code, message } = await refusalOf(store.validateSigner(leaf.certificate, new Date()));
    expect(code).to.equal('FailedAuthentication');
    expect(message).to.match(/not a certificate authority/);
  });

  it('refuses a certificate whose extendedKeyUsage is only timeStamping (the TSA)', async function () {
    const tsa = new x509.X509Certificate(fs.readFileSync(pkiLayout(pki.dir).tsaCert, 'utf8'));
    const { code, message } = await refusalOf(pki.trust.validateSigner(tsa, new Date()));
    expect(code).to.equal('FailedAuthentication');
    expect(message).to.match(/extendedKeyUsage/);
  });

  it('accepts a P-384 key and refuses an unknown critical extension', async function () {
    const p384 = await pki.issueSender({ key: { kind: 'ec', curve: 'P-384' } });
    await pki.trust.validateSigner(p384.certificate, new Date());
    const withCritical = await x509.X509CertificateGenerator.create({
      serialNumber: '01',
      subject: 'CN=Critical extension',
      issuer: pki.senderCa.certificate.subject,
      notBefore: new Date(Date.now() - 3_600_000),
      notAfter: new Date(Date.now() + YEAR),
      publicKey: p384.keys.publicKey,
      signingKey: pki.senderCa.keys.privateKey,
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm,
      extensions: [new x509.KeyUsagesExtension(KU.digitalSignature, true), new x509.Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([5, 0]))],
    });
    const { code, message } = await refusalOf(pki.trust.validateSigner(withCritical, new Date()));
    expect(code).to.equal('FailedAuthentication');
    expect(message).to.match(/critical extension/);
  });

  it('refuses a certificate signed with SHA-1 by a trusted CA', async function () {
    const sha1Key = await webcrypto.subtle.importKey(
      'pkcs8',
      x509.PemConverter.decodeFirst(pki.senderCa.privateKeyPem),
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-1' },
      false,
      ['sign'],
    );
    const subject = await pki.issueSender();
    const sha1Signed = await x509.X509CertificateGenerator.create({
      serialNumber: '02',
      subject: 'CN=SHA-1 signed sender',
      issuer: pki.senderCa.certificate.subject,
      notBefore: new Date(Date.now() - 3_600_000),
      notAfter: new Date(Date.now() + YEAR),
      publicKey: subject.keys.publicKey,
      signingKey: sha1Key,
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-1' } as Algorithm,
      extensions: [new x509.KeyUsagesExtension(KU.digitalSignature, true)],
    });
    const { code, message } = await refusalOf(pki.trust.validateSigner(sha1Signed, new Date()));
    expect(code).to.equal('FailedAuthentication');
    expect(message).to.match(/SHA-1/);
  });
});
