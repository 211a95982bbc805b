// The adversarial suite's tools: raw HTTPS posts to the real service (bytes exactly as an attacker
// sends them, optional gzip and client certificate), the refusal assertion every case makes (exact
// fault code, nothing stored or delivered, a disturbance recorded), the disturbance lookup (the one
// place that knows where refusals are recorded), and the attacker's certificates.
import fs from 'node:fs';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { SenderClient } from '../../app/client/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { issueCertificate, loadIssuer, x509, type IssuedCertificate, type IssueOptions } from '../../app/pki/index.js';
import { signRequest } from '../../app/wssecurity/index.js';
import type { TestService } from '../helpers/service.js';

export const SOAP_ACTION = {
  send: 'urn:epost:registeredmail:v1/SendRegisteredMail',
  proofs: 'urn:epost:registeredmail:v1/GetProofOfDelivery',
} as const;

export interface Pem {
  certificatePem: string;
  privateKeyPem: string;
}

export interface Answer {
  status: number;
  body: string;
  /** The local part of the SOAP faultcode, when the answer is a fault. */
  faultCode: string | undefined;
  faultString: string | undefined;
}

export interface PostOptions {
  soapAction?: string;
  headers?: Record<string, string>;
  /** Default the ordinary HTTPS port; the client-certificate port for two-way TLS. */
  baseUrl?: string;
  clientCertificate?: Pem;
}

/** One HTTPS POST of raw bytes to the SOAP endpoint. A refusal that closes the connection early still yields its answer. */
export function post(service: TestService, payload: string | Buffer, options: PostOptions = {}): Promise<Answer> {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const url = new URL('/soap/RegisteredMail', options.baseUrl ?? service.baseUrl);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = https.request(
      url,
      {
        method: 'POST',
        ca: service.rootCaPem,
        ...(options.clientCertificate ? { cert: options.clientCertificate.certificatePem, key: options.clientCertificate.privateKeyPem } : {}),
        headers: {
          'Content-Type': 'text/xml; charset=utf-8',
          SOAPAction: `"${options.soapAction ?? SOAP_ACTION.send}"`,
          'Content-Length': String(body.length),
          ...options.headers,
        },
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const faultCode = /<faultcode[^>]*>\s*(?:[\w.-]+:)?([\w.-]+)\s*<\/faultcode>/.exec(text)?.[1];
          const faultString = /<faultstring[^>]*>([\s\S]*?)<\/faultstring>/.exec(text)?.[1];
          resolve({ status: res.statusCode ?? 0, body: text, faultCode, faultString });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.end(body);
  });
}

export interface Disturbance {
  recordedAt: string;
  operation: string;
  outcome: string;
  code: string | null;
  reason: string | null;
  /** Who presented the request: certificate subject and SHA-256 fingerprint, when known. */
  executor: string | null;
  executorFingerprint: string | null;
  /** Size of the request as received (kept encrypted, capped, beside the record). */
  payloadSize: number | null;
}

/** Refusals recorded since `since`, oldest first. Where refusals are recorded is known here only. */
export async function disturbancesSince(service: TestService, since: Date): Promise<Disturbance[]> {
  const records = await service.ctx.audit.records({ from: since, limit: 10_000 });
  return records
    .filter((r) => r.outcome === 'refused')
    .map((r) => ({
      recordedAt: r.recordedAt,
      operation: r.operation,
      outcome: r.outcome,
      code: r.disturbanceCode,
      reason: r.disturbanceReason,
      executor: r.executor,
      executorFingerprint: r.executorFingerprint,
      payloadSize: r.payloadSize,
    }));
}

/**
 * Sends the attack and asserts what every case must show: the exact fault code, nothing stored or
 * delivered, and one disturbance recorded with that code, a reason and the request as received
 * (unless the edge refused it before reading it: `payloadKept: false`).
 */
export async function expectRefusal(
  service: TestService,
  attack: () => Promise<Answer>,
  code: string,
  reason?: RegExp,
  expectations: { payloadKept?: boolean } = {},
): Promise<{ answer: Answer; disturbance: Disturbance }> {
  const before = await service.counts();
  const since = new Date();
  const answer = await attack();
  expect(answer.faultCode, `${answer.status} ${answer.body.slice(0, 600)}`).to.equal(code);
  expect(answer.status).to.equal(500);
  if (reason) expect(answer.faultString).to.match(reason);
  // Nothing of the request was kept as a registered mail, a document, an eBox message or a proof.
  expect(await service.counts()).to.deep.equal(before);
  const disturbances = await disturbancesSince(service, since);
  expect(disturbances, 'a disturbance record for the refusal').to.have.length(1);
  const disturbance = disturbances[0]!;
  expect(disturbance.code).to.equal(code);
  expect(disturbance.reason).to.be.a('string').and.not.equal('');
  if (expectations.payloadKept !== false) expect(disturbance.payloadSize, 'the request kept with the record').to.be.a('number').and.above(0);
  return { answer, disturbance };
}

export function demoSender(service: TestService, slug?: string): Pem & { enterpriseNumber: string } {
  const sender = slug ? service.devPki.senders.find((s) => s.slug === slug)! : service.devPki.senders[0]!;
  return { certificatePem: fs.readFileSync(sender.certFile, 'utf8'), privateKeyPem: fs.readFileSync(sender.keyFile, 'utf8'), enterpriseNumber: sender.enterpriseNumber };
}

/** A valid SendRegisteredMail operation element with a fresh SenderReference. */
export function mailOperation(subject = 'Tax assessment 2025'): string {
  return SenderClient.sendRegisteredMailElement({
    senderReference: `SEC-${randomUUID()}`,
    recipient: { kind: 'citizen', ssin: ssinFrom('850730033') },
    subject,
    document: { fileName: 'assessment.txt', mimeType: 'text/plain', content: Buffer.from(`Dear citizen, ${subject}.\n`) },
  });
}

/** A request exactly as the sender client signs it. */
export function signedMail(pem: Pem, overrides: Partial<Parameters<typeof signRequest>[0]> = {}): string {
  return signRequest({ operationXml: mailOperation(), ...pem, ...overrides });
}

export function pemOf(issued: IssuedCertificate): Pem {
  return { certificatePem: issued.certPem, privateKeyPem: issued.keyPem };
}

/** The development CAs, as issuers for the certificates the cases need. */
export async function devCas(service: TestService): Promise<{ root: Awaited<ReturnType<typeof loadIssuer>>; senderCa: Awaited<ReturnType<typeof loadIssuer>> }> {
  const { devPki } = service;
  return {
    root: await loadIssuer(fs.readFileSync(devPki.rootCaCert, 'utf8'), fs.readFileSync(devPki.rootCaKey, 'utf8')),
    senderCa: await loadIssuer(fs.readFileSync(devPki.senderCaCert, 'utf8'), fs.readFileSync(devPki.senderCaKey, 'utf8')),
  };
}

/** A sender certificate under `issuer` (P-256, for speed; key type is not what these cases test). */
export function senderCertificate(issuer: Pick<IssuedCertificate, 'certificate' | 'keys'>, options: Partial<IssueOptions> = {}): Promise<IssuedCertificate> {
  return issueCertificate({
    subject: `CN=Test sender ${randomUUID()}, O=Test, C=BE`,
    issuer,
    key: { kind: 'ec', curve: 'P-256' },
    keyUsages: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation,
    extendedKeyUsages: [x509.ExtendedKeyUsage.clientAuth],
    ...options,
  });
}
