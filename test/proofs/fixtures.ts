// Evidence facts, certificates under the development root, and the independent checks (xmlsec1,
// lxml, openssl ts) used by the evidence tests.
import { createHash, webcrypto } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { enterpriseNumberFrom, ssinFrom } from '../../app/identifiers/index.js';
import { issueCertificate, x509, type IssueOptions, type IssuedCertificate } from '../../app/pki/issue.js';
import type { EvidenceFacts } from '../../app/proofs/index.js';
import { run, type TestPki, type ToolResult } from '../timestamp/tools.js';

export { makeTestPki, run, scratchDir, type TestPki } from '../timestamp/tools.js';

export const b64sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('base64');

export const SENDER_ENTERPRISE = enterpriseNumberFrom('03085143');
export const CITIZEN = ssinFrom('850730033');
export const DOCUMENT = Buffer.from('%PDF-1.7 avertissement-extrait de rôle 2025\n', 'utf8');

/** The SubmissionAcceptance (send-proof) facts of a demo mail. */
export function acceptanceFacts(overrides: Partial<EvidenceFacts> = {}): EvidenceFacts {
  return {
    evidenceId: 'a1b2c3d4-0000-4000-8000-000000000001',
    event: 'SubmissionAcceptance',
    eventTime: new Date('2025-03-14T09:26:53.589Z'),
    registeredMailId: 'f0e1d2c3-0000-4000-8000-00000000abcd',
    senderReference: 'TAX-2025-000123',
    submissionTime: new Date('2025-03-14T09:26:53.589Z'),
    sender: {
      enterpriseNumber: SENDER_ENTERPRISE,
      name: 'FPS Finance (demo)',
      certificateSubject: `CN=FPS Finance (demo) ePost sender, O=FPS Finance (demo), 2.5.4.97=NTRBE-${SENDER_ENTERPRISE}, C=BE`,
      certificateFingerprintSha256: createHash('sha256').update('sender certificate').digest('hex'),
    },
    recipient: { kind: 'citizen', id: CITIZEN },
    subject: 'Avertissement-extrait de rôle 2025',
    language: 'fr',
    document: { fileName: 'aer-2025.pdf', mimeType: 'application/pdf', size: DOCUMENT.length, digestSha256: b64sha256(DOCUMENT) },
    requestDigestSha256: b64sha256('the signed SOAP request'),
    ...overrides,
  };
}

export const EBOX = { kind: 'citizen' as const, ownerId: CITIZEN, messageId: 'ebox-msg-000042' };

/** Issues a certificate under the development root CA, whose key the development PKI keeps. */
export async function issueUnderDevRoot(pki: TestPki, options: Omit<IssueOptions, 'issuer'>): Promise<IssuedCertificate> {
  return issueCertificate({ ...options, issuer: await devRootIssuer(pki) });
}

export async function devRootIssuer(pki: TestPki): Promise<Pick<IssuedCertificate, 'certificate' | 'keys'>> {
  const certificate = new x509.X509Certificate(pki.rootCaPem);
  const der = x509.PemConverter.decode(pki.read(pki.manifest.rootCaKey))[0]!;
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, algorithm, true, ['sign']);
  const publicKey = await certificate.publicKey.export(algorithm, ['verify']);
  return { certificate, keys: { privateKey, publicKey } as CryptoKeyPair };
}

export const EVIDENCE_XSD = path.resolve(import.meta.dirname, '..', '..', 'wsdl', 'Evidence.xsd');

// An implementation independent of ours: libxml2 through lxml for C14N and XML Schema.
const PYTHON_TOOL = `
import sys, base64
from lxml import etree
DS = 'http://www.w3.org/2000/09/xmldsig#'
XADES = 'http://uri.etsi.org/01903/v1.3.2#'
cmd = sys.argv[1]
parser = etree.XMLParser(resolve_entities=False, no_network=True)
if cmd == 'validate':
    schema = etree.XMLSchema(etree.parse(sys.argv[2]))
    doc = etree.parse(sys.argv[3], parser)
    if not schema.validate(doc):
        print(schema.error_log, file=sys.stderr)
        sys.exit(1)
elif cmd == 'extract':
    doc = etree.parse(sys.argv[2], parser)
    value = doc.getroot().find('{%s}Signature/{%s}SignatureValue' % (DS, DS))
    open(sys.argv[3], 'wb').write(etree.tostring(value, method='c14n', exclusive=True))
    stamp = doc.getroot().find('{%s}Signature/{%s}Object/{%s}QualifyingProperties/{%s}UnsignedProperties/{%s}UnsignedSignatureProperties/{%s}SignatureTimeStamp/{%s}EncapsulatedTimeStamp' % (DS, DS, XADES, XADES, XADES, XADES, XADES))
    open(sys.argv[4], 'wb').write(base64.b64decode(stamp.text))
elif cmd == 'text':
    doc = etree.parse(sys.argv[2], parser)
    sys.stdout.buffer.write(doc.getroot().find('{urn:epost:evidence:v1}' + sys.argv[3]).text.encode('utf-8'))
`;

export function python(args: string[]): ToolResult {
  return run('/usr/bin/python3', ['-c', PYTHON_TOOL, ...args]);
}

/** xmlsec1 with only what an evidence needs: the whole document and the same-document SignedProperties. */
export function xmlsecVerify(file: string, trustedPem: string): ToolResult {
  return run('xmlsec1', ['--verify', '--enabled-reference-uris', 'empty,same-doc', '--enabled-key-data', 'x509', '--trusted-pem', trustedPem, file]);
}

/** Canonicalises ds:SignatureValue with lxml and checks the embedded token with `openssl ts -verify -data`. */
export function opensslVerifySignatureTimestamp(file: string, caFile: string, dir: string): ToolResult {
  const c14n = path.join(dir, `${path.basename(file)}.sigvalue.c14n`);
  const token = path.join(dir, `${path.basename(file)}.tst`);
  const extracted = python(['extract', file, c14n, token]);
  if (extracted.status !== 0) return extracted;
  return run('openssl', ['ts', '-verify', '-data', c14n, '-in', token, '-token_in', '-CAfile', caFile]);
}

export function write(dir: string, name: string, content: Buffer | string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}
