import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { webcrypto } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { CrlStore, issueCertificate, issueCrl, pkiLayout, TrustStore, x509, type RevocationMode } from '../../app/pki/index.js';
import { createTestPki, disposeTestPki, type TestPki } from '../wssecurity/helpers.js';
import { DAY, freshDir, goodCrlDir, refusalOf, rootCaOf, writeCrl } from './helpers.js';

const KU = x509.KeyUsageFlags;

describe('Revocation of sender certificates by CRL', function () {
  let pki: TestPki;

  before(async function () {
    pki = await createTestPki();
  });

  after(function () {
    disposeTestPki(pki);
  });

  function store(crlsDir: string, revocation: RevocationMode = 'require', fetch = false): TrustStore {
    const layout = pkiLayout(pki.dir);
    return TrustStore.fromDirectories(layout.anchorsDir, layout.intermediatesDir, { crlsDir, revocation, fetch });
  }

  function demoSender(): x509.X509Certificate {
    return new x509.X509Certificate(pki.sender.certificatePem);
  }

  it('the development PKI publishes a current CRL for each of its CAs, which the default trust store relies on', async function () {
    const crlsDir = pkiLayout(pki.dir).crlsDir;
    const files = fs.readdirSync(crlsDir).sort();
    expect(files).to.deep.equal(['dev-root-ca.crl.pem', 'dev-sender-ca.crl.pem']);
    const senderCaCrl = new x509.X509Crl(fs.readFileSync(path.join(crlsDir, 'dev-sender-ca.crl.pem'), 'utf8'));
    expect(await senderCaCrl.verify({ publicKey: pki.senderCa.certificate.publicKey })).to.equal(true);
    expect(senderCaCrl.nextUpdate!.getTime()).to.be.above(Date.now() + 300 * DAY);
    expect(pki.trust.revocation).to.equal('require');
    await pki.trust.validateSigner(demoSender(), new Date());
    // Without those files the same store fails closed.
    const { code, message } = await refusalOf(store(freshDir(pki, 'empty')).validateSigner(demoSender(), new Date()));
    expect(code).to.equal('FailedAuthentication');
    expect(message).to.match(/revocation status of the sender certificate .* cannot be established/);
  });

  it('refuses a certificate its CA revoked, naming the revocation date and reason, and still accepts the others', async function () {
    const revoked = await pki.issueSender();
    const dir = freshDir(pki, 'revoked');
    await writeCrl(dir, 'root.crl.pem', { issuer: await rootCaOf(pki) });
    const revokedAt = new Date(Math.floor((Date.now() - 3_600_000) / 1000) * 1000); // CRL times have whole seconds
    await writeCrl(dir, 'sender-ca.crl', {
      issuer: pki.senderCa,
      revoked: [{ serialNumber: revoked.certificate.serialNumber, revocationDate: revokedAt, reason: x509.X509CrlReason.keyCompromise }],
    });
    const trust = store(dir);
    const { code, message } = await refusalOf(trust.validateSigner(revoked.certificate, new Date()));
    expect(code).to.equal('FailedAuthentication');
    expect(message).to.contain(`was revoked on ${revokedAt.toISOString()} (keyCompromise)`);
    await trust.validateSigner(demoSender(), new Date());
  });

  it('reads DER CRL files as well as PEM', async function () {
    const revoked = await pki.issueSender();
    const dir = freshDir(pki, 'der');
    await writeCrl(dir, 'root.crl.pem', { issuer: await rootCaOf(pki) });
    const crl = await issueCrl({ issuer: pki.senderCa, nextUpdate: new Date(Date.now() + DAY), revoked: [{ serialNumber: revoked.certificate.serialNumber }] });
    fs.writeFileSync(path.join(dir, 'sender-ca.crl'), Buffer.from(crl.rawData));
    expect((await refusalOf(store(dir).validateSigner(revoked.certificate, new Date()))).message).to.match(/was revoked/);
  });

  it('mode prefer accepts an unknown status but still refuses a revoked certificate; mode off checks nothing', async function () {
    await store(freshDir(pki, 'prefer-empty'), 'prefer').validateSigner(demoSender(), new Date());
    const revoked = await pki.issueSender();
    const dir = freshDir(pki, 'prefer');
    await writeCrl(dir, 'sender-ca.crl.pem', { issuer: pki.senderCa, revoked: [{ serialNumber: revoked.certificate.serialNumber }] });
    expect((await refusalOf(store(dir, 'prefer').validateSigner(revoked.certificate, new Date()))).message).to.match(/was revoked/);
    await store(dir, 'off').validateSigner(revoked.certificate, new Date());
  });

  it('treats a CRL past its nextUpdate as no CRL at all', async function () {
    const dir = freshDir(pki, 'stale');
    await writeCrl(dir, 'root.crl.pem', { issuer: await rootCaOf(pki) });
    await writeCrl(dir, 'sender-ca.crl.pem', { issuer: pki.senderCa, thisUpdate: new Date(Date.now() - 8 * DAY), nextUpdate: new Date(Date.now() - DAY) });
    const { message } = await refusalOf(store(dir).validateSigner(demoSender(), new Date()));
    expect(message).to.match(/cannot be established: no current CRL signed by "CN=ePost Development Sender CA/);
  });

  it('ignores a CRL its issuer did not sign: a forged, newer, empty CRL under the CA name revokes nothing back', async function () {
    const revoked = await pki.issueSender();
    const impostor = await issueCertificate({ subject: pki.senderCa.certificate.subject, ca: {}, keyUsages: KU.keyCertSign | KU.cRLSign });
    const dir = freshDir(pki, 'forged');
    await writeCrl(dir, 'root.crl.pem', { issuer: await rootCaOf(pki) });
    await writeCrl(dir, 'genuine.crl.pem', {
      issuer: pki.senderCa,
      thisUpdate: new Date(Date.now() - 3_600_000),
      revoked: [{ serialNumber: revoked.certificate.serialNumber }],
    });
    await writeCrl(dir, 'forged.crl.pem', { issuer: impostor, thisUpdate: new Date(Date.now() - 60_000) });
    expect((await refusalOf(store(dir).validateSigner(revoked.certificate, new Date()))).message).to.match(/was revoked/);
    // Alone, the forged CRL establishes nothing.
    const forgedOnly = freshDir(pki, 'forged-only');
    await writeCrl(forgedOnly, 'root.crl.pem', { issuer: await rootCaOf(pki) });
    await writeCrl(forgedOnly, 'forged.crl.pem', { issuer: impostor });
    expect((await refusalOf(store(forgedOnly).validateSigner(demoSender(), new Date()))).message).to.match(/cannot be established/);
  });

  it('ignores a CRL signed with SHA-1, even by the right CA', async function () {
    const sha1Key = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pki.senderCa.privateKeyPem), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-1' }, false, ['sign']);
    const crl = await x509.X509CrlGenerator.create({
      issuer: pki.senderCa.certificate.subjectName,
      thisUpdate: new Date(Date.now() - 60_000),
      nextUpdate: new Date(Date.now() + DAY),
      signingKey: sha1Key,
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-1' } as Algorithm,
    });
    const dir = freshDir(pki, 'sha1');
    await writeCrl(dir, 'root.crl.pem', { issuer: await rootCaOf(pki) });
    fs.writeFileSync(path.join(dir, 'sender-ca.crl.pem'), crl.toString('pem'));
    expect((await refusalOf(store(dir).validateSigner(demoSender(), new Date()))).message).to.match(/cannot be established/);
  });

  it('checks every certificate below the anchor: a sender CA revoked by the root fails the senders it issued', async function () {
    const root = await rootCaOf(pki);
    const subCa = await issueCertificate({ subject: 'CN=Revoked Sender CA (test)', issuer: root, ca: { pathLength: 0 }, keyUsages: KU.keyCertSign | KU.cRLSign });
    const leaf = await issueCertificate({ subject: 'CN=Sender under a revoked CA', issuer: subCa, keyUsages: KU.digitalSignature });
    const dir = freshDir(pki, 'revoked-ca');
    await writeCrl(dir, 'root.crl.pem', { issuer: root, revoked: [{ serialNumber: subCa.certificate.serialNumber, reason: x509.X509CrlReason.cACompromise }] });
    await writeCrl(dir, 'sub-ca.crl.pem', { issuer: subCa });
    const trust = new TrustStore([root.certificate], [subCa.certificate], { crls: new CrlStore({ directory: dir, fetch: false }) });
    const { message } = await refusalOf(trust.validateSigner(leaf.certificate, new Date()));
    expect(message).to.match(/issuer certificate "CN=Revoked Sender CA \(test\)" .* was revoked .*cACompromise/);
  });

  it('sees a CRL dropped into the directory at once, also for a certificate already validated and cached as good', async function () {
    const sender = await pki.issueSender();
    const dir = await goodCrlDir(pki, 'drop');
    const trust = store(dir);
    await trust.validateSigner(sender.certificate, new Date());
    await trust.validateSigner(sender.certificate, new Date()); // cached
    await writeCrl(dir, 'sender-ca-2.crl.pem', { issuer: pki.senderCa, thisUpdate: new Date(), revoked: [{ serialNumber: sender.certificate.serialNumber }] });
    expect((await refusalOf(trust.validateSigner(sender.certificate, new Date()))).message).to.match(/was revoked/);
  });

  describe('CRL distribution points', function () {
    let server: http.Server;
    let baseUrl: string;
    let crlBytes: Buffer = Buffer.alloc(0);
    let downloads = 0;

    before(async function () {
      server = http.createServer((req, res) => {
        downloads++;
        if (req.url === '/sender-ca.crl') res.writeHead(200, { 'Content-Type': 'application/pkix-crl' }).end(crlBytes);
        else res.writeHead(404).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(function () {
      server.close();
    });

    it('downloads the CRL named by a validated certificate when none is at hand, once, and applies it', async function () {
      const cdp = [`${baseUrl}/sender-ca.crl`];
      const good = await pki.issueSender({ crlDistributionPoints: cdp });
      const revoked = await pki.issueSender({ crlDistributionPoints: cdp });
      crlBytes = Buffer.from((await issueCrl({ issuer: pki.senderCa, nextUpdate: new Date(Date.now() + DAY), revoked: [{ serialNumber: revoked.certificate.serialNumber }] })).rawData);
      const dir = freshDir(pki, 'cdp');
      await writeCrl(dir, 'root.crl.pem', { issuer: await rootCaOf(pki) });
      const trust = store(dir, 'require', true);
      downloads = 0;
      await trust.validateSigner(good.certificate, new Date());
      expect(downloads).to.equal(1);
      expect((await refusalOf(trust.validateSigner(revoked.certificate, new Date()))).message).to.match(/was revoked/);
      expect(downloads).to.equal(1);
    });

    it('fails closed when the distribution point cannot be reached, and does not fetch with fetching disabled', async function () {
      const unreachable = await pki.issueSender({ crlDistributionPoints: [`${baseUrl}/missing.crl`] });
      const dir = freshDir(pki, 'cdp-missing');
      await writeCrl(dir, 'root.crl.pem', { issuer: await rootCaOf(pki) });
      downloads = 0;
      expect((await refusalOf(store(dir, 'require', true).validateSigner(unreachable.certificate, new Date()))).message).to.match(/cannot be established/);
      expect(downloads).to.equal(1);
      const reachable = await pki.issueSender({ crlDistributionPoints: [`${baseUrl}/sender-ca.crl`] });
      expect((await refusalOf(store(dir, 'require', false).validateSigner(reachable.certificate, new Date()))).message).to.match(/cannot be established/);
      expect(downloads).to.equal(1);
    });
  });
});
