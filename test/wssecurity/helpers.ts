// Test fixtures for the WS-Security gate: a development PKI in a temporary directory, certificates
// issued by its sender CA (or by an attacker's own CA), and hand-built envelopes signed with a plain,
// unrestricted xml-crypto SignedXml, for the requests signRequest() would never produce.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { webcrypto, randomUUID } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { ensureDevPki, issueCertificate, pkiLayout, TrustStore, x509, type DevPkiManifest, type IssuedCertificate, type IssueOptions } from '../../app/pki/index.js';
import { SOAP11_NS, WSSE_NS, WSU_NS, verifyRequest, type GateOptions, type VerifiedRequest } from '../../app/wssecurity/index.js';

export const X509V3 = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3';
export const BASE64_BINARY = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const OPERATION_XML =
  '<ep:SendRegisteredMail xmlns:ep="urn:epost:registeredmail:v1"><ep:SenderReference>REF-1</ep:SenderReference><ep:Subject>Tax assessment 2025</ep:Subject></ep:SendRegisteredMail>';

export interface Pem {
  certificatePem: string;
  privateKeyPem: string;
}

export interface TestPki {
  dir: string;
  manifest: DevPkiManifest;
  trust: TrustStore;
  /** The first demo sender. */
  sender: Pem;
  senderCa: Pick<IssuedCertificate, 'certificate' | 'keys'> & Pem;
  /** Issues a certificate under the development sender CA. */
  issueSender(options?: Partial<IssueOptions>): Promise<IssuedCertificate>;
}

async function loadIssuer(certFile: string, keyFile: string): Promise<Pick<IssuedCertificate, 'certificate' | 'keys'> & Pem> {
  const certificatePem = fs.readFileSync(certFile, 'utf8');
  const privateKeyPem = fs.readFileSync(keyFile, 'utf8');
  const certificate = new x509.X509Certificate(certificatePem);
  const der = x509.PemConverter.decodeFirst(privateKeyPem);
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
  const publicKey = await certificate.publicKey.export({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, ['verify']);
  return { certificate, keys: { privateKey, publicKey } as CryptoKeyPair, certificatePem, privateKeyPem };
}

export async function createTestPki(): Promise<TestPki> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-wssecurity-'));
  const manifest = await ensureDevPki(dir);
  const layout = pkiLayout(dir);
  const senderCa = await loadIssuer(manifest.senderCaCert, manifest.senderCaKey);
  const first = manifest.senders[0]!;
  return {
    dir,
    manifest,
    trust: TrustStore.fromDirectories(layout.anchorsDir, layout.intermediatesDir),
    sender: { certificatePem: fs.readFileSync(first.certFile, 'utf8'), privateKeyPem: fs.readFileSync(first.keyFile, 'utf8') },
    senderCa,
    issueSender: (options = {}) =>
      issueCertificate({
        subject: `CN=Test sender ${randomUUID()}, O=Test, C=BE`,
        issuer: senderCa,
        keyUsages: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation,
        extendedKeyUsages: [x509.ExtendedKeyUsage.clientAuth],
        ...options,
      }),
  };
}

/** Removes the temporary directory of a test PKI. */
export function disposeTestPki(pki: TestPki | undefined): void {
  if (pki) fs.rmSync(pki.dir, { recursive: true, force: true });
}

export function pemOf(issued: IssuedCertificate): Pem {
  return { certificatePem: issued.certPem, privateKeyPem: issued.keyPem };
}

export function gateOptions(pki: TestPki, overrides: Partial<GateOptions> = {}): GateOptions {
  return { now: new Date(), maxTtlSeconds: 300, clockSkewSeconds: 60, maxRequestBytes: 20 * 1024 * 1024, trust: pki.trust, ...overrides };
}

/** Runs the gate and returns the EpostError it throws (failing the test if it accepts the request). */
export async function refusal(xml: string | Buffer, options: GateOptions): Promise<{ code: string; message: string }> {
  let accepted: VerifiedRequest | undefined;
  try {
    accepted = await verifyRequest(Buffer.isBuffer(xml) ? xml : Buffer.from(xml, 'utf8'), options);
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string };
    if (e.name !== 'EpostError') throw err;
    return { code: e.code!, message: e.message! };
  }
  throw new Error(`The gate accepted the request (operation ${accepted.operation.localName})`);
}

export interface EnvelopeParts {
  certificatePem?: string;
  /** Omit the BinarySecurityToken altogether. */
  withoutToken?: boolean;
  tokenValueType?: string;
  tokenText?: string;
  created?: string | null;
  expires?: string | null;
  operationXml?: string;
  ids?: { token: string; timestamp: string; body: string };
  /** Extra SOAP header blocks, before wsse:Security. */
  extraHeaders?: string;
}

export function defaultIds(): { token: string; timestamp: string; body: string } {
  const suffix = randomUUID();
  return { token: `X509-${suffix}`, timestamp: `TS-${suffix}`, body: `Body-${suffix}` };
}

/** An unsigned envelope in the shape signRequest() produces, with every part overridable. */
export function buildEnvelope(parts: EnvelopeParts): string {
  const ids = parts.ids ?? defaultIds();
  const now = Date.now();
  const created = parts.created === undefined ? new Date(now).toISOString() : parts.created;
  const expires = parts.expires === undefined ? new Date(now + 300_000).toISOString() : parts.expires;
  const tokenText = parts.tokenText ?? (parts.certificatePem ? Buffer.from(new x509.X509Certificate(parts.certificatePem).rawData).toString('base64') : '');
  const token = parts.withoutToken
    ? ''
    : `<wsse:BinarySecurityToken EncodingType="${BASE64_BINARY}" ValueType="${parts.tokenValueType ?? X509V3}" wsu:Id="${ids.token}">${tokenText}</wsse:BinarySecurityToken>`;
  return (
    `<soap:Envelope xmlns:soap="${SOAP11_NS}" xmlns:wsse="${WSSE_NS}" xmlns:wsu="${WSU_NS}"><soap:Header>${parts.extraHeaders ?? ''}` +
    `<wsse:Security soap:mustUnderstand="1">${token}<wsu:Timestamp wsu:Id="${ids.timestamp}">` +
    (created === null ? '' : `<wsu:Created>${created}</wsu:Created>`) +
    (expires === null ? '' : `<wsu:Expires>${expires}</wsu:Expires>`) +
    `</wsu:Timestamp></wsse:Security></soap:Header>` +
    `<soap:Body wsu:Id="${ids.body}">${parts.operationXml ?? OPERATION_XML}</soap:Body></soap:Envelope>`
  );
}

export interface PlainSignOptions {
  privateKeyPem: string;
  signatureAlgorithm?: string;
  digestAlgorithm?: string;
  tokenId: string;
  /** XPath of the elements to sign; default the Timestamp and the Body. */
  references?: string[];
  /** An InclusiveNamespaces PrefixList on each reference's transform, as WSS4J writes it. */
  prefixList?: string[];
  /** An InclusiveNamespaces PrefixList on the SignedInfo's CanonicalizationMethod. */
  signedInfoPrefixList?: string[];
}

export const TIMESTAMP_XPATH = "/*[local-name()='Envelope']/*[local-name()='Header']/*[local-name()='Security']/*[local-name()='Timestamp']";
export const BODY_XPATH = "/*[local-name()='Envelope']/*[local-name()='Body']";

/** Signs with xml-crypto's stock SignedXml (SHA-1 and all), the way a careless or hostile client could. */
export function signWithPlainXmlCrypto(unsigned: string, options: PlainSignOptions): string {
  const signedXml = new SignedXml({
    privateKey: options.privateKeyPem,
    signatureAlgorithm: options.signatureAlgorithm ?? 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: EXC_C14N,
    idMode: 'wssecurity',
    ...(options.signedInfoPrefixList ? { inclusiveNamespacesPrefixList: options.signedInfoPrefixList } : {}),
    getKeyInfoContent: () => `<wsse:SecurityTokenReference><wsse:Reference URI="#${options.tokenId}" ValueType="${X509V3}"/></wsse:SecurityTokenReference>`,
  });
  for (const xpath of options.references ?? [TIMESTAMP_XPATH, BODY_XPATH]) {
    signedXml.addReference({
      xpath,
      transforms: [EXC_C14N],
      digestAlgorithm: options.digestAlgorithm ?? 'http://www.w3.org/2001/04/xmlenc#sha256',
      inclusiveNamespacesPrefixList: options.prefixList ?? [],
    });
  }
  signedXml.computeSignature(unsigned, {
    prefix: 'ds',
    location: { reference: "/*[local-name()='Envelope']/*[local-name()='Header']/*[local-name()='Security']", action: 'append' },
    existingPrefixes: { wsse: WSSE_NS, wsu: WSU_NS, soap: SOAP11_NS },
  });
  return signedXml.getSignedXml();
}

/** Builds and signs an envelope in one go with the plain signer. */
export function plainSignedEnvelope(pem: Pem, parts: EnvelopeParts = {}, sign: Partial<PlainSignOptions> = {}): string {
  const ids = parts.ids ?? defaultIds();
  const unsigned = buildEnvelope({ certificatePem: pem.certificatePem, ...parts, ids });
  return signWithPlainXmlCrypto(unsigned, { privateKeyPem: pem.privateKeyPem, tokenId: ids.token, ...sign });
}

/** The value between the first opening and closing tag of `localName` (any prefix). */
export function textOf(xml: string, localName: string): string {
  const match = new RegExp(`<(?:\\w+:)?${localName}[^>]*>([^<]*)</(?:\\w+:)?${localName}>`).exec(xml);
  if (!match) throw new Error(`no ${localName} in the XML`);
  return match[1]!;
}

/** Replaces exactly one occurrence, failing loudly when the fixture does not contain it. */
export function replaceOnce(xml: string, search: string | RegExp, replacement: string): string {
  const out = xml.replace(search, replacement);
  if (out === xml) throw new Error(`fixture edit did not apply: ${String(search)}`);
  return out;
}
