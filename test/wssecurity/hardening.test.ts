import zlib from 'node:zlib';
import { expect } from 'chai';
import { x509 } from '../../app/pki/index.js';
import {
  DEFAULT_XML_LIMITS,
  GateRefusal,
  assertTlsClientIsSigner,
  checkXmlLimits,
  presentedCredentialOf,
  signRequest,
  verifyRequest,
  xmlLimitsFrom,
} from '../../app/wssecurity/index.js';
import { loadConfig } from '../../app/config/index.js';
import { OPERATION_XML, createTestPki, disposeTestPki, gateOptions, pemOf, refusal, replaceOnce, textOf, type TestPki } from './helpers.js';

function limitRefusal(text: string, limits = DEFAULT_XML_LIMITS): string {
  try {
    checkXmlLimits(text, limits);
  } catch (err) {
    expect((err as { code?: string }).code).to.equal('InvalidSecurity');
    return (err as Error).message;
  }
  throw new Error('the limits accepted the text');
}

describe('WS-Security gate hardening', function () {
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

  describe('XML limits, enforced by a scan before the DOM is built', function () {
    it('accept every request the signer produces, with the defaults and with the configured values', async function () {
      const xml = signed();
      checkXmlLimits(xml);
      const limits = xmlLimitsFrom(loadConfig({}));
      expect(limits).to.deep.equal(DEFAULT_XML_LIMITS);
      await verifyRequest(Buffer.from(xml), gateOptions(pki, { xmlLimits: limits }));
    });

    it('refuse deep nesting, counting empty-element tags and ignoring ">" inside attribute values', function () {
      const deep = `<a x="1>2">${'<b>'.repeat(64)}<c/>${'</b>'.repeat(64)}</a>`;
      expect(limitRefusal(deep)).to.match(/deeper than 64 levels/);
      checkXmlLimits(`<a x="1>2">${'<b>'.repeat(62)}<c/>${'</b>'.repeat(62)}</a>`);
    });

    it('refuse an element flood, an attribute flood and a namespace flood', function () {
      expect(limitRefusal(`<a>${'<b/>'.repeat(10_000)}</a>`)).to.match(/more than 10000 elements/);
      const attributes = Array.from({ length: 33 }, (_, i) => `a${i} = '${i}'`).join(' ');
      expect(limitRefusal(`<a ${attributes}/>`)).to.match(/more than 32 attributes/);
      const namespaces = Array.from({ length: 65 }, (_, i) => `xmlns:n${i}="urn:n${i}"`).join(' ');
      expect(limitRefusal(`<a ${namespaces}/>`)).to.match(/more than 64 namespaces/);
      // xmlns declarations do not count as attributes, and comments and CDATA hide no markup.
      checkXmlLimits(`<a ${Array.from({ length: 40 }, (_, i) => `xmlns:n${i}="u"`).join(' ')}><!-- <b c="1"> --><![CDATA[<d e="2">]]></a>`);
    });

    it('refuse a second root element, also after an empty-element root', function () {
      expect(limitRefusal('<a></a><b/>')).to.match(/more than one root/);
      expect(limitRefusal('<a/> <b></b>')).to.match(/more than one root/);
    });

    it('are applied by the gate with the limits it is given', async function () {
      const { code, message } = await refusal(signed(), gateOptions(pki, { xmlLimits: { ...DEFAULT_XML_LIMITS, maxDepth: 4 } }));
      expect(code).to.equal('InvalidSecurity');
      expect(message).to.match(/deeper than 4 levels/);
    });
  });

  it('refuses a comment inside ds:Signature (the CVE-2025-29775 shape), while comments elsewhere are only removed', async function () {
    const xml = signed();
    const digest = textOf(xml, 'DigestValue');
    const split = replaceOnce(xml, digest, `${digest.slice(0, 10)}<!---->${digest.slice(10)}`);
    const { code, message } = await refusal(split, gateOptions(pki));
    expect(code).to.equal('InvalidSecurity');
    expect(message).to.match(/ds:Signature contains a comment/);
  });

  describe('refusals name the credential presented', function () {
    it('a refusal after the token was read carries its subject and SHA-256 fingerprint', async function () {
      const expired = await pki.issueSender({ notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
      let thrown: unknown;
      try {
        await verifyRequest(Buffer.from(signed(pemOf(expired))), gateOptions(pki));
      } catch (err) {
        thrown = err;
      }
      expect(thrown).to.be.instanceOf(GateRefusal);
      expect((thrown as GateRefusal).code).to.equal('FailedAuthentication');
      const presented = presentedCredentialOf(thrown)!;
      expect(presented.certificateSubject).to.equal(expired.certificate.subject);
      expect(presented.certificateSerialNumber).to.equal(expired.certificate.serialNumber);
      expect(presented.certificateFingerprintSha256).to.equal(Buffer.from(await expired.certificate.getThumbprint('SHA-256')).toString('hex'));
    });

    it('a structural refusal before the token was resolved still names a readable token', async function () {
      const xml = signed().replace(/<wsu:Timestamp[\s\S]*<\/wsu:Timestamp>/, '');
      let thrown: unknown;
      try {
        await verifyRequest(Buffer.from(xml), gateOptions(pki));
      } catch (err) {
        thrown = err;
      }
      expect((thrown as { code: string }).code).to.equal('InvalidSecurity');
      expect(presentedCredentialOf(thrown)?.certificateSubject).to.equal(new x509.X509Certificate(pki.sender.certificatePem).subject);
    });

    it('nothing is named when nothing readable was presented', async function () {
      let thrown: unknown;
      try {
        await verifyRequest(zlib.gzipSync(Buffer.from('<not-xml')), gateOptions(pki));
      } catch (err) {
        thrown = err;
      }
      expect((thrown as { code: string }).code).to.equal('InvalidSecurity');
      expect(presentedCredentialOf(thrown)).to.equal(undefined);
    });
  });

  describe('assertTlsClientIsSigner', function () {
    it('accepts the signing certificate as TLS client certificate and refuses another one or none', async function () {
      const verified = await verifyRequest(Buffer.from(signed()), gateOptions(pki));
      assertTlsClientIsSigner(verified, Buffer.from(verified.certificateDer));
      const other = Buffer.from((await pki.issueSender()).certificate.rawData);
      expect(() => assertTlsClientIsSigner(verified, other)).to.throw(/not the certificate that signed the message/).with.property('code', 'FailedAuthentication');
      expect(() => assertTlsClientIsSigner(verified, undefined)).to.throw(/no client certificate/).with.property('code', 'FailedAuthentication');
    });
  });
});
