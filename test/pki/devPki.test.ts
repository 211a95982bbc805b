import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ensureDevPki, pkiLayout, x509 } from '../../app/pki/index.js';
import { createTestPki, disposeTestPki, type TestPki } from '../wssecurity/helpers.js';
import { DAY, writeCrl } from './helpers.js';

describe('Development PKI CRLs', function () {
  let pki: TestPki;

  before(async function () {
    pki = await createTestPki();
  });

  after(function () {
    disposeTestPki(pki);
  });

  function senderCaCrls(): x509.X509Crl[] {
    const dir = pkiLayout(pki.dir).crlsDir;
    return fs
      .readdirSync(dir)
      .map((f) => new x509.X509Crl(fs.readFileSync(path.join(dir, f), 'utf8')))
      .filter((crl) => crl.issuer === pki.senderCa.certificate.subject);
  }

  it('gives an existing development PKI without CRLs its CRLs on the next start', async function () {
    fs.rmSync(pkiLayout(pki.dir).crlsDir, { recursive: true });
    await ensureDevPki(pki.dir);
    expect(fs.readdirSync(pkiLayout(pki.dir).crlsDir).sort()).to.deep.equal(['dev-root-ca.crl.pem', 'dev-sender-ca.crl.pem']);
  });

  it('renews a CRL near its nextUpdate, keeping every certificate revoked before', async function () {
    const revoked = await pki.issueSender();
    const crlsDir = pkiLayout(pki.dir).crlsDir;
    await writeCrl(crlsDir, 'dev-sender-ca.crl.pem', {
      issuer: pki.senderCa,
      thisUpdate: new Date(Date.now() - DAY),
      nextUpdate: new Date(Date.now() + 2 * DAY),
      revoked: [{ serialNumber: revoked.certificate.serialNumber, reason: x509.X509CrlReason.superseded }],
    });
    await ensureDevPki(pki.dir);
    const [renewed] = senderCaCrls();
    expect(renewed!.nextUpdate!.getTime()).to.be.above(Date.now() + 300 * DAY);
    const entry = renewed!.findRevoked(revoked.certificate);
    expect(entry?.reason).to.equal(x509.X509CrlReason.superseded);
  });
});
