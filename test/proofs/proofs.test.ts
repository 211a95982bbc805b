import { expect } from 'chai';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { EpostError } from '../../app/errors/index.js';
import { issueCertificate, x509 } from '../../app/pki/issue.js';
import { PROOF_NS, ProofSealer, buildDeliveryProof, buildSendProof, verifySealedProof } from '../../app/proofs/index.js';
import { BuiltInTimestampAuthority } from '../../app/timestamp/index.js';
import {
  PROOF_XSD,
  deliveryProofData,
  issueUnderDevRoot,
  makeTestPki,
  opensslVerifySignatureTimestamp,
  python,
  scratchDir,
  sendProofData,
  write,
  xmlsecVerify,
  type TestPki,
} from './fixtures.js';

const KU = x509.KeyUsageFlags;

async function refusal(promise: Promise<unknown>): Promise<EpostError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(EpostError);
    return err as EpostError;
  }
  return expect.fail('expected a refusal');
}

function refusalOf(fn: () => unknown): EpostError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(EpostError);
    return err as EpostError;
  }
  return expect.fail('expected a refusal');
}

describe('proofs: sealed, timestamped send and delivery proofs', () => {
  let pki: TestPki;
  let work: string;
  let tsa: BuiltInTimestampAuthority;
  let sealer: ProofSealer;
  let sendProof: Buffer;
  let deliveryProof: Buffer;
  let sendFile: string;
  let deliveryFile: string;

  before(async () => {
    pki = await makeTestPki('epost-proofs-');
    work = scratchDir('epost-proofs-work-');
    tsa = await BuiltInTimestampAuthority.fromPem(pki.read(pki.layout.tsaCert), pki.read(pki.layout.tsaKey));
    sealer = await ProofSealer.fromPem({ sealingCertPem: pki.read(pki.layout.sealingCert), sealingKeyPem: pki.read(pki.layout.sealingKey), tsa });
    sendProof = await sealer.seal(buildSendProof(sendProofData()));
    deliveryProof = await sealer.seal(buildDeliveryProof(deliveryProofData(sendProof)));
    sendFile = write(work, 'send-proof.xml', sendProof);
    deliveryFile = write(work, 'delivery-proof.xml', deliveryProof);
  });

  after(() => {
    fs.rmSync(pki.dir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  describe('a sealed send-proof and a sealed delivery proof', () => {
    for (const kind of ['SendProof', 'DeliveryProof'] as const) {
      it(`${kind}: xmlsec1 verifies the enveloped signature against the development root`, () => {
        const result = xmlsecVerify(kind === 'SendProof' ? sendFile : deliveryFile, pki.manifest.rootCaCert);
        expect(result.status, result.stderr).to.equal(0);
        expect(result.stdout + result.stderr).to.contain('OK');
      });

      it(`${kind}: verifySealedProof accepts it and reports what it proves`, async () => {
        const before = Date.now();
        const verified = await verifySealedProof(kind === 'SendProof' ? sendProof : deliveryProof, [pki.rootCaPem]);
        expect(verified.kind).to.equal(kind);
        expect(verified.proofId).to.equal(kind === 'SendProof' ? sendProofData().proofId : deliveryProofData(sendProof).proofId);
        expect(verified.registeredMailId).to.equal(sendProofData().registeredMailId);
        expect(verified.signerSubject).to.contain('CN=ePost Development Sealing');
        expect(verified.timestampTime.getTime()).to.be.below(before + 1).and.above(before - 120_000);
        expect(verified.document.documentElement!.namespaceURI).to.equal(PROOF_NS);
      });

      it(`${kind}: lxml's exclusive C14N of ds:SignatureValue is what the timestamp token covers (openssl ts -verify -data)`, () => {
        const result = opensslVerifySignatureTimestamp(kind === 'SendProof' ? sendFile : deliveryFile, pki, work);
        expect(result.status, result.stdout + result.stderr).to.equal(0);
        expect(result.stdout).to.contain('Verification: OK');
      });

      it(`${kind}: validates against wsdl/Proof.xsd, sealed and unsealed`, () => {
        const unsealed = kind === 'SendProof' ? buildSendProof(sendProofData()) : buildDeliveryProof(deliveryProofData(sendProof));
        for (const file of [kind === 'SendProof' ? sendFile : deliveryFile, write(work, `${kind}-unsealed.xml`, unsealed)]) {
          const result = python(['validate', PROOF_XSD, file]);
          expect(result.status, result.stderr).to.equal(0);
        }
      });
    }

    it('has the documented shape: root Version 1, signature last, SHA-256 everywhere, XAdES timestamp targeting the signature', () => {
      const xml = sendProof.toString('utf8');
      expect(xml).to.match(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<SendProof Version="1" xmlns="urn:epost:proof:v1">/);
      expect(xml).to.match(/<\/ds:Signature><\/SendProof>$/);
      expect(xml).to.contain('<ds:Reference URI="">');
      expect(xml).to.contain('Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"');
      expect(xml).to.contain('<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>');
      expect(xml).not.to.match(/sha1|md5/i);
      const id = /<ds:Signature Id="([^"]+)"/.exec(xml)?.[1];
      expect(id).to.be.a('string');
      expect(xml).to.contain(`Target="#${id}"`);
      expect(xml).to.match(/<ds:Object><xades:QualifyingProperties xmlns:xades="http:\/\/uri\.etsi\.org\/01903\/v1\.3\.2#"/);
      expect(xml).to.contain(`<Digest DigestMethod="http://www.w3.org/2001/04/xmlenc#sha256">${sendProofData().document.digestSha256}</Digest>`);
      expect(xml).to.contain(`<RequestDigest DigestMethod="http://www.w3.org/2001/04/xmlenc#sha256">${sendProofData().requestDigestSha256}</RequestDigest>`);
    });

    it('delivery proof references the sealed send-proof by id and SHA-256 of its bytes', () => {
      const xml = deliveryProof.toString('utf8');
      const digest = createHash('sha256').update(sendProof).digest('base64');
      expect(xml).to.match(new RegExp(`<SendProofReference>\\s*<ProofId>${sendProofData().proofId}</ProofId>\\s*<Digest DigestMethod="http://www.w3.org/2001/04/xmlenc#sha256">${digest.replace(/[+/]/g, '\\$&')}</Digest>`));
      expect(xml).to.match(/<EBox>\s*<Kind>citizen<\/Kind>/);
    });

    it('the unreferenced ds:Object is outside the signature: removing it keeps xmlsec1 happy, but verifySealedProof wants the timestamp', async () => {
      const stripped = sendProof.toString('utf8').replace(/<ds:Object>.*<\/ds:Object>/s, '');
      const result = xmlsecVerify(write(work, 'no-object.xml', stripped), pki.manifest.rootCaCert);
      expect(result.status, result.stderr).to.equal(0);
      const err = await refusal(verifySealedProof(stripped, [pki.rootCaPem]));
      expect(err.code).to.equal('FailedCheck');
      expect(err.message).to.match(/QualifyingProperties/);
    });
  });

  describe('special characters', () => {
    const subject = `Fichier <&"'> rôle élève Ωμέγα 中文 𝄞 ]]> end`;
    const fileName = `avis <&"'> été.pdf`;
    let proof: Buffer;
    let file: string;

    before(async () => {
      proof = await sealer.seal(buildSendProof(sendProofData({ subject, senderReference: `ref&<"'>`, document: { ...sendProofData().document, fileName } })));
      file = write(work, 'special.xml', proof);
    });

    it('are escaped by the serializer, never written raw into markup', () => {
      const xml = proof.toString('utf8');
      expect(xml).to.contain('<Subject>Fichier &lt;&amp;"\'&gt; rôle élève Ωμέγα 中文 𝄞 ]]&gt; end</Subject>');
      expect(xml).to.contain('<FileName>avis &lt;&amp;"\'&gt; été.pdf</FileName>');
      expect(xml).to.contain('<SenderReference>ref&amp;&lt;"\'&gt;</SenderReference>');
    });

    it('survive sealing: lxml reads them back unchanged, xmlsec1, the XSD and verifySealedProof accept the proof', async () => {
      expect(python(['text', file, 'Subject']).stdout).to.equal(subject);
      expect(python(['text', file, 'Document/{urn:epost:proof:v1}FileName']).stdout).to.equal(fileName);
      expect(xmlsecVerify(file, pki.manifest.rootCaCert).status).to.equal(0);
      expect(python(['validate', PROOF_XSD, file]).status).to.equal(0);
      const verified = await verifySealedProof(proof, [pki.rootCaPem]);
      expect(verified.document.getElementsByTagNameNS(PROOF_NS, 'Subject').item(0)!.textContent).to.equal(subject);
    });

    it('that XML cannot carry unchanged are refused when building', () => {
      for (const bad of ['nul\u0000byte', 'bell\u0007', 'line\u2028separator', 'cr\rhere', 'lone \uD800 surrogate', '\uFFFE']) {
        const err = refusalOf(() => buildSendProof(sendProofData({ subject: bad })));
        expect(err.code).to.equal('InvalidRequest');
        expect(err.message).to.match(/Subject/);
      }
    });
  });

  describe('refusals', () => {
    it('a tampered subject byte fails in xmlsec1 and in verifySealedProof', async () => {
      const tampered = Buffer.from(sendProof.toString('utf8').replace('<Subject>Avertissement', '<Subject>Avertissemenu'), 'utf8');
      expect(tampered.equals(sendProof)).to.equal(false);
      const result = xmlsecVerify(write(work, 'tampered-subject.xml', tampered), pki.manifest.rootCaCert);
      expect(result.status).to.not.equal(0);
      const err = await refusal(verifySealedProof(tampered, [pki.rootCaPem]));
      expect(err.code).to.equal('FailedCheck');
      expect(err.message).to.match(/signature does not verify/);
    });

    it('a tampered document digest fails in xmlsec1 and in verifySealedProof', async () => {
      const digest = sendProofData().document.digestSha256;
      const altered = (digest[0] === 'A' ? 'B' : 'A') + digest.slice(1);
      const tampered = sendProof.toString('utf8').replace(`>${digest}</Digest>`, `>${altered}</Digest>`);
      expect(tampered).to.contain(altered);
      expect(xmlsecVerify(write(work, 'tampered-digest.xml', tampered), pki.manifest.rootCaCert).status).to.not.equal(0);
      const err = await refusal(verifySealedProof(tampered, [pki.rootCaPem]));
      expect(err.message).to.match(/signature does not verify/);
    });

    it('a proof sealed by a certificate outside the trust anchors is refused by both', async () => {
      const root = await issueCertificate({ subject: 'CN=ePost Development Root CA, O=ePost (development only), C=BE', ca: {}, keyUsages: KU.keyCertSign | KU.cRLSign });
      const impostor = await issueCertificate({ subject: 'CN=ePost Development Sealing, O=ePost (development only), C=BE', issuer: root, keyUsages: KU.digitalSignature | KU.nonRepudiation });
      const forger = await ProofSealer.fromPem({ sealingCertPem: impostor.certPem, sealingKeyPem: impostor.keyPem, chainPems: [root.certPem], tsa });
      const forged = await forger.seal(buildSendProof(sendProofData()));
      expect(xmlsecVerify(write(work, 'forged.xml', forged), pki.manifest.rootCaCert).status).to.not.equal(0);
      const err = await refusal(verifySealedProof(forged, [pki.rootCaPem]));
      expect(err.code).to.equal('FailedCheck');
      expect(err.message).to.match(/sealing certificate does not chain to a trusted anchor/);
    });

    it('a timestamp token over another imprint is refused (the signature alone is still intact)', async () => {
      const other = (await sealer.seal(buildSendProof(sendProofData({ subject: 'another proof' })))).toString('utf8');
      const otherToken = /<xades:EncapsulatedTimeStamp>([^<]+)</.exec(other)![1]!;
      const swapped = sendProof.toString('utf8').replace(/<xades:EncapsulatedTimeStamp>[^<]+</, `<xades:EncapsulatedTimeStamp>${otherToken}<`);
      const file = write(work, 'swapped-token.xml', swapped);
      expect(xmlsecVerify(file, pki.manifest.rootCaCert).status).to.equal(0);
      expect(opensslVerifySignatureTimestamp(file, pki, work).status).to.not.equal(0);
      const err = await refusal(verifySealedProof(swapped, [pki.rootCaPem]));
      expect(err.message).to.match(/imprint does not match/);
    });

    it('a timestamp from a TSA outside the trust anchors is refused', async () => {
      const root = await issueCertificate({ subject: 'CN=Other Root', ca: {}, keyUsages: KU.keyCertSign });
      const otherTsaCert = await issueCertificate({
        subject: 'CN=Other TSA',
        issuer: root,
        keyUsages: KU.digitalSignature,
        extendedKeyUsages: [x509.ExtendedKeyUsage.timeStamping],
        extendedKeyUsageCritical: true,
      });
      const otherTsa = await BuiltInTimestampAuthority.fromPem(otherTsaCert.certPem, otherTsaCert.keyPem);
      const sealed = await (
        await ProofSealer.fromPem({ sealingCertPem: pki.read(pki.layout.sealingCert), sealingKeyPem: pki.read(pki.layout.sealingKey), tsa: otherTsa })
      ).seal(buildSendProof(sendProofData()));
      const err = await refusal(verifySealedProof(sealed, [pki.rootCaPem]));
      expect(err.message).to.match(/timestamping authority certificate does not chain/);
    });

    it('refuses a DOCTYPE, a second signature, a partial reference and refused algorithms, naming what failed', async () => {
      const xml = sendProof.toString('utf8');
      const cases: Array<[string, RegExp]> = [
        [xml.replace('<SendProof ', '<!DOCTYPE SendProof [<!ENTITY x "y">]>\n<SendProof '), /DOCTYPE/],
        [xml.replace('</SendProof>', '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></SendProof>'), /exactly one ds:Signature/],
        [xml.replace('<ds:Reference URI="">', '<ds:Reference URI="#x">'), /whole document/],
        [xml.replace('xmldsig-more#rsa-sha256', 'xmldsig#rsa-sha1'), /signature method .*rsa-sha1 is refused/],
        [xml.replace('<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>', '<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>'), /digest method .*sha1 is refused/],
        [xml.replace('<ProofId>', '<!-- unsigned note --><ProofId>'), /comments/],
        [xml.replace('Version="1"', 'Version="2"'), /version/],
      ];
      for (const [variant, reason] of cases) {
        expect(variant).to.not.equal(xml);
        const err = await refusal(verifySealedProof(variant, [pki.rootCaPem]));
        expect(err.code).to.equal('FailedCheck');
        expect(err.message).to.match(reason);
      }
    });

    it('builds nothing from invalid facts', () => {
      const cases: Array<[() => string, RegExp]> = [
        [() => buildSendProof(sendProofData({ recipient: { kind: 'citizen', id: '12345678901' } })), /SSIN/],
        [() => buildSendProof(sendProofData({ document: { ...sendProofData().document, digestSha256: 'not-a-digest' } })), /Document\/Digest/],
        [() => buildSendProof(sendProofData({ submissionTime: new Date('nope') })), /SubmissionTime/],
        [() => buildSendProof(sendProofData({ subject: '' })), /Subject/],
        [() => buildDeliveryProof(deliveryProofData(sendProof, { eBox: { kind: 'citizen', ownerId: 'has space', messageId: 'm' } })), /EBox\/OwnerId/],
      ];
      for (const [build, reason] of cases) {
        const err = refusalOf(build);
        expect(err.code).to.equal('InvalidRequest');
        expect(err.message).to.match(reason);
      }
    });

    it('the XSD itself refuses a proof that breaks it', () => {
      const bad = buildSendProof(sendProofData()).replace('<Language>fr</Language>', '<Language>xx</Language>');
      const result = python(['validate', PROOF_XSD, write(work, 'bad-language.xml', bad)]);
      expect(result.status).to.not.equal(0);
      expect(result.stderr).to.match(/Language/);
    });
  });

  describe('sealing certificates', () => {
    it('an intermediate published in X509Data lets verifiers build the path from the root alone', async () => {
      const senderCa = new x509.X509Certificate(pki.read(pki.manifest.senderCaCert));
      expect(senderCa.subject).to.contain('Sender CA');
      // A sealing certificate one level down: under a fresh intermediate issued by the development root.
      const intermediate = await issueUnderDevRoot(pki, { subject: 'CN=ePost Sealing CA (test)', ca: { pathLength: 0 }, keyUsages: KU.keyCertSign | KU.cRLSign });
      const sealing = await issueCertificate({ subject: 'CN=ePost Sealing under intermediate (test)', issuer: intermediate, keyUsages: KU.digitalSignature });
      const chained = await ProofSealer.fromPem({ sealingCertPem: sealing.certPem, sealingKeyPem: sealing.keyPem, chainPems: [intermediate.certPem], tsa });
      const proof = await chained.seal(buildSendProof(sendProofData()));
      expect(proof.toString('utf8').match(/<ds:X509Certificate>/g)).to.have.length(2);
      expect(xmlsecVerify(write(work, 'chained.xml', proof), pki.manifest.rootCaCert).status).to.equal(0);
      const verified = await verifySealedProof(proof, [pki.rootCaPem]);
      expect(verified.signerSubject).to.contain('under intermediate');
    });

    it('an ECDSA P-256 sealing key signs with ecdsa-sha256 that xmlsec1 and verifySealedProof accept', async () => {
      const sealing = await issueUnderDevRoot(pki, { subject: 'CN=ePost EC Sealing (test)', key: { kind: 'ec', curve: 'P-256' }, keyUsages: KU.digitalSignature });
      const ecSealer = await ProofSealer.fromPem({ sealingCertPem: sealing.certPem, sealingKeyPem: sealing.keyPem, tsa });
      const proof = await ecSealer.seal(buildSendProof(sendProofData()));
      expect(proof.toString('utf8')).to.contain('Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"');
      const result = xmlsecVerify(write(work, 'ecdsa.xml', proof), pki.manifest.rootCaCert);
      expect(result.status, result.stderr).to.equal(0);
      await verifySealedProof(proof, [pki.rootCaPem]);
    });

    it('refuses to start with an expired certificate, a key of another certificate, or a weak key', async () => {
      const expired = await issueUnderDevRoot(pki, {
        subject: 'CN=Expired Sealing (test)',
        keyUsages: KU.digitalSignature,
        notBefore: new Date(Date.now() - 3 * 365 * 86400_000),
        notAfter: new Date(Date.now() - 86400_000),
      });
      expect((await refusal(ProofSealer.fromPem({ sealingCertPem: expired.certPem, sealingKeyPem: expired.keyPem, tsa }))).message).to.match(/not valid now/);
      expect(
        (await refusal(ProofSealer.fromPem({ sealingCertPem: pki.read(pki.layout.sealingCert), sealingKeyPem: pki.read(pki.layout.tsaKey), tsa }))).message,
      ).to.match(/does not belong/);
      const weak = await issueUnderDevRoot(pki, { subject: 'CN=Weak Sealing (test)', key: { kind: 'rsa', bits: 1024 }, keyUsages: KU.digitalSignature });
      expect((await refusal(ProofSealer.fromPem({ sealingCertPem: weak.certPem, sealingKeyPem: weak.keyPem, tsa }))).message).to.match(/too weak/);
    });

    it('seals fast enough for the send path', async () => {
      const xml = buildSendProof(sendProofData());
      const started = process.hrtime.bigint();
      for (let i = 0; i < 10; i++) await sealer.seal(xml);
      expect(Number(process.hrtime.bigint() - started) / 1e6 / 10).to.be.below(100);
    });
  });
});
