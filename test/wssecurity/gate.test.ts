import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { expect } from 'chai';
import { SignedXml } from 'xml-crypto';
import { issueCertificate, x509 } from '../../app/pki/index.js';
import { signRequest, StrictSignedXml, verifyRequest } from '../../app/wssecurity/index.js';
import {
  BODY_XPATH,
  OPERATION_XML,
  buildEnvelope,
  createTestPki,
  disposeTestPki,
  defaultIds,
  gateOptions,
  pemOf,
  plainSignedEnvelope,
  refusal,
  replaceOnce,
  textOf,
  type TestPki,
} from './helpers.js';

const KU = x509.KeyUsageFlags;

describe('WS-Security gate', function () {
  let pki: TestPki;

  before(async function () {
    pki = await createTestPki();
  });

  after(function () {
    disposeTestPki(pki);
  });

  function signed(overrides: Partial<Parameters<typeof signRequest>[0]> = {}): string {
    return signRequest({ operationXml: OPERATION_XML, ...pki.sender, ...overrides });
  }

  describe('accepts', function () {
    it('a request signed by a demo sender, returning the signed operation, certificate and timestamp', async function () {
      const now = new Date(Date.now() - 5_000);
      const xml = signed({ now });
      const result = await verifyRequest(Buffer.from(xml), gateOptions(pki));
      expect(result.operation.localName).to.equal('SendRegisteredMail');
      expect(result.operation.namespaceURI).to.equal('urn:epost:registeredmail:v1');
      expect(result.operation.parentNode).to.equal(result.document.documentElement.lastChild);
      const der = Buffer.from(new x509.X509Certificate(pki.sender.certificatePem).rawData);
      expect(result.certificateDer.equals(der)).to.equal(true);
      expect(result.certificateFingerprintSha256).to.equal(createHash('sha256').update(der).digest('hex'));
      expect(result.certificate.subject).to.contain('FPS Finance (demo)');
      expect(result.timestamp.created.toISOString()).to.equal(now.toISOString());
      expect(result.timestamp.expires.getTime()).to.equal(now.getTime() + 300_000);
      const signatureValue = Buffer.from(textOf(xml, 'SignatureValue'), 'base64');
      expect(result.signatureValueSha256).to.equal(createHash('sha256').update(signatureValue).digest('hex'));
    });

    it('an ECDSA P-256 sender, with one replay key for both forms of a malleable ECDSA signature', async function () {
      const ec = await pki.issueSender({ key: { kind: 'ec', curve: 'P-256' } });
      const xml = signed(pemOf(ec));
      expect(xml).to.contain('xmldsig-more#ecdsa-sha256');
      const first = await verifyRequest(Buffer.from(xml), gateOptions(pki));

      // (r, n - s) is an equally valid signature: a replay key over the raw value could be dodged with it.
      const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
      const value = Buffer.from(textOf(xml, 'SignatureValue'), 'base64');
      const s = BigInt(`0x${value.subarray(32).toString('hex')}`);
      const twinValue = Buffer.concat([value.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]);
      const twin = replaceOnce(xml, textOf(xml, 'SignatureValue'), twinValue.toString('base64'));
      const second = await verifyRequest(Buffer.from(twin), gateOptions(pki));
      expect(second.signatureValueSha256).to.equal(first.signatureValueSha256);
    });

    it('a SignatureValue re-wrapped over several lines, under the same replay key', async function () {
      const xml = signed();
      const value = textOf(xml, 'SignatureValue');
      const wrapped = replaceOnce(xml, value, value.replace(/(.{64})/g, '$1\n'));
      const [a, b] = await Promise.all([verifyRequest(Buffer.from(xml), gateOptions(pki)), verifyRequest(Buffer.from(wrapped), gateOptions(pki))]);
      expect(b.signatureValueSha256).to.equal(a.signatureValueSha256);
    });

    it('a signature with an InclusiveNamespaces PrefixList on its transforms (as WSS4J writes it)', async function () {
      const xml = plainSignedEnvelope(pki.sender, {}, { prefixList: ['soap', 'wsu'] });
      expect(xml).to.match(/InclusiveNamespaces PrefixList="soap wsu"/);
      const result = await verifyRequest(Buffer.from(xml), gateOptions(pki));
      expect(result.operation.localName).to.equal('SendRegisteredMail');
    });

    it('a gzip-compressed request', async function () {
      const result = await verifyRequest(zlib.gzipSync(signed()), gateOptions(pki));
      expect(result.operation.localName).to.equal('SendRegisteredMail');
    });

    it('comments added to the signed Body, removing them from the tree the service reads', async function () {
      const xml = replaceOnce(signed(), 'Tax assessment 2025', 'Tax assess<!-- injected -->ment 2025');
      const result = await verifyRequest(Buffer.from(xml), gateOptions(pki));
      const subject = result.operation.lastChild!;
      expect(subject.childNodes.length).to.equal(1);
      expect((subject.firstChild as Text).data).to.equal('Tax assessment 2025');
    });
  });

  describe('refuses with InvalidSecurity', function () {
    it('an unsigned request without wsse:Security', async function () {
      const xml = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/><soap:Body>${OPERATION_XML}</soap:Body></soap:Envelope>`;
      const { code, message } = await refusal(xml, gateOptions(pki));
      expect(code).to.equal('InvalidSecurity');
      expect(message).to.match(/no wsse:Security/);
    });

    it('a request with a Security header but no Signature', async function () {
      const xml = buildEnvelope({ certificatePem: pki.sender.certificatePem });
      expect(await refusal(xml, gateOptions(pki))).to.include({ code: 'InvalidSecurity' });
    });

    it('a DOCTYPE with an external entity (XXE)', async function () {
      const xml = replaceOnce(signed(), '<soap:Envelope', '<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><soap:Envelope');
      const withUse = replaceOnce(xml, 'REF-1', '&xxe;');
      const { code, message } = await refusal(withUse, gateOptions(pki));
      expect(code).to.equal('InvalidSecurity');
      expect(message).to.match(/document type declaration/);
    });

    it('a processing instruction', async function () {
      const xml = replaceOnce(signed(), '<ep:Subject>', '<?evil instruction?><ep:Subject>');
      const { code, message } = await refusal(`<?xml version="1.0" encoding="UTF-8"?>${xml}`, gateOptions(pki));
      expect(code).to.equal('InvalidSecurity');
      expect(message).to.match(/processing instruction/);
    });

    it('a request larger than the configured maximum', async function () {
      const xml = signed();
      const { code, message } = await refusal(xml, gateOptions(pki, { maxRequestBytes: Buffer.byteLength(xml) - 1 }));
      expect(code).to.equal('InvalidSecurity');
      expect(message).to.match(/larger than/);
    });

    it('a gzip bomb (small compressed, too large once inflated)', async function () {
      const bomb = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20));
      expect(bomb.length).to.be.below(64 * 1024);
      const { code, message } = await refusal(bomb, gateOptions(pki, { maxRequestBytes: 1024 * 1024 }));
      expect(code).to.equal('InvalidSecurity');
      expect(message).to.match(/larger than/);
    });

    it('malformed XML', async function () {
      const xml = signed().replace('</soap:Body>', '</soap:Bdy>');
      expect(await refusal(xml, gateOptions(pki))).to.include({ code: 'InvalidSecurity' });
    });

    it('a second ds:Signature hidden in the Body', async function () {
      const xml = signed();
      const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(xml)![0];
      const doubled = replaceOnce(xml, '</ep:SendRegisteredMail>', `${signature}</ep:SendRegisteredMail>`);
      expect(await refusal(doubled, gateOptions(pki))).to.include({ code: 'InvalidSecurity' });
    });

    it('a missing Timestamp', async function () {
      const xml = signed().replace(/<wsu:Timestamp[\s\S]*<\/wsu:Timestamp>/, '');
      const { code, message } = await refusal(xml, gateOptions(pki));
      expect(code).to.equal('InvalidSecurity');
      expect(message).to.match(/no wsu:Timestamp/);
    });
  });

  it('refuses a signed Body with two operations as InvalidRequest', async function () {
    const xml = plainSignedEnvelope(pki.sender, { operationXml: OPERATION_XML + OPERATION_XML });
    const { code, message } = await refusal(xml, gateOptions(pki));
    expect(code).to.equal('InvalidRequest');
    expect(message).to.match(/exactly one operation/);
  });

  describe('refuses with FailedCheck', function () {
    it('a Body changed after signing', async function () {
      const xml = replaceOnce(signed(), 'Tax assessment 2025', 'Tax assessment 2024');
      const { code, message } = await refusal(xml, gateOptions(pki));
      expect(code).to.equal('FailedCheck');
      expect(message).to.match(/digest/);
    });

    it('a Timestamp changed after signing', async function () {
      const xml = signed();
      const created = textOf(xml, 'Created');
      const later = new Date(Date.parse(created) + 1000).toISOString();
      expect(await refusal(replaceOnce(xml, created, later), gateOptions(pki))).to.include({ code: 'FailedCheck' });
    });

    it('a changed SignatureValue', async function () {
      const xml = signed();
      const value = textOf(xml, 'SignatureValue');
      const flipped = (value[10] === 'A' ? 'B' : 'A');
      const altered = replaceOnce(xml, value, value.slice(0, 10) + flipped + value.slice(11));
      expect(await refusal(altered, gateOptions(pki))).to.include({ code: 'FailedCheck' });
    });

    it('signature wrapping: the signed Body moved into a wrapper, a forged Body in its place', async function () {
      const xml = signed();
      const signedBody = /<soap:Body[\s\S]*<\/soap:Body>/.exec(xml)![0];
      const forged = `<soap:Body>${OPERATION_XML.replace('Tax assessment 2025', 'Pay 1000 EUR to the attacker')}</soap:Body>`;
      const wrapped = xml
        .replace(signedBody, forged)
        .replace('<wsse:Security', `<x:Wrapper xmlns:x="urn:attacker">${signedBody}</x:Wrapper><wsse:Security`);
      expect(wrapped).to.contain('urn:attacker');
      const { code, message } = await refusal(wrapped, gateOptions(pki));
      expect(code).to.equal('FailedCheck');
      expect(message).to.match(/Body/);
    });

    it('a duplicate Id (a second element carrying the signed Body id)', async function () {
      const xml = signed();
      const bodyId = /<soap:Body wsu:Id="([^"]+)"/.exec(xml)![1]!;
      const duplicated = replaceOnce(xml, '<wsse:Security', `<x:Note xmlns:x="urn:attacker" wsu:Id="${bodyId}"/><wsse:Security`);
      const { code, message } = await refusal(duplicated, gateOptions(pki));
      expect(code).to.equal('FailedCheck');
      expect(message).to.match(/more than once/);
    });

    it('a signature that covers only the Body', async function () {
      const xml = plainSignedEnvelope(pki.sender, {}, { references: [BODY_XPATH] });
      const { code, message } = await refusal(xml, gateOptions(pki));
      expect(code).to.equal('FailedCheck');
      expect(message).to.match(/exactly the SOAP Body and the wsu:Timestamp/);
    });
  });

  describe('refuses with MessageExpired', function () {
    it('an expired Timestamp', async function () {
      const xml = signed({ now: new Date(Date.now() - 10 * 60_000) });
      const { code, message } = await refusal(xml, gateOptions(pki));
      expect(code).to.equal('MessageExpired');
      expect(message).to.match(/expired/);
    });

    it('a Timestamp created in the future beyond the clock skew', async function () {
      const xml = signed({ now: new Date(Date.now() + 120_000) });
      const { code, message } = await refusal(xml, gateOptions(pki));
      expect(code).to.equal('MessageExpired');
      expect(message).to.match(/future/);
    });

    it('accepts a Timestamp created within the clock skew', async function () {
      const xml = signed({ now: new Date(Date.now() + 30_000) });
      await verifyRequest(Buffer.from(xml), gateOptions(pki));
    });

    it('a Timestamp living longer than 300 s', async function () {
      const xml = signed({ ttlSeconds: 301 });
      const { code, message } = await refusal(xml, gateOptions(pki));
      expect(code).to.equal('MessageExpired');
      expect(message).to.match(/at most 300 s/);
    });

    it('a Timestamp without Expires', async function () {
      const xml = plainSignedEnvelope(pki.sender, { expires: null });
      const { code, message } = await refusal(xml, gateOptions(pki));
      expect(code).to.equal('MessageExpired');
      expect(message).to.match(/no Expires/);
    });

    it('a Timestamp that expires before it was created', async function () {
      const now = Date.now();
      const xml = plainSignedEnvelope(pki.sender, { created: new Date(now).toISOString(), expires: new Date(now - 1000).toISOString() });
      expect(await refusal(xml, gateOptions(pki))).to.include({ code: 'MessageExpired' });
    });
  });

  describe('refuses with UnsupportedAlgorithm', function () {
    it('an RSA-SHA1 signature with SHA-1 digests (made by stock xml-crypto)', async function () {
      const xml = plainSignedEnvelope(pki.sender, {}, {
        signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
        digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1',
      });
      const { code, message } = await refusal(xml, gateOptions(pki));
      expect(code).to.equal('UnsupportedAlgorithm');
      expect(message).to.match(/rsa-sha1/);
    });

    it('SHA-1 digests under an RSA-SHA256 signature', async function () {
      const xml = plainSignedEnvelope(pki.sender, {}, { digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1' });
      const { code, message } = await refusal(xml, gateOptions(pki));
      expect(code).to.equal('UnsupportedAlgorithm');
      expect(message).to.match(/digest algorithm/);
    });

    it('an HMAC-SHA1 signature keyed with the public certificate', async function () {
      const xml = signed().replace('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'http://www.w3.org/2000/09/xmldsig#hmac-sha1');
      expect(await refusal(xml, gateOptions(pki))).to.include({ code: 'UnsupportedAlgorithm' });
    });

    it('an inclusive C14N transform', async function () {
      const xml = signed().replace(
        '<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>',
        '<ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>',
      );
      expect(await refusal(xml, gateOptions(pki))).to.include({ code: 'UnsupportedAlgorithm' });
    });

    it('has no SHA-1, MD5 or HMAC in the verifier, whatever the stock defaults hold', function () {
      const stock = new SignedXml();
      expect(Object.keys(stock.HashAlgorithms)).to.include('http://www.w3.org/2000/09/xmldsig#sha1');
      const strict = new StrictSignedXml();
      const uris = [...Object.keys(strict.SignatureAlgorithms), ...Object.keys(strict.HashAlgorithms), ...Object.keys(strict.CanonicalizationAlgorithms)];
      expect(uris.filter((u) => /sha1|md5|hmac/i.test(u))).to.deep.equal([]);
      expect(Object.isFrozen(strict.HashAlgorithms)).to.equal(true);
      expect(() => strict.enableHMAC()).to.throw(/HMAC/);
    });
  });

  describe('refuses the token', function () {
    it('SecurityTokenUnavailable: no BinarySecurityToken', async function () {
      const xml = plainSignedEnvelope(pki.sender, { withoutToken: true });
      expect(await refusal(xml, gateOptions(pki))).to.include({ code: 'SecurityTokenUnavailable' });
    });

    it('SecurityTokenUnavailable: a SecurityTokenReference naming another element', async function () {
      const ids = defaultIds();
      const xml = plainSignedEnvelope(pki.sender, { ids }, { tokenId: 'X509-elsewhere' });
      expect(await refusal(xml, gateOptions(pki))).to.include({ code: 'SecurityTokenUnavailable' });
    });

    it('InvalidSecurityToken: a wrong ValueType', async function () {
      const xml = plainSignedEnvelope(pki.sender, { tokenValueType: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509PKIPathv1' });
      expect(await refusal(xml, gateOptions(pki))).to.include({ code: 'InvalidSecurityToken' });
    });

    it('InvalidSecurityToken: a token that is not a certificate', async function () {
      const xml = plainSignedEnvelope(pki.sender, { tokenText: Buffer.from('not a certificate at all').toString('base64') });
      expect(await refusal(xml, gateOptions(pki))).to.include({ code: 'InvalidSecurityToken' });
    });
  });

  describe('refuses with FailedAuthentication', function () {
    it('a certificate from an untrusted CA (a self-made root with the same name as the real one)', async function () {
      const fakeRoot = await issueCertificate({
        subject: 'CN=ePost Development Sender CA, O=ePost (development only), C=BE',
        ca: {},
        keyUsages: KU.keyCertSign | KU.cRLSign,
      });
      const attacker = await issueCertificate({
        subject: 'CN=FPS Finance (demo) ePost sender, O=FPS Finance (demo), C=BE',
        issuer: fakeRoot,
        keyUsages: KU.digitalSignature,
      });
      const { code, message } = await refusal(signed(pemOf(attacker)), gateOptions(pki));
      expect(code).to.equal('FailedAuthentication');
      expect(message).to.match(/not made by|does not chain/);
    });

    it('an expired certificate', async function () {
      const expired = await pki.issueSender({ notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
      const { code, message } = await refusal(signed(pemOf(expired)), gateOptions(pki));
      expect(code).to.equal('FailedAuthentication');
      expect(message).to.match(/expired/);
    });

    it('a certificate without keyUsage digitalSignature', async function () {
      const cert = await pki.issueSender({ keyUsages: KU.nonRepudiation });
      const { code, message } = await refusal(signed(pemOf(cert)), gateOptions(pki));
      expect(code).to.equal('FailedAuthentication');
      expect(message).to.match(/digitalSignature/);
    });

    it('a CA certificate as signer', async function () {
      const { code, message } = await refusal(signed({ certificatePem: pki.senderCa.certificatePem, privateKeyPem: pki.senderCa.privateKeyPem }), gateOptions(pki));
      expect(code).to.equal('FailedAuthentication');
      expect(message).to.match(/certificate authority/);
    });

    it('an RSA-1024 key', async function () {
      const weak = await pki.issueSender({ key: { kind: 'rsa', bits: 1024 } });
      const { code, message } = await refusal(signed(pemOf(weak)), gateOptions(pki));
      expect(code).to.equal('FailedAuthentication');
      expect(message).to.match(/1024-bit/);
    });
  });
});
