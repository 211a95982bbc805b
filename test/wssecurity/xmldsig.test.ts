// The strict XML-DSig profile (app/xmldsig): the DOM verifier agrees with xml-crypto's own
// checkSignature on the canonical bytes, and the ECDSA class signs for a stock SignedXml in a way an
// independent verifier (xmlsec1) accepts.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import { expect } from 'chai';
import { SignedXml } from 'xml-crypto';
import { issueCertificate, loadIssuer, x509 } from '../../app/pki/index.js';
import { signRequest, verifyRequest } from '../../app/wssecurity/index.js';
import {
  ECDSA_SHA256,
  ENVELOPED_SIGNATURE,
  EXC_C14N,
  EcdsaSha256,
  SHA256_DIGEST_URI,
  StrictSignedXml,
  exclusiveCanonical,
  referenceDigestMatches,
} from '../../app/xmldsig/index.js';
import { OPERATION_XML, createTestPki, disposeTestPki, gateOptions, pemOf, plainSignedEnvelope, refusal, type TestPki } from './helpers.js';

const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';

describe('XML-DSig profile (app/xmldsig)', function () {
  let pki: TestPki;

  before(async function () {
    pki = await createTestPki();
  });

  after(function () {
    disposeTestPki(pki);
  });

  /** The references as xml-crypto's checkSignature canonicalised them, and ours over the same DOM. */
  function bothCanonicalForms(xml: string): { stock: string[]; ours: string[] } {
    const doc = new DOMParser().parseFromString(xml, 'text/xml');
    const signature = doc.getElementsByTagNameNS(DSIG, 'Signature')[0]!;
    const stock = new StrictSignedXml({ publicCert: pki.sender.certificatePem, idMode: 'wssecurity', getCertFromKeyInfo: () => null });
    stock.loadSignature(signature as unknown as Node);
    expect(stock.checkSignature(xml)).to.equal(true);
    const timestamp = doc.getElementsByTagNameNS('http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd', 'Timestamp')[0]!;
    const body = doc.getElementsByTagNameNS(SOAP, 'Body')[0]!;
    const prefixList = stock.getReferences()[0]!.inclusiveNamespacesPrefixList;
    return {
      stock: stock.getSignedReferences(),
      ours: [timestamp, body].map((element) => exclusiveCanonical(element as unknown as Element, prefixList)),
    };
  }

  it('canonicalises the signed Timestamp and Body exactly as xml-crypto checkSignature does', function () {
    const plain = bothCanonicalForms(plainSignedEnvelope(pki.sender));
    expect(plain.ours).to.deep.equal(plain.stock);
    const withPrefixList = bothCanonicalForms(plainSignedEnvelope(pki.sender, {}, { prefixList: ['soap', 'wsu'] }));
    expect(withPrefixList.ours).to.deep.equal(withPrefixList.stock);
    expect(withPrefixList.ours[1]).to.match(/^<soap:Body xmlns:soap="[^"]+" xmlns:wsu=/);
  });

  it('verifies in the gate a SignedInfo canonicalised with an InclusiveNamespaces PrefixList, and refuses it altered', async function () {
    const xml = plainSignedEnvelope(pki.sender, {}, { prefixList: ['soap'], signedInfoPrefixList: ['soap', 'wsse'] });
    expect(xml).to.match(/<ds:CanonicalizationMethod Algorithm="[^"]+"><InclusiveNamespaces[^>]*PrefixList="soap wsse"/);
    await verifyRequest(Buffer.from(xml), gateOptions(pki));
    const altered = xml.replace('PrefixList="soap wsse"', 'PrefixList="soap"');
    expect((await refusal(altered, gateOptions(pki))).code).to.equal('FailedCheck');
  });

  it('canonicalises with a PrefixList on a clone, leaving the document as it was', function () {
    const xml = signRequest({ operationXml: OPERATION_XML, ...pki.sender });
    const doc = new DOMParser().parseFromString(xml, 'text/xml');
    const body = doc.getElementsByTagNameNS(SOAP, 'Body')[0]! as unknown as Element;
    const attributesBefore = body.attributes.length;
    expect(exclusiveCanonical(body, ['soap'])).to.contain('xmlns:soap=');
    expect(body.attributes.length).to.equal(attributesBefore);
  });

  it('compares digests of the located element only: a digest over other content does not match', function () {
    const xml = signRequest({ operationXml: OPERATION_XML, ...pki.sender });
    const doc = new DOMParser().parseFromString(xml, 'text/xml');
    const body = doc.getElementsByTagNameNS(SOAP, 'Body')[0]! as unknown as Element;
    const digest = Buffer.from(/<ds:DigestValue>([^<]+)<\/ds:DigestValue><\/ds:Reference><\/ds:SignedInfo>/.exec(xml)![1]!, 'base64');
    expect(referenceDigestMatches({ element: body, digestHash: 'sha256', digestValue: digest, inclusiveNamespacesPrefixList: [] })).to.equal(true);
    body.setAttribute('Extra', '1');
    expect(referenceDigestMatches({ element: body, digestHash: 'sha256', digestValue: digest, inclusiveNamespacesPrefixList: [] })).to.equal(false);
    expect(referenceDigestMatches({ element: body, digestHash: 'sha256', digestValue: digest.subarray(1), inclusiveNamespacesPrefixList: [] })).to.equal(false);
  });

  it('allows the enveloped-signature transform only in the profile that asks for it', function () {
    expect(Object.keys(new StrictSignedXml().CanonicalizationAlgorithms)).to.deep.equal([EXC_C14N]);
    expect(Object.keys(new StrictSignedXml({}, { envelopedSignature: true }).CanonicalizationAlgorithms).sort()).to.deep.equal([ENVELOPED_SIGNATURE, EXC_C14N].sort());
  });

  it('signs with an EC key through a stock SignedXml (EcdsaSha256), verified by the strict profile and by xmlsec1', async function () {
    const root = await loadIssuer(fs.readFileSync(pki.manifest.rootCaCert, 'utf8'), fs.readFileSync(pki.manifest.rootCaKey, 'utf8'));
    const sealing = await issueCertificate({
      subject: 'CN=EC sealing (test)',
      issuer: root,
      key: { kind: 'ec', curve: 'P-256' },
      keyUsages: x509.KeyUsageFlags.digitalSignature,
    });
    const signer = new SignedXml({ privateKey: pemOf(sealing).privateKeyPem, signatureAlgorithm: ECDSA_SHA256, canonicalizationAlgorithm: EXC_C14N });
    signer.SignatureAlgorithms[ECDSA_SHA256] = EcdsaSha256;
    signer.addReference({ xpath: '/*', transforms: [ENVELOPED_SIGNATURE, EXC_C14N], digestAlgorithm: SHA256_DIGEST_URI, isEmptyUri: true });
    signer.computeSignature('<Proof xmlns="urn:test"><Fact>delivered</Fact></Proof>', { prefix: 'ds', location: { reference: '/*', action: 'append' } });
    const signed = signer.getSignedXml();
    expect(signed).to.contain(ECDSA_SHA256);

    const doc = new DOMParser().parseFromString(signed, 'text/xml');
    const verifier = new StrictSignedXml({ publicCert: sealing.certPem }, { envelopedSignature: true });
    verifier.loadSignature(doc.getElementsByTagNameNS(DSIG, 'Signature')[0]! as unknown as Node);
    expect(verifier.checkSignature(signed)).to.equal(true);

    const file = path.join(pki.dir, 'ec-signed.xml');
    const certFile = path.join(pki.dir, 'ec-sealing.pem');
    fs.writeFileSync(file, signed);
    fs.writeFileSync(certFile, sealing.certPem);
    const xmlsec = spawnSync('xmlsec1', ['--verify', '--pubkey-cert-pem', certFile, file], { encoding: 'utf8', timeout: 30_000 });
    expect(xmlsec.status, `${xmlsec.stdout}${xmlsec.stderr}`).to.equal(0);
  });
});
