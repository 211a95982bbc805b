// The adversarial suite: every known attack on a WS-Security endpoint, sent over real HTTPS to the
// real service. Each case asserts the exact fault code, that nothing was stored or delivered, and
// that a disturbance was recorded. Grouped as issue 3 lists them; docs/SECURITY.md maps each group
// to the attacks it covers. Anchors: WSS4J's message tests, Santuario's secure validation, the
// signature-wrapping literature and the xml-crypto advisories of 2024-2025.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { SignedXml } from 'xml-crypto';
import { registerSenderCertificate } from '../../app/access/index.js';
import { enterpriseNumberFrom } from '../../app/identifiers/index.js';
import { issueCertificate, issueCrl, pkiLayout, x509 } from '../../app/pki/index.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { BODY_XPATH, TIMESTAMP_XPATH, X509V3, buildEnvelope, defaultIds, signWithPlainXmlCrypto } from '../wssecurity/helpers.js';
import {
  SOAP_ACTION,
  demoSender,
  devCas,
  disturbancesSince,
  expectRefusal,
  mailOperation,
  pemOf,
  post,
  senderCertificate,
  signedMail,
  type Pem,
} from './support.js';

const KU = x509.KeyUsageFlags;
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const MAX_REQUEST_BYTES = 2 * 1024 * 1024;

function bodyOf(xml: string): string {
  return /<soap:Body[\s\S]*<\/soap:Body>/.exec(xml)![0];
}

function bodyIdOf(xml: string): string {
  return /<soap:Body wsu:Id="([^"]+)"/.exec(xml)![1]!;
}

function timestampOf(xml: string): string {
  return /<wsu:Timestamp[\s\S]*?<\/wsu:Timestamp>/.exec(xml)![0];
}

function textOf(xml: string, localName: string): string {
  return new RegExp(`<(?:\\w+:)?${localName}[^>]*>([^<]*)</(?:\\w+:)?${localName}>`).exec(xml)![1]!;
}

function edit(xml: string, search: string | RegExp, replacement: string): string {
  const out = xml.replace(search, replacement);
  if (out === xml) throw new Error(`attack edit did not apply: ${String(search)}`);
  return out;
}

/** A signed request whose Body says something the sender never signed. */
function forgedBody(withId?: string): string {
  return `<soap:Body${withId ? ` wsu:Id="${withId}"` : ''}>${mailOperation('Pay 1000 EUR to the attacker')}</soap:Body>`;
}

describe('Adversarial suite: the WS-Security gate over HTTPS', function () {
  let service: TestService;
  let finance: Pem & { enterpriseNumber: string };
  let socialSecurity: Pem & { enterpriseNumber: string };
  let cas: Awaited<ReturnType<typeof devCas>>;

  before(async function () {
    service = await startTestService({ EPOST_MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES) });
    finance = demoSender(service, 'finance');
    socialSecurity = demoSender(service, 'socialsecurity');
    cas = await devCas(service);
    // The baseline: the same service accepts the sender's own, untouched request.
    const accepted = await post(service, signedMail(finance));
    expect(accepted.status, accepted.body).to.equal(200);
  });

  after(async function () {
    await service?.close();
  });

  /** Registers a certificate for an organisation, as start-up registers the demo senders. */
  async function register(issued: { certPem: string }, enterpriseNumber = finance.enterpriseNumber): Promise<void> {
    await registerSenderCertificate(service.ctx.db, enterpriseNumber, issued.certPem);
  }

  describe('signature wrapping', function () {
    it('the signed Body moved into the Header, a forged Body in its place', async function () {
      const xml = signedMail(finance);
      const attack = edit(xml, bodyOf(xml), forgedBody()).replace('<wsse:Security', `${bodyOf(xml)}<wsse:Security`);
      await expectRefusal(service, () => post(service, attack), 'FailedCheck', /Body carries no wsu:Id/);
    });

    it('the signed Body moved into the Header, the forged Body carrying its wsu:Id', async function () {
      const xml = signedMail(finance);
      const attack = edit(xml, bodyOf(xml), forgedBody(bodyIdOf(xml))).replace('<wsse:Security', `${bodyOf(xml)}<wsse:Security`);
      await expectRefusal(service, () => post(service, attack), 'FailedCheck', /occurs more than once/);
    });

    it('the signed Body inside a wrapper header block (McIntosh-Austel), a forged Body in its place', async function () {
      const xml = signedMail(finance);
      const wrapper = `<x:Wrapper xmlns:x="urn:attacker" soap:mustUnderstand="0">${bodyOf(xml)}</x:Wrapper>`;
      const attack = edit(edit(xml, bodyOf(xml), forgedBody()), '<wsse:Security', `${wrapper}<wsse:Security`);
      await expectRefusal(service, () => post(service, attack), 'FailedCheck', /Body carries no wsu:Id/);
    });

    it('the signed Body moved into a ds:Object of the Signature', async function () {
      const xml = signedMail(finance);
      const attack = edit(edit(xml, bodyOf(xml), forgedBody()), '</ds:Signature>', `<ds:Object>${bodyOf(xml)}</ds:Object></ds:Signature>`);
      await expectRefusal(service, () => post(service, attack), 'InvalidSecurity', /Signature must contain .* found .*Object/);
    });

    it('re-identified: the forged Body takes the signed id, the signed content kept elsewhere under a new id', async function () {
      const xml = signedMail(finance);
      const moved = bodyOf(xml).replace(/wsu:Id="[^"]+"/, 'wsu:Id="moved"').replace(/soap:Body/g, 'x:Kept').replace('<x:Kept', '<x:Kept xmlns:x="urn:attacker"');
      const attack = edit(edit(xml, bodyOf(xml), forgedBody(bodyIdOf(xml))), '<wsse:Security', `${moved}<wsse:Security`);
      await expectRefusal(service, () => post(service, attack), 'FailedCheck', /digest of the signed Body does not match/);
    });

    it('duplicate ids: another element carrying the signed Body id under an ID attribute of another name', async function () {
      const xml = signedMail(finance);
      const attack = edit(xml, '<wsse:Security', `<x:Note xmlns:x="urn:attacker" ID="${bodyIdOf(xml)}"/><wsse:Security`);
      await expectRefusal(service, () => post(service, attack), 'FailedCheck', /occurs more than once/);
    });

    it('a second soap:Body after the signed one', async function () {
      const xml = signedMail(finance);
      const attack = edit(xml, '</soap:Body>', `</soap:Body>${forgedBody()}`);
      await expectRefusal(service, () => post(service, attack), 'InvalidSecurity', /2 SOAP Body elements/);
    });

    it('namespace trick: the Body prefix re-bound to another namespace on the Body itself', async function () {
      const xml = signedMail(finance);
      const attack = edit(xml, '<soap:Body ', '<soap:Body xmlns:soap="urn:attacker:soap" ');
      await expectRefusal(service, () => post(service, attack), 'InvalidSecurity', /no SOAP Body/);
    });

    it('namespace trick: the signed operation moved into another namespace by a default-namespace declaration', async function () {
      const xml = signedMail(finance);
      const attack = edit(xml, 'xmlns="urn:epost:registeredmail:v1"', 'xmlns="urn:attacker:registeredmail"');
      await expectRefusal(service, () => post(service, attack), 'FailedCheck', /digest of the signed Body/);
    });

    it('the signed Timestamp moved into a wrapper, a fresher Timestamp with its id in its place', async function () {
      const xml = signedMail(finance);
      const signed = timestampOf(xml);
      const fresher = edit(signed, textOf(signed, 'Expires'), new Date(Date.now() + 290_000).toISOString());
      const attack = edit(edit(xml, signed, fresher), '<wsse:Security', `<x:Wrapper xmlns:x="urn:attacker">${signed}</x:Wrapper><wsse:Security`);
      await expectRefusal(service, () => post(service, attack), 'FailedCheck', /occurs more than once/);
    });
  });

  describe('signature integrity', function () {
    it('a Body modified after signing', async function () {
      const attack = edit(signedMail(finance), 'Tax assessment 2025', 'Tax assessment 2024');
      await expectRefusal(service, () => post(service, attack), 'FailedCheck', /digest of the signed Body does not match/);
    });

    it('a Timestamp modified after signing (Expires pushed back)', async function () {
      const xml = signedMail(finance, { ttlSeconds: 60 });
      const attack = edit(xml, textOf(xml, 'Expires'), new Date(Date.now() + 240_000).toISOString());
      await expectRefusal(service, () => post(service, attack), 'FailedCheck', /digest of the signed Timestamp does not match/);
    });

    it('re-signed with an attacker key carrying its own self-signed certificate', async function () {
      const attacker = await issueCertificate({ subject: new x509.X509Certificate(finance.certificatePem).subject, key: { kind: 'ec', curve: 'P-256' }, keyUsages: KU.digitalSignature });
      await expectRefusal(service, () => post(service, signedMail(pemOf(attacker))), 'FailedAuthentication', /does not chain to a trusted anchor/);
    });

    it('re-signed with an attacker key, the victim\'s certificate left in the token', async function () {
      const attacker = await issueCertificate({ subject: 'CN=Attacker', keyUsages: KU.digitalSignature });
      const forged = signedMail({ certificatePem: attacker.certPem, privateKeyPem: attacker.keyPem });
      const victimToken = Buffer.from(new x509.X509Certificate(finance.certificatePem).rawData).toString('base64');
      const attack = edit(forged, textOf(forged, 'BinarySecurityToken'), victimToken);
      await expectRefusal(service, () => post(service, attack), 'FailedCheck', /SignatureValue was not made over this SignedInfo/);
    });

    it('a SignatureValue altered in one character', async function () {
      const xml = signedMail(finance);
      const value = textOf(xml, 'SignatureValue');
      const attack = edit(xml, value, value.slice(0, 20) + (value[20] === 'A' ? 'B' : 'A') + value.slice(21));
      await expectRefusal(service, () => post(service, attack), 'FailedCheck');
    });

    it('multiple SignedInfo elements in the Signature', async function () {
      const xml = signedMail(finance);
      const signedInfo = /<ds:SignedInfo>[\s\S]*<\/ds:SignedInfo>/.exec(xml)![0];
      const attack = edit(xml, signedInfo, signedInfo + signedInfo);
      await expectRefusal(service, () => post(service, attack), 'InvalidSecurity', /SignedInfo/);
    });

    it('a comment inside a DigestValue (CVE-2025-29775)', async function () {
      const xml = signedMail(finance);
      const digest = textOf(xml, 'DigestValue');
      const attack = edit(xml, `>${digest}<`, `>${digest.slice(0, 12)}<!-- forged -->${digest.slice(12)}<`);
      await expectRefusal(service, () => post(service, attack), 'InvalidSecurity', /ds:Signature contains a comment/);
    });

    it('a duplicated DigestValue in a Reference', async function () {
      const xml = signedMail(finance);
      const digestValue = /<ds:DigestValue>[^<]*<\/ds:DigestValue>/.exec(xml)![0];
      const attack = edit(xml, digestValue, digestValue + digestValue);
      await expectRefusal(service, () => post(service, attack), 'InvalidSecurity', /must contain Transforms, DigestMethod, DigestValue/);
    });
  });

  describe('algorithms', function () {
    function plainSigned(pem: Pem, sign: Parameters<typeof signWithPlainXmlCrypto>[1] extends infer O ? Partial<O> : never): string {
      const ids = defaultIds();
      const unsigned = buildEnvelope({ certificatePem: pem.certificatePem, ids, operationXml: mailOperation() });
      return signWithPlainXmlCrypto(unsigned, { privateKeyPem: pem.privateKeyPem, tokenId: ids.token, ...sign });
    }

    it('RSA-SHA1 with SHA-1 digests (stock xml-crypto defaults)', async function () {
      const attack = plainSigned(finance, { signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1' });
      await expectRefusal(service, () => post(service, attack), 'UnsupportedAlgorithm', /rsa-sha1/);
    });

    it('SHA-1 digests under an RSA-SHA256 signature', async function () {
      const attack = plainSigned(finance, { digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1' });
      await expectRefusal(service, () => post(service, attack), 'UnsupportedAlgorithm', /digest algorithm .*sha1/);
    });

    it('MD5 digests', async function () {
      const attack = edit(signedMail(finance), /http:\/\/www\.w3\.org\/2001\/04\/xmlenc#sha256/g, 'http://www.w3.org/2001/04/xmldsig-more#md5');
      await expectRefusal(service, () => post(service, attack), 'UnsupportedAlgorithm', /md5/);
    });

    it('an RSA-MD5 signature method', async function () {
      const attack = edit(signedMail(finance), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'http://www.w3.org/2001/04/xmldsig-more#rsa-md5');
      await expectRefusal(service, () => post(service, attack), 'UnsupportedAlgorithm', /rsa-md5/);
    });

    it('a genuine HMAC-SHA1 signature keyed with the public certificate', async function () {
      const ids = defaultIds();
      const unsigned = buildEnvelope({ certificatePem: finance.certificatePem, ids, operationXml: mailOperation() });
      const hmac = new SignedXml({
        privateKey: Buffer.from(finance.certificatePem),
        signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#hmac-sha1',
        canonicalizationAlgorithm: EXC_C14N,
        idMode: 'wssecurity',
        getKeyInfoContent: () => `<wsse:SecurityTokenReference><wsse:Reference URI="#${ids.token}" ValueType="${X509V3}"/></wsse:SecurityTokenReference>`,
      });
      hmac.enableHMAC();
      for (const xpath of [TIMESTAMP_XPATH, BODY_XPATH]) hmac.addReference({ xpath, transforms: [EXC_C14N], digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256' });
      hmac.computeSignature(unsigned, { prefix: 'ds', location: { reference: "//*[local-name()='Security']", action: 'append' } });
      await expectRefusal(service, () => post(service, hmac.getSignedXml()), 'UnsupportedAlgorithm', /hmac-sha1/);
    });

    it('an RSA-1024 key, from the trusted sender CA', async function () {
      const weak = await senderCertificate(cas.senderCa, { key: { kind: 'rsa', bits: 1024 } });
      await register(weak);
      await expectRefusal(service, () => post(service, signedMail(pemOf(weak))), 'FailedAuthentication', /1024-bit RSA key/);
    });

    it('an unknown transform (XSLT) on a reference', async function () {
      const attack = edit(signedMail(finance), `<ds:Transform Algorithm="${EXC_C14N}"/>`, '<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/>');
      await expectRefusal(service, () => post(service, attack), 'UnsupportedAlgorithm', /xslt/);
    });

    it('an extra transform (enveloped-signature before exclusive C14N)', async function () {
      const attack = edit(
        signedMail(finance),
        `<ds:Transforms><ds:Transform Algorithm="${EXC_C14N}"/></ds:Transforms>`,
        `<ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="${EXC_C14N}"/></ds:Transforms>`,
      );
      await expectRefusal(service, () => post(service, attack), 'UnsupportedAlgorithm', /exactly one, exclusive XML canonicalisation/);
    });

    it('inclusive C14N as canonicalisation method', async function () {
      const attack = edit(signedMail(finance), `<ds:CanonicalizationMethod Algorithm="${EXC_C14N}"/>`, '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>');
      await expectRefusal(service, () => post(service, attack), 'UnsupportedAlgorithm', /REC-xml-c14n/);
    });

    it('an external reference URI', async function () {
      const xml = signedMail(finance);
      const attack = edit(xml, `URI="#${bodyIdOf(xml)}"`, 'URI="http://attacker.example/payload.xml"');
      await expectRefusal(service, () => post(service, attack), 'FailedCheck', /must name an element by "#id"/);
    });

    it('a third reference (the token) beside the Body and the Timestamp', async function () {
      const attack = plainSigned(finance, { references: [TIMESTAMP_XPATH, BODY_XPATH, "//*[local-name()='BinarySecurityToken']"] });
      await expectRefusal(service, () => post(service, attack), 'FailedCheck', /3 references/);
    });
  });

  describe('timestamps and replay', function () {
    it('an expired Timestamp', async function () {
      const attack = signedMail(finance, { now: new Date(Date.now() - 10 * 60_000) });
      await expectRefusal(service, () => post(service, attack), 'MessageExpired', /expired/);
    });

    it('a Timestamp created in the future, beyond the clock skew', async function () {
      const attack = signedMail(finance, { now: new Date(Date.now() + 5 * 60_000) });
      await expectRefusal(service, () => post(service, attack), 'MessageExpired', /future/);
    });

    it('a missing Timestamp', async function () {
      const xml = signedMail(finance);
      await expectRefusal(service, () => post(service, edit(xml, timestampOf(xml), '')), 'InvalidSecurity', /no wsu:Timestamp/);
    });

    it('an unsigned Timestamp (the signature covers the Body only)', async function () {
      const ids = defaultIds();
      const unsigned = buildEnvelope({ certificatePem: finance.certificatePem, ids, operationXml: mailOperation() });
      const attack = signWithPlainXmlCrypto(unsigned, { privateKeyPem: finance.privateKeyPem, tokenId: ids.token, references: [BODY_XPATH] });
      await expectRefusal(service, () => post(service, attack), 'FailedCheck', /exactly the SOAP Body and the wsu:Timestamp/);
    });

    it('a duplicated Timestamp', async function () {
      const xml = signedMail(finance);
      const attack = edit(xml, timestampOf(xml), timestampOf(xml) + timestampOf(xml));
      await expectRefusal(service, () => post(service, attack), 'InvalidSecurity', /2 wsu:Timestamp elements/);
    });

    it('Expires before Created', async function () {
      const now = Date.now();
      const ids = defaultIds();
      const unsigned = buildEnvelope({
        certificatePem: finance.certificatePem,
        ids,
        operationXml: mailOperation(),
        created: new Date(now).toISOString(),
        expires: new Date(now - 1000).toISOString(),
      });
      const attack = signWithPlainXmlCrypto(unsigned, { privateKeyPem: finance.privateKeyPem, tokenId: ids.token });
      await expectRefusal(service, () => post(service, attack), 'MessageExpired', /expires before it was created/);
    });

    it('a Timestamp living longer than the 300 s accepted', async function () {
      await expectRefusal(service, () => post(service, signedMail(finance, { ttlSeconds: 3600 })), 'MessageExpired', /at most 300 s/);
    });

    it('an exact replay of an accepted request', async function () {
      const original = signedMail(finance);
      expect((await post(service, original)).status).to.equal(200);
      await expectRefusal(service, () => post(service, original), 'InvalidSecurity', /replay/);
    });

    it('a replay with the unsigned parts reformatted (whitespace, re-wrapped SignatureValue, an extra header)', async function () {
      const original = signedMail(finance);
      expect((await post(service, original)).status).to.equal(200);
      const value = textOf(original, 'SignatureValue');
      const reformatted = edit(
        edit(edit(original, value, `\n${value.replace(/(.{64})/g, '$1\n')}\n`), '<soap:Header>', '<soap:Header>\n  <x:Trace xmlns:x="urn:relay">hop 2</x:Trace>\n  '),
        '</wsse:Security>',
        '\n</wsse:Security>',
      );
      await expectRefusal(service, () => post(service, reformatted), 'InvalidSecurity', /replay/);
    });

    it('a replay with the twin of an ECDSA signature, (r, n - s)', async function () {
      const ec = await senderCertificate(cas.senderCa);
      await register(ec);
      const original = signedMail(pemOf(ec));
      expect((await post(service, original)).status).to.equal(200);
      const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
      const value = Buffer.from(textOf(original, 'SignatureValue'), 'base64');
      const s = BigInt(`0x${value.subarray(32).toString('hex')}`);
      const twin = Buffer.concat([value.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]).toString('base64');
      await expectRefusal(service, () => post(service, edit(original, textOf(original, 'SignatureValue'), twin)), 'InvalidSecurity', /replay/);
    });

    it('a replay after the service restarted', async function () {
      const dbFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'epost-replay-')), 'epost.sqlite');
      const first = await startTestService({ EPOST_DB: dbFile });
      const original = signedMail(finance);
      try {
        expect((await post(first, original)).status).to.equal(200);
      } finally {
        await first.close();
      }
      const restarted = await startTestService({ EPOST_DB: dbFile });
      try {
        expect((await restarted.counts()).mails).to.equal(1);
        await expectRefusal(restarted, () => post(restarted, original), 'InvalidSecurity', /replay/);
      } finally {
        await restarted.close();
        fs.rmSync(path.dirname(dbFile), { recursive: true, force: true });
      }
    });
  });

  describe('certificates', function () {
    it('an expired certificate', async function () {
      const expired = await senderCertificate(cas.senderCa, { notBefore: new Date(Date.now() - 30 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
      await expectRefusal(service, () => post(service, signedMail(pemOf(expired))), 'FailedAuthentication', /expired on/);
    });

    it('a certificate not yet valid', async function () {
      const early = await senderCertificate(cas.senderCa, { notBefore: new Date(Date.now() + 86_400_000), notAfter: new Date(Date.now() + 30 * 86_400_000) });
      await expectRefusal(service, () => post(service, signedMail(pemOf(early))), 'FailedAuthentication', /not valid before/);
    });

    it('a registered certificate revoked by its CA\'s CRL', async function () {
      const revoked = await senderCertificate(cas.senderCa);
      await register(revoked);
      const control = signedMail(pemOf(revoked));
      expect((await post(service, control)).status).to.equal(200);
      const crl = await issueCrl({
        issuer: cas.senderCa,
        thisUpdate: new Date(),
        nextUpdate: new Date(Date.now() + 365 * 86_400_000),
        revoked: [{ serialNumber: revoked.certificate.serialNumber, reason: x509.X509CrlReason.keyCompromise }],
      });
      // As an operator drops a new CRL under certs/crls/: the running service sees it at once.
      fs.writeFileSync(path.join(pkiLayout(service.certsDir).crlsDir, `sender-ca-${Date.now()}.crl.pem`), crl.toString('pem'));
      await expectRefusal(service, () => post(service, signedMail(pemOf(revoked))), 'FailedAuthentication', /was revoked on .* \(keyCompromise\)/);
    });

    it('a certificate from an unknown CA bearing the names of the real ones', async function () {
      const fakeCa = await issueCertificate({ subject: cas.senderCa.certificate.subject, ca: {}, keyUsages: KU.keyCertSign | KU.cRLSign });
      const impostor = await senderCertificate(fakeCa);
      await expectRefusal(service, () => post(service, signedMail(pemOf(impostor))), 'FailedAuthentication', /not made by|does not chain/);
    });

    it('a certificate whose intermediate CA is not configured', async function () {
      const otherCa = await issueCertificate({ subject: 'CN=ePost Other Sender CA (test)', issuer: cas.root, ca: { pathLength: 0 }, keyUsages: KU.keyCertSign | KU.cRLSign });
      const orphan = await senderCertificate(otherCa);
      await expectRefusal(service, () => post(service, signedMail(pemOf(orphan))), 'FailedAuthentication', /does not chain to a trusted anchor/);
    });

    it('a certificate without keyUsage digitalSignature', async function () {
      const wrongUsage = await senderCertificate(cas.senderCa, { keyUsages: KU.keyAgreement });
      await register(wrongUsage);
      await expectRefusal(service, () => post(service, signedMail(pemOf(wrongUsage))), 'FailedAuthentication', /digitalSignature/);
    });

    it('a certificate restricted to timestamping (the TSA\'s) used as signer', async function () {
      const layout = pkiLayout(service.certsDir);
      const tsa = { certificatePem: fs.readFileSync(layout.tsaCert, 'utf8'), privateKeyPem: fs.readFileSync(layout.tsaKey, 'utf8') };
      await expectRefusal(service, () => post(service, signedMail(tsa)), 'FailedAuthentication', /extendedKeyUsage/);
    });

    it('a CA certificate used as signer', async function () {
      const senderCa = { certificatePem: fs.readFileSync(service.devPki.senderCaCert, 'utf8'), privateKeyPem: fs.readFileSync(service.devPki.senderCaKey, 'utf8') };
      await expectRefusal(service, () => post(service, signedMail(senderCa)), 'FailedAuthentication', /is a certificate authority/);
    });

    it('a registered organisation signing with another organisation\'s certificate', async function () {
      // Issued by the trusted CA to FPS Finance (organizationIdentifier), registered by mistake or malice to the NSSO.
      const financeEn = enterpriseNumberFrom('03085143');
      const financeCertificate = await senderCertificate(cas.senderCa, { subject: `CN=Finance signer ${randomUUID()}, O=FPS Finance (demo), 2.5.4.97=NTRBE-${financeEn}, C=BE` });
      await register(financeCertificate, socialSecurity.enterpriseNumber);
      await expectRefusal(service, () => post(service, signedMail(pemOf(financeCertificate))), 'FailedAuthentication', /belongs to organisation .* but is registered for/);
    });

    it('a valid certificate that no organisation registered', async function () {
      const unregistered = await senderCertificate(cas.senderCa);
      await expectRefusal(service, () => post(service, signedMail(pemOf(unregistered))), 'FailedAuthentication', /not registered/);
    });
  });

  describe('transport', function () {
    it('a SOAPAction naming another operation than the signed Body', async function () {
      await expectRefusal(service, () => post(service, signedMail(finance), { soapAction: SOAP_ACTION.proofs }), 'InvalidSecurity', /SOAPAction/);
    });
  });

  describe('parser abuse', function () {
    const envelope = (inner: string) => `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/><soap:Body>${inner}</soap:Body></soap:Envelope>`;

    it('XXE: an external entity reading a local file', async function () {
      const attack = `<?xml version="1.0"?><!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${envelope('<a>&xxe;</a>')}`;
      await expectRefusal(service, () => post(service, attack), 'InvalidSecurity', /document type declaration/);
    });

    it('billion laughs: nested entity expansion', async function () {
      const entities = Array.from({ length: 10 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join('');
      const attack = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">${entities}]>${envelope('<a>&lol10;</a>')}`;
      await expectRefusal(service, () => post(service, attack), 'InvalidSecurity', /document type declaration/);
    });

    it('deep nesting (100 000 levels)', async function () {
      const attack = envelope(`${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`);
      await expectRefusal(service, () => post(service, attack), 'InvalidSecurity', /deeper than 64 levels/);
    });

    it('attribute flood (100 000 attributes on one element)', async function () {
      const attributes = Array.from({ length: 100_000 }, (_, i) => `a${i}="x"`).join(' ');
      await expectRefusal(service, () => post(service, envelope(`<a ${attributes}/>`)), 'InvalidSecurity', /more than 32 attributes/);
    });

    it('namespace flood (20 000 namespace declarations)', async function () {
      const declarations = Array.from({ length: 20_000 }, (_, i) => `xmlns:n${i}="urn:n:${i}"`).join(' ');
      await expectRefusal(service, () => post(service, envelope(`<a ${declarations}/>`)), 'InvalidSecurity', /more than 64 namespaces/);
    });

    it('element flood (200 000 empty elements)', async function () {
      await expectRefusal(service, () => post(service, envelope('<a/>'.repeat(200_000))), 'InvalidSecurity', /more than 10000 elements/);
    });

    it('an oversized body', async function () {
      const attack = envelope(`<a>${'x'.repeat(MAX_REQUEST_BYTES)}</a>`);
      // Refused on its declared length, before a byte of it is read: the record says so with size 0.
      const { disturbance } = await expectRefusal(service, () => post(service, attack), 'DocumentTooLarge', /larger than the limit/, { payloadKept: false });
      expect(disturbance.payloadSize).to.equal(0);
    });

    it('a gzip bomb (64 KiB that inflate to 64 MiB)', async function () {
      const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20), { level: 9 });
      expect(bomb.length).to.be.below(128 * 1024);
      await expectRefusal(service, () => post(service, bomb, { headers: { 'Content-Encoding': 'gzip' } }), 'DocumentTooLarge', /larger than the limit/);
    });

    it('a corrupt gzip body', async function () {
      const corrupt = zlib.gzipSync(Buffer.from(signedMail(finance))).subarray(0, 200);
      await expectRefusal(service, () => post(service, corrupt, { headers: { 'Content-Encoding': 'gzip' } }), 'InvalidRequest', /could not be read or decompressed/);
    });

    it('malformed XML (mismatched end tag)', async function () {
      await expectRefusal(service, () => post(service, edit(signedMail(finance), '</soap:Body>', '</soap:Bdy>')), 'InvalidSecurity', /not well-formed/);
    });

    it('non-UTF-8 input (ISO-8859-1 bytes)', async function () {
      const latin1 = Buffer.from(envelope('<a>Liège, Zürich, façade</a>'), 'latin1');
      await expectRefusal(service, () => post(service, latin1), 'InvalidSecurity', /not valid UTF-8/);
    });

    it('UTF-16 input', async function () {
      const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`<?xml version="1.0" encoding="UTF-16"?>${envelope('<a/>')}`, 'utf16le')]);
      await expectRefusal(service, () => post(service, utf16), 'InvalidSecurity', /UTF-8/);
    });

    it('a declared encoding other than UTF-8', async function () {
      await expectRefusal(service, () => post(service, `<?xml version="1.0" encoding="ISO-8859-1"?>${envelope('<a/>')}`), 'InvalidSecurity', /only UTF-8 is accepted/);
    });

    it('two root elements', async function () {
      const xml = signedMail(finance);
      await expectRefusal(service, () => post(service, `${xml}<soap:Envelope xmlns:soap="urn:x"/>`), 'InvalidSecurity', /more than one root element/);
    });

    it('a processing instruction inside the envelope', async function () {
      const attack = edit(signedMail(finance), '<soap:Header>', '<soap:Header><?xml-stylesheet href="http://attacker.example/x.xsl"?>');
      await expectRefusal(service, () => post(service, attack), 'InvalidSecurity', /processing instruction/);
    });
  });

  describe('disturbance records', function () {
    it('record the credential a refused request presented: certificate subject and SHA-256 fingerprint', async function () {
      const expired = await senderCertificate(cas.senderCa, { notBefore: new Date(Date.now() - 30 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
      const { disturbance } = await expectRefusal(service, () => post(service, signedMail(pemOf(expired))), 'FailedAuthentication');
      expect(disturbance.executor).to.equal(expired.certificate.subject);
      expect(disturbance.executorFingerprint).to.equal(Buffer.from(await expired.certificate.getThumbprint('SHA-256')).toString('hex'));
    });

    it('a flood of refusals leaves one record each, the service still answering a genuine request', async function () {
      const since = new Date();
      const answers = await Promise.all(Array.from({ length: 20 }, () => post(service, '<not-xml')));
      expect(answers.every((a) => a.faultCode === 'InvalidSecurity')).to.equal(true);
      expect((await disturbancesSince(service, since)).filter((d) => d.code === 'InvalidSecurity')).to.have.length(20);
      expect((await post(service, signedMail(finance))).status).to.equal(200);
    });
  });
});
