// Both directions against independent implementations.
// - signRequest() output checked by xmlsec1 (libxmlsec1 on OpenSSL). xmlsec1 knows nothing of
//   WS-Security, so it is told which attributes are ids (--id-attr:Id on soap:Body and wsu:Timestamp;
//   it matches the attribute by local name, so wsu:Id qualifies) and given the sender certificate's
//   key directly (--pubkey-cert-pem), as it cannot follow a SecurityTokenReference.
// - The gate checking requests signed by Python zeep's BinarySignature (python-xmlsec).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { signRequest, verifyRequest, SOAP11_NS, WSU_NS } from '../../app/wssecurity/index.js';
import { OPERATION_XML, createTestPki, disposeTestPki, gateOptions, pemOf, refusal, replaceOnce, type Pem, type TestPki } from './helpers.js';

const zeepSigner = path.join(path.dirname(fileURLToPath(import.meta.url)), 'zeep_sign.py');

function signWithZeep(pki: TestPki, mode: 'sha256' | 'sha1'): string {
  const sender = pki.manifest.senders[0]!;
  const unsigned = `<soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Header/><soap:Body>${OPERATION_XML}</soap:Body></soap:Envelope>`;
  const run = spawnSync('/usr/bin/python3', [zeepSigner, sender.certFile, sender.keyFile, mode], { input: unsigned, encoding: 'utf8', timeout: 60_000 });
  expect(run.status, run.stderr).to.equal(0);
  return run.stdout;
}

function xmlsec1Verify(dir: string, xml: string, certificatePem: string): { status: number | null; output: string } {
  const xmlFile = path.join(dir, `request-${Date.now()}-${Math.random().toString(16).slice(2)}.xml`);
  const certFile = `${xmlFile}.cert.pem`;
  fs.writeFileSync(xmlFile, xml);
  fs.writeFileSync(certFile, certificatePem);
  const result = spawnSync(
    'xmlsec1',
    ['--verify', '--pubkey-cert-pem', certFile, '--id-attr:Id', `${SOAP11_NS}:Body`, '--id-attr:Id', `${WSU_NS}:Timestamp`, xmlFile],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('WS-Security interoperability (xmlsec1, Python zeep)', function () {
  let pki: TestPki;
  let ecP256: Pem;
  let ecP384: Pem;

  before(async function () {
    pki = await createTestPki();
    ecP256 = pemOf(await pki.issueSender({ key: { kind: 'ec', curve: 'P-256' } }));
    ecP384 = pemOf(await pki.issueSender({ key: { kind: 'ec', curve: 'P-384' } }));
  });

  after(function () {
    disposeTestPki(pki);
  });

  const cases: Array<[string, () => Pem, Parameters<typeof signRequest>[0]['signatureAlgorithm']]> = [
    ['RSA-SHA256 (the default for RSA)', () => pki.sender, undefined],
    ['RSA-SHA512', () => pki.sender, 'rsa-sha512'],
    ['ECDSA-SHA256 on P-256', () => ecP256, undefined],
    ['ECDSA-SHA384 on P-384', () => ecP384, undefined],
  ];
  for (const [name, pem, signatureAlgorithm] of cases) {
    it(`verifies a request signed with ${name}, and refuses it once the Body is changed`, function () {
      const xml = signRequest({ operationXml: OPERATION_XML, ...pem(), signatureAlgorithm });
      const good = xmlsec1Verify(pki.dir, xml, pem().certificatePem);
      expect(good.output).to.match(/SignedInfo References \(ok\/all\): 2\/2/);
      expect(good.status, good.output).to.equal(0);

      const tampered = xmlsec1Verify(pki.dir, replaceOnce(xml, 'Tax assessment 2025', 'Tax assessment 2026'), pem().certificatePem);
      expect(tampered.status, tampered.output).to.not.equal(0);
    });
  }

  it('the gate accepts a request signed by Python zeep (BinarySignature, RSA-SHA256, SHA-256 digests)', async function () {
    const xml = signWithZeep(pki, 'sha256');
    expect(xml).to.contain('xmldsig-more#rsa-sha256');
    const result = await verifyRequest(Buffer.from(xml), gateOptions(pki));
    expect(result.operation.localName).to.equal('SendRegisteredMail');
    expect(result.certificate.subject).to.contain('FPS Finance (demo)');

    const tampered = replaceOnce(xml, 'Tax assessment 2025', 'Tax assessment 2026');
    expect(await refusal(tampered, gateOptions(pki))).to.include({ code: 'FailedCheck' });
  });

  it("the gate refuses zeep's SHA-1 defaults as UnsupportedAlgorithm", async function () {
    const xml = signWithZeep(pki, 'sha1');
    expect(xml).to.contain('xmldsig#rsa-sha1');
    expect(await refusal(xml, gateOptions(pki))).to.include({ code: 'UnsupportedAlgorithm' });
  });
});
