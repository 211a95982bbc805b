import { expect } from 'chai';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { EpostError } from '../../app/errors/index.js';
import { issueCertificate, x509 } from '../../app/pki/issue.js';
import {
  EVIDENCE_EVENTS,
  EVIDENCE_NS,
  EXPIRY_REASON,
  ProofSealer,
  buildEvidence,
  eventUri,
  evidenceFollowing,
  followingEvidence,
  linkTo,
  readEvidence,
  verifyEvidence,
  verifyEvidenceChain,
  type EvidenceEvent,
  type EvidenceFacts,
} from '../../app/proofs/index.js';
import { BuiltInTimestampAuthority, issuerSerialDer } from '../../app/timestamp/index.js';
import {
  EBOX,
  EVIDENCE_XSD,
  acceptanceFacts,
  b64sha256,
  issueUnderDevRoot,
  makeTestPki,
  opensslVerifySignatureTimestamp,
  python,
  scratchDir,
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

describe('evidence: the ETSI EN 319 522 evidence set, sealed XAdES B-T', () => {
  let pki: TestPki;
  let work: string;
  let tsa: BuiltInTimestampAuthority;
  let sealer: ProofSealer;
  /** One sealed evidence of every kind, as a mail's life produces them. */
  const sealed = new Map<string, Buffer>();
  const files = new Map<string, string>();

  before(async () => {
    pki = await makeTestPki('epost-evidence-');
    work = scratchDir('epost-evidence-work-');
    tsa = await BuiltInTimestampAuthority.fromPem(pki.read(pki.layout.tsaCert), pki.read(pki.layout.tsaKey));
    // The chain (here the root) is published in KeyInfo after the sealing certificate.
    sealer = await ProofSealer.fromPem({ sealingCertPem: pki.read(pki.layout.sealingCert), sealingKeyPem: pki.read(pki.layout.sealingKey), chainPems: [pki.rootCaPem], tsa });
    const at = (ms: number) => new Date(Date.parse('2025-03-14T09:26:53.589Z') + ms);
    const acceptance = await sealer.sealEvidence(acceptanceFacts());
    const consignment = await sealer.sealEvidence(followingEvidence(acceptance, { event: 'ContentConsignment', evidenceId: 'ev-consignment', eventTime: at(400), eBox: EBOX }));
    const all: Array<[string, Buffer]> = [
      ['SubmissionAcceptance', acceptance],
      ['ContentConsignment', consignment],
      ['ContentHandover', await sealer.sealEvidence(followingEvidence(consignment, { event: 'ContentHandover', evidenceId: 'ev-handover', eventTime: at(86_400_000) }))],
      [
        'ContentHandoverFailure',
        await sealer.sealEvidence(
          followingEvidence(consignment, { event: 'ContentHandoverFailure', evidenceId: 'ev-expiry', eventTime: at(2 * 86_400_000), reasons: [{ code: EXPIRY_REASON, text: 'Expired unopened after its retention period' }] }),
        ),
      ],
      [
        'ContentConsignmentFailure',
        await sealer.sealEvidence(
          followingEvidence(acceptance, { event: 'ContentConsignmentFailure', evidenceId: 'ev-consignment-failure', eventTime: at(500), reasons: [{ code: 'EboxClosed', text: "The recipient's eBox is closed" }] }),
        ),
      ],
      [
        'SubmissionRejection',
        await sealer.sealEvidence({
          evidenceId: 'ev-rejection',
          event: 'SubmissionRejection',
          eventTime: at(0),
          registeredMailId: 'refused-submission-1',
          submissionTime: at(0),
          sender: acceptanceFacts().sender,
          requestDigestSha256: b64sha256('a refused request'),
          reasons: [{ code: 'DigestMismatch', text: 'The SHA-256 digest of the document content does not match the Digest in the request' }],
        }),
      ],
    ];
    for (const [event, bytes] of all) {
      sealed.set(event, bytes);
      files.set(event, write(work, `${event}.xml`, bytes));
    }
  });

  after(() => {
    fs.rmSync(pki.dir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  describe('every event of the set', () => {
    for (const event of EVIDENCE_EVENTS) {
      it(`${event}: xmlsec1 verifies both references and the signature against the development root`, () => {
        const result = xmlsecVerify(files.get(event)!, pki.manifest.rootCaCert);
        expect(result.status, result.stderr).to.equal(0);
        expect(result.stderr + result.stdout).to.contain('SignedInfo References (ok/all): 2/2');
      });

      it(`${event}: openssl ts -verify accepts the token over lxml's exclusive C14N of ds:SignatureValue`, () => {
        const result = opensslVerifySignatureTimestamp(files.get(event)!, pki.manifest.rootCaCert, work);
        expect(result.status, result.stdout + result.stderr).to.equal(0);
        expect(result.stdout).to.contain('Verification: OK');
      });

      it(`${event}: validates against wsdl/Evidence.xsd, and verifyEvidence reports its facts`, async () => {
        expect(python(['validate', EVIDENCE_XSD, files.get(event)!]).status).to.equal(0);
        const verified = await verifyEvidence(sealed.get(event)!, [pki.rootCaPem]);
        expect(verified.facts.event).to.equal(event);
        expect(verified.signerSubject).to.contain('CN=ePost Development Sealing');
        expect(verified.timestamp.tsaSubject).to.contain('Timestamping Authority');
        expect(verified.sealingPath.map((c) => c.subject)).to.deep.equal([verified.signerSubject, new x509.X509Certificate(pki.rootCaPem).subject]);
        expect(verified.digestSha256).to.equal(b64sha256(sealed.get(event)!));
        expect(python(['text', files.get(event)!, 'Event']).stdout).to.equal(eventUri(event));
      });
    }

    it('each following evidence references the exact bytes of the one before it', () => {
      const consignment = readEvidence(sealed.get('ContentConsignment')!.toString('utf8'));
      expect(consignment.previous).to.deep.equal({ evidenceId: acceptanceFacts().evidenceId, event: 'SubmissionAcceptance', digestSha256: b64sha256(sealed.get('SubmissionAcceptance')!) });
      expect(linkTo(sealed.get('SubmissionAcceptance')!)).to.deep.equal(consignment.previous);
      for (const event of ['ContentHandover', 'ContentHandoverFailure'] as const) {
        const facts = readEvidence(sealed.get(event)!.toString('utf8'));
        expect(facts.previous!.digestSha256).to.equal(b64sha256(sealed.get('ContentConsignment')!));
        expect(facts.eBox, 'the eBox is carried over').to.deep.equal(EBOX);
        expect(facts.document).to.deep.equal(acceptanceFacts().document);
      }
      expect(readEvidence(sealed.get('ContentHandoverFailure')!.toString('utf8')).reasons).to.deep.equal([{ code: 'Expired', text: 'Expired unopened after its retention period' }]);
    });

    it('carries evidence id, event, times, mail id, reference, parties, document facts and the request digest', () => {
      const xml = sealed.get('SubmissionAcceptance')!.toString('utf8');
      expect(xml).to.match(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Evidence Version="1" xmlns="urn:epost:evidence:v1">/);
      const facts = readEvidence(xml);
      const expected = acceptanceFacts();
      expect(facts).to.deep.equal(expected);
      expect(xml).to.contain(`<Event>http://uri.etsi.org/19522/Event/SubmissionAcceptance</Event>`);
      expect(xml).to.contain(`<Digest DigestMethod="http://www.w3.org/2001/04/xmlenc#sha256">${expected.document!.digestSha256}</Digest>`);
    });
  });

  describe('the event chain of a mail', () => {
    const chain = (...events: string[]) => events.map((e) => ({ bytes: sealed.get(e)!, facts: readEvidence(sealed.get(e)!.toString('utf8')), name: e }));

    it('accepts acceptance, consignment, handover; and acceptance, consignment, expiry', () => {
      verifyEvidenceChain(chain('SubmissionAcceptance', 'ContentConsignment', 'ContentHandover'));
      verifyEvidenceChain(chain('SubmissionAcceptance', 'ContentConsignment', 'ContentHandoverFailure'));
      verifyEvidenceChain(chain('SubmissionAcceptance', 'ContentConsignmentFailure'));
      verifyEvidenceChain(chain('SubmissionRejection'));
    });

    it('refuses a missing link, a wrong order, a second start and a link to other bytes, naming the evidence', () => {
      const cases: Array<[ReturnType<typeof chain>, RegExp]> = [
        [chain('SubmissionAcceptance', 'ContentHandover'), /ContentHandover: it references evidence ev-consignment \(ContentConsignment\), not SubmissionAcceptance/],
        [chain('ContentConsignment', 'SubmissionAcceptance'), /ContentConsignment: the first evidence must be/],
        [chain('SubmissionAcceptance', 'SubmissionRejection'), /SubmissionRejection: it does not reference the evidence before it/],
        [
          chain('SubmissionAcceptance', 'ContentConsignment').map((e, i) => (i === 0 ? { ...e, bytes: Buffer.concat([e.bytes, Buffer.from('\n')]) } : e)),
          /the digest it holds of SubmissionAcceptance does not match that evidence's bytes/,
        ],
      ];
      for (const [evidences, reason] of cases) {
        const err = refusalOf(() => verifyEvidenceChain(evidences));
        expect(err.code).to.equal('FailedCheck');
        expect(err.message).to.match(reason);
      }
    });
  });

  describe('the XAdES B-T signature', () => {
    let xml: string;
    before(() => {
      xml = sealed.get('SubmissionAcceptance')!.toString('utf8');
    });

    it('references the whole document and xades:SignedProperties, with SHA-256 and the signature method of the sealing key (ECDSA P-256 in the development PKI)', () => {
      const id = /<ds:Signature Id="([^"]+)"/.exec(xml)![1]!;
      expect(xml).to.contain(`<ds:Reference URI="" Id="${id}-Document">`);
      expect(xml).to.contain(`<ds:Reference URI="#${id}-SignedProperties" Type="http://uri.etsi.org/01903#SignedProperties">`);
      expect(xml).to.contain(`<xades:QualifyingProperties xmlns:xades="http://uri.etsi.org/01903/v1.3.2#" Target="#${id}">`);
      expect(xml).to.contain(`<xades:DataObjectFormat ObjectReference="#${id}-Document"><xades:MimeType>text/xml</xades:MimeType>`);
      expect(xml).to.contain('<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/>');
      // Base64 text (certificates, signature values, tokens) is left out: it spells "md5" or "sha1" by chance.
      expect(xml.replace(/>[A-Za-z0-9+/=]{16,}</g, '><')).not.to.match(/sha1|md5/i);
      expect(xml).to.match(/<\/xades:SignedProperties><xades:UnsignedProperties><xades:UnsignedSignatureProperties><xades:SignatureTimeStamp>/);
      expect(xml).to.match(/<\/ds:Signature><\/Evidence>$/);
    });

    it('signs SigningTime and SigningCertificateV2 naming the sealing certificate by SHA-256 and issuer/serial', async () => {
      const verified = await verifyEvidence(xml, [pki.rootCaPem]);
      const sealingDer = Buffer.from(new x509.X509Certificate(pki.read(pki.layout.sealingCert)).rawData);
      expect(xml).to.contain(`<ds:DigestValue>${createHash('sha256').update(sealingDer).digest('base64')}</ds:DigestValue></xades:CertDigest>`);
      expect(xml).to.contain(`<xades:IssuerSerialV2>${issuerSerialDer(sealingDer).toString('base64')}</xades:IssuerSerialV2>`);
      const signingTime = /<xades:SigningTime>([^<]+)<\/xades:SigningTime>/.exec(xml)![1]!;
      expect(verified.signingTime.toISOString()).to.equal(signingTime);
      expect(verified.signingTime.getTime()).to.be.at.most(verified.timestamp.genTime.getTime());
    });

    it('publishes the chain in KeyInfo: the sealing certificate, then the root', () => {
      const certs = [...xml.matchAll(/<ds:X509Certificate>([^<]+)</g)].map((m) => new x509.X509Certificate(Buffer.from(m[1]!, 'base64')).subject);
      expect(certs).to.have.length(2);
      expect(certs[0]).to.contain('Sealing');
      expect(certs[1]).to.contain('Root CA');
    });

    it('a changed SigningTime fails in xmlsec1 and in verifyEvidence (the signed properties are signed)', async () => {
      const tampered = xml.replace(/<xades:SigningTime>(\d{4})/, (_, year: string) => `<xades:SigningTime>${Number(year) - 1}`);
      expect(tampered).to.not.equal(xml);
      expect(xmlsecVerify(write(work, 'signing-time.xml', tampered), pki.manifest.rootCaCert).status).to.not.equal(0);
      expect((await refusal(verifyEvidence(tampered, [pki.rootCaPem]))).message).to.match(/signature does not verify/);
    });

    it('a KeyInfo certificate swapped for another valid one under the root is refused by SigningCertificateV2', async () => {
      const other = await issueUnderDevRoot(pki, { subject: 'CN=Another ePost Sealing (test)', keyUsages: KU.digitalSignature });
      const first = /<ds:X509Certificate>([^<]+)</.exec(xml)![1]!;
      const swapped = xml.replace(first, Buffer.from(other.certificate.rawData).toString('base64'));
      const err = await refusal(verifyEvidence(swapped, [pki.rootCaPem]));
      expect(err.message).to.match(/SigningCertificateV2 does not name the certificate that signed/);
    });

    it('a certificate in KeyInfo that is not on the sealing path is refused (KeyInfo is not signed)', async () => {
      const extra = Buffer.from(new x509.X509Certificate(pki.read(pki.layout.tsaCert)).rawData).toString('base64');
      const padded = xml.replace('</ds:X509Data>', `<ds:X509Certificate>${extra}</ds:X509Certificate></ds:X509Data>`);
      expect(xmlsecVerify(write(work, 'extra-cert.xml', padded), pki.manifest.rootCaCert).status, 'xmlsec1 does not mind').to.equal(0);
      expect((await refusal(verifyEvidence(padded, [pki.rootCaPem]))).message).to.match(/in ds:KeyInfo is not on the sealing certificate's path/);
    });
  });

  describe('special characters', () => {
    const subject = `Fichier <&"'> rôle élève Ωμέγα 中文 𝄞 ]]> end`;
    const fileName = `avis <&"'> été.pdf`;
    let proof: Buffer;
    let file: string;

    before(async () => {
      proof = await sealer.sealEvidence(acceptanceFacts({ subject, senderReference: `ref&<"'>`, document: { ...acceptanceFacts().document!, fileName } }));
      file = write(work, 'special.xml', proof);
    });

    it('are escaped by the serializer, never written raw into markup', () => {
      const xml = proof.toString('utf8');
      expect(xml).to.contain('<Subject>Fichier &lt;&amp;"\'&gt; rôle élève Ωμέγα 中文 𝄞 ]]&gt; end</Subject>');
      expect(xml).to.contain('<FileName>avis &lt;&amp;"\'&gt; été.pdf</FileName>');
      expect(xml).to.contain('<SenderReference>ref&amp;&lt;"\'&gt;</SenderReference>');
    });

    it('survive sealing: lxml reads them back unchanged, xmlsec1, the XSD and verifyEvidence accept the evidence', async () => {
      expect(python(['text', file, 'Subject']).stdout).to.equal(subject);
      expect(python(['text', file, 'Document/{urn:epost:evidence:v1}FileName']).stdout).to.equal(fileName);
      expect(xmlsecVerify(file, pki.manifest.rootCaCert).status).to.equal(0);
      expect(python(['validate', EVIDENCE_XSD, file]).status).to.equal(0);
      expect((await verifyEvidence(proof, [pki.rootCaPem])).facts.subject).to.equal(subject);
    });

    it('give the same evidence whether sealed on the built DOM or parsed from the built text, and the same following facts in hand or read back', async () => {
      const facts = acceptanceFacts({ subject, senderReference: `ref&<"'>`, document: { ...acceptanceFacts().document!, fileName } });
      const withoutSignature = (sealedBytes: Buffer) => sealedBytes.toString('utf8').replace(/<ds:Signature .*<\/ds:Signature>/s, '');
      const digestOfDocument = (sealedBytes: Buffer) => /<ds:Reference URI="" [^>]*>.*?<ds:DigestValue>([^<]+)</s.exec(sealedBytes.toString('utf8'))![1];
      const fromText = await sealer.seal(buildEvidence(facts));
      expect(withoutSignature(proof)).to.equal(buildEvidence(facts));
      expect(withoutSignature(fromText)).to.equal(buildEvidence(facts));
      expect(digestOfDocument(proof)).to.equal(digestOfDocument(fromText));
      const next = { event: 'ContentConsignment' as const, evidenceId: 'ev-next', eventTime: new Date('2025-03-14T09:26:54.001Z'), eBox: EBOX };
      expect(evidenceFollowing(facts, proof, next)).to.deep.equal(followingEvidence(proof, next));
    });

    it('that XML cannot carry unchanged are refused when building', () => {
      for (const bad of ['nul\u0000byte', 'bell\u0007', 'line\u2028separator', 'cr\rhere', 'lone \uD800 surrogate', '\uFFFE']) {
        const err = refusalOf(() => buildEvidence(acceptanceFacts({ subject: bad })));
        expect(err.code).to.equal('InvalidRequest');
        expect(err.message).to.match(/Subject/);
      }
    });
  });

  describe('refusals', () => {
    let xml: string;
    before(() => {
      xml = sealed.get('SubmissionAcceptance')!.toString('utf8');
    });

    it('a tampered subject byte fails in xmlsec1 and in verifyEvidence', async () => {
      const tampered = xml.replace('<Subject>Avertissement', '<Subject>Avertissemenu');
      expect(tampered).to.not.equal(xml);
      expect(xmlsecVerify(write(work, 'tampered-subject.xml', tampered), pki.manifest.rootCaCert).status).to.not.equal(0);
      const err = await refusal(verifyEvidence(tampered, [pki.rootCaPem]));
      expect(err.code).to.equal('FailedCheck');
      expect(err.message).to.match(/signature does not verify/);
    });

    it('an evidence sealed by a certificate outside the trust anchors is refused by both', async () => {
      const root = await issueCertificate({ subject: 'CN=ePost Development Root CA, O=ePost (development only), C=BE', ca: {}, keyUsages: KU.keyCertSign | KU.cRLSign });
      const impostor = await issueCertificate({ subject: 'CN=ePost Development Sealing, O=ePost (development only), C=BE', issuer: root, keyUsages: KU.digitalSignature | KU.nonRepudiation });
      const forger = await ProofSealer.fromPem({ sealingCertPem: impostor.certPem, sealingKeyPem: impostor.keyPem, chainPems: [root.certPem], tsa });
      const forged = await forger.sealEvidence(acceptanceFacts());
      expect(xmlsecVerify(write(work, 'forged.xml', forged), pki.manifest.rootCaCert).status).to.not.equal(0);
      const err = await refusal(verifyEvidence(forged, [pki.rootCaPem]));
      expect(err.message).to.match(/sealing certificate/);
    });

    it('a timestamp token over another imprint is refused (the signature alone is still intact)', async () => {
      const other = (await sealer.sealEvidence(acceptanceFacts({ subject: 'another evidence' }))).toString('utf8');
      const otherToken = /<xades:EncapsulatedTimeStamp>([^<]+)</.exec(other)![1]!;
      const swapped = xml.replace(/<xades:EncapsulatedTimeStamp>[^<]+</, `<xades:EncapsulatedTimeStamp>${otherToken}<`);
      const file = write(work, 'swapped-token.xml', swapped);
      expect(xmlsecVerify(file, pki.manifest.rootCaCert).status).to.equal(0);
      expect(opensslVerifySignatureTimestamp(file, pki.manifest.rootCaCert, work).status).to.not.equal(0);
      expect((await refusal(verifyEvidence(swapped, [pki.rootCaPem]))).message).to.match(/imprint does not match/);
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
      const other = await ProofSealer.fromPem({ sealingCertPem: pki.read(pki.layout.sealingCert), sealingKeyPem: pki.read(pki.layout.sealingKey), tsa: otherTsa });
      const err = await refusal(verifyEvidence(await other.sealEvidence(acceptanceFacts()), [pki.rootCaPem]));
      expect(err.message).to.match(/timestamping authority certificate does not chain/);
    });

    it('refuses a DOCTYPE, a second signature, a moved reference, refused algorithms, comments and other versions, naming what failed', async () => {
      const cases: Array<[string, RegExp]> = [
        [xml.replace('<Evidence ', '<!DOCTYPE Evidence [<!ENTITY x "y">]>\n<Evidence '), /DOCTYPE/],
        [xml.replace('</Evidence>', '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></Evidence>'), /exactly one ds:Signature/],
        [xml.replace('<ds:Reference URI=""', '<ds:Reference URI="#x"'), /whole document/],
        [xml.replace(/xmldsig-more#(?:rsa|ecdsa)-sha256/, 'xmldsig#rsa-sha1'), /signature method .*rsa-sha1 is refused/],
        [xml.replace('<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>', '<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>'), /digest method .*sha1 is refused/],
        [xml.replace(' Type="http://uri.etsi.org/01903#SignedProperties"', ''), /SignedProperties Type/],
        [xml.replace('<EvidenceId>', '<!-- unsigned note --><EvidenceId>'), /comments/],
        [xml.replace('Version="1"', 'Version="2"'), /version/],
        [xml.replace(/<xades:UnsignedProperties>.*<\/xades:UnsignedProperties>/s, ''), /QualifyingProperties must hold exactly SignedProperties, UnsignedProperties/],
      ];
      for (const [variant, reason] of cases) {
        expect(variant).to.not.equal(xml);
        const err = await refusal(verifyEvidence(variant, [pki.rootCaPem]));
        expect(err.code).to.equal('FailedCheck');
        expect(err.message).to.match(reason);
      }
    });

    it('builds nothing that breaks the per-event rules or the field limits', () => {
      const acceptance = sealed.get('SubmissionAcceptance')!;
      const consignment = (overrides: Partial<EvidenceFacts>): EvidenceFacts => ({ ...followingEvidence(acceptance, { event: 'ContentConsignment', evidenceId: 'x', eventTime: new Date(), eBox: EBOX }), ...overrides });
      const cases: Array<[() => string, RegExp]> = [
        [() => buildEvidence(acceptanceFacts({ recipient: { kind: 'citizen', id: '12345678901' } })), /SSIN/],
        [() => buildEvidence(acceptanceFacts({ document: { ...acceptanceFacts().document!, digestSha256: 'not-a-digest' } })), /Document\/Digest/],
        [() => buildEvidence(acceptanceFacts({ eventTime: new Date('nope') })), /EventTime/],
        [() => buildEvidence(acceptanceFacts({ subject: '' })), /Subject/],
        [() => buildEvidence(acceptanceFacts({ previous: linkTo(acceptance) })), /PreviousEvidence is not part of a SubmissionAcceptance/],
        [() => buildEvidence(consignment({ previous: undefined })), /PreviousEvidence is required for a ContentConsignment/],
        [() => buildEvidence(consignment({ eBox: undefined })), /EBox is required/],
        [() => buildEvidence(consignment({ event: 'ContentHandover' as EvidenceEvent, previous: linkTo(acceptance) })), /cannot follow a SubmissionAcceptance/],
        [() => buildEvidence(consignment({ event: 'ContentHandoverFailure' as EvidenceEvent, previous: { ...linkTo(acceptance), event: 'ContentConsignment' } })), /Reasons is required/],
        [() => buildEvidence({ ...acceptanceFacts(), event: 'SubmissionRejection' }), /Reasons is required/],
        [() => buildEvidence(consignment({ eBox: { ...EBOX, ownerId: 'has space' } })), /EBox\/OwnerId/],
      ];
      for (const [build, reason] of cases) {
        const err = refusalOf(build);
        expect(err.code).to.equal('InvalidRequest');
        expect(err.message).to.match(reason);
      }
    });

    it('the XSD itself refuses an evidence that breaks it', () => {
      const bad = buildEvidence(acceptanceFacts()).replace('<Language>fr</Language>', '<Language>xx</Language>');
      const result = python(['validate', EVIDENCE_XSD, write(work, 'bad-language.xml', bad)]);
      expect(result.status).to.not.equal(0);
      expect(result.stderr).to.match(/Language/);
    });

    it('an evidence whose event happened after its timestamp is refused', async () => {
      const future = await sealer.sealEvidence(acceptanceFacts({ eventTime: new Date(Date.now() + 3_600_000), submissionTime: new Date(Date.now() + 3_600_000) }));
      expect((await refusal(verifyEvidence(future, [pki.rootCaPem]))).message).to.match(/event time is later than the evidence timestamp/);
    });
  });

  describe('sealing certificates', () => {
    it('an intermediate published in KeyInfo lets verifiers build the path from the root alone', async () => {
      const intermediate = await issueUnderDevRoot(pki, { subject: 'CN=ePost Sealing CA (test)', ca: { pathLength: 0 }, keyUsages: KU.keyCertSign | KU.cRLSign });
      const sealing = await issueCertificate({ subject: 'CN=ePost Sealing under intermediate (test)', issuer: intermediate, keyUsages: KU.digitalSignature });
      const chained = await ProofSealer.fromPem({ sealingCertPem: sealing.certPem, sealingKeyPem: sealing.keyPem, chainPems: [intermediate.certPem], tsa });
      const proof = await chained.sealEvidence(acceptanceFacts());
      expect(proof.toString('utf8').match(/<ds:X509Certificate>/g)).to.have.length(2);
      expect(xmlsecVerify(write(work, 'chained.xml', proof), pki.manifest.rootCaCert).status).to.equal(0);
      const verified = await verifyEvidence(proof, [pki.rootCaPem]);
      expect(verified.signerSubject).to.contain('under intermediate');
      expect(verified.sealingPath).to.have.length(3);
    });

    // The development sealing key is ECDSA P-256 (the tests above); a production key may be RSA.
    it('an RSA-2048 sealing key signs with rsa-sha256 that xmlsec1 and verifyEvidence accept', async () => {
      const sealing = await issueUnderDevRoot(pki, { subject: 'CN=ePost RSA Sealing (test)', key: { kind: 'rsa', bits: 2048 }, keyUsages: KU.digitalSignature });
      const rsaSealer = await ProofSealer.fromPem({ sealingCertPem: sealing.certPem, sealingKeyPem: sealing.keyPem, tsa });
      const proof = await rsaSealer.sealEvidence(acceptanceFacts());
      expect(proof.toString('utf8')).to.contain('<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>');
      const result = xmlsecVerify(write(work, 'rsa.xml', proof), pki.manifest.rootCaCert);
      expect(result.status, result.stderr).to.equal(0);
      await verifyEvidence(proof, [pki.rootCaPem]);
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

    it('seals only evidences and bundle manifests, once', async () => {
      expect((await refusal(sealer.seal('<?xml version="1.0"?><Other xmlns="urn:epost:evidence:v1"/>'))).message).to.match(/Only ePost Evidence/);
      const once = (await sealer.sealEvidence(acceptanceFacts())).toString('utf8');
      expect((await refusal(sealer.seal(once))).message).to.match(/already signed/);
    });
  });

  it('EVIDENCE_NS is the namespace of the root', () => {
    expect(sealed.get('ContentHandover')!.toString('utf8')).to.contain(`<Evidence Version="1" xmlns="${EVIDENCE_NS}">`);
  });
});
