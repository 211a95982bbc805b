// The sender client: what an institution imports to send registered mail to ePost. It builds the
// request, signs it with WS-Security (X.509 token, RSA-SHA256, Body + Timestamp), posts it over
// verified HTTPS and reads the answer or the fault. The CLI scripts and the tests use it as is.
import { createHash } from 'node:crypto';
import https from 'node:https';
import { DOMImplementation, DOMParser, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import { signRequest } from '../wssecurity/index.js';

const NS = 'urn:epost:registeredmail:v1';
const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const SHA256_URI = 'http://www.w3.org/2001/04/xmlenc#sha256';

export interface SenderClientOptions {
  /** e.g. https://localhost:8443 */
  baseUrl: string;
  certificatePem: string;
  privateKeyPem: string;
  /** CA certificate(s) that the ePost TLS server certificate must chain to. */
  tlsCaPem: string | string[];
  /** Lifetime of the wsu:Timestamp of each request, in seconds (default 300). */
  ttlSeconds?: number;
  /** Two-way TLS: present this certificate and key in the TLS handshake (normally the signing ones). */
  tlsClient?: { cert: string; key: string };
}

export type RecipientAddress = { kind: 'citizen'; ssin: string } | { kind: 'enterprise'; enterpriseNumber: string };

export interface RegisteredMailSubmission {
  senderReference: string;
  recipient: RecipientAddress;
  subject: string;
  language?: 'fr' | 'nl' | 'de' | 'en';
  document: { fileName: string; mimeType: string; content: Buffer };
}

export interface SendResult {
  registeredMailId: string;
  submissionTime: Date;
  sendProof: Buffer;
}

export interface ProofsResult {
  status: 'SUBMITTED' | 'DELIVERED' | 'READ' | 'FAILED';
  sendProof: Buffer;
  deliveryProof?: Buffer;
  /** Every evidence of the mail, in order. */
  evidence: Buffer[];
  /** RFC 6962 inclusion proofs (JSON) of the evidences' log records, once a signed tree head covers them. */
  inclusionProofs: { evidenceId: string; proof: Buffer }[];
}

/** A SOAP fault returned by ePost: `code` is the local part (InvalidSecurity, DigestMismatch, ...). */
export class SoapFault extends Error {
  constructor(
    readonly faultCode: string,
    readonly code: string,
    readonly reason: string,
    readonly retryable: boolean,
    /** For a send refused from an authenticated sender: the sealed SubmissionRejection evidence. */
    readonly rejectionEvidence?: Buffer,
  ) {
    super(`${faultCode}: ${reason}`);
    this.name = 'SoapFault';
  }
}

/** Parses "citizen:<SSIN>" or "enterprise:<number>". */
export function parseRecipient(text: string): RecipientAddress {
  const m = /^(citizen|enterprise):(\S+)$/.exec(text.trim());
  if (!m) throw new Error(`recipient must be citizen:<SSIN> or enterprise:<enterprise number>, got "${text}"`);
  return m[1] === 'citizen' ? { kind: 'citizen', ssin: m[2]! } : { kind: 'enterprise', enterpriseNumber: m[2]! };
}

export class SenderClient {
  constructor(readonly options: SenderClientOptions) {}

  /** The operation element of a SendRegisteredMail request (unsigned), as the service expects it. */
  static sendRegisteredMailElement(submission: RegisteredMailSubmission): string {
    const doc = new DOMImplementation().createDocument(NS, 'SendRegisteredMailRequest', null);
    const root = doc.documentElement!;
    const add = (parent: Element, name: string, text?: string): Element => {
      const el = doc.createElementNS(NS, name);
      if (text !== undefined) el.appendChild(doc.createTextNode(text));
      parent.appendChild(el);
      return el;
    };
    add(root, 'SenderReference', submission.senderReference);
    const recipient = add(root, 'Recipient');
    if (submission.recipient.kind === 'citizen') add(recipient, 'SSIN', submission.recipient.ssin);
    else add(recipient, 'EnterpriseNumber', submission.recipient.enterpriseNumber);
    add(root, 'Subject', submission.subject);
    const document = add(root, 'Document');
    add(document, 'FileName', submission.document.fileName);
    add(document, 'MimeType', submission.document.mimeType);
    add(document, 'Content', submission.document.content.toString('base64'));
    const digest = add(document, 'Digest', createHash('sha256').update(submission.document.content).digest('base64'));
    digest.setAttribute('DigestMethod', SHA256_URI);
    if (submission.language) add(root, 'Language', submission.language);
    return new XMLSerializer().serializeToString(root);
  }

  static getProofOfDeliveryElement(lookup: { registeredMailId: string } | { senderReference: string }): string {
    const doc = new DOMImplementation().createDocument(NS, 'GetProofOfDeliveryRequest', null);
    const root = doc.documentElement!;
    const [name, value] = 'registeredMailId' in lookup ? ['RegisteredMailId', lookup.registeredMailId] : ['SenderReference', lookup.senderReference];
    const el = doc.createElementNS(NS, name);
    el.appendChild(doc.createTextNode(value));
    root.appendChild(el);
    return new XMLSerializer().serializeToString(root);
  }

  /** A complete signed envelope for an operation element, signed now. */
  sign(operationXml: string): string {
    return signRequest({
      operationXml,
      certificatePem: this.options.certificatePem,
      privateKeyPem: this.options.privateKeyPem,
      ...(this.options.ttlSeconds ? { ttlSeconds: this.options.ttlSeconds } : {}),
    });
  }

  async sendRegisteredMail(submission: RegisteredMailSubmission): Promise<SendResult> {
    const envelope = this.sign(SenderClient.sendRegisteredMailElement(submission));
    const answer = await this.post(envelope, 'SendRegisteredMail');
    return {
      registeredMailId: textOf(answer, 'RegisteredMailId'),
      submissionTime: new Date(textOf(answer, 'SubmissionTime')),
      sendProof: Buffer.from(textOf(answer, 'SendProof'), 'base64'),
    };
  }

  async getProofOfDelivery(lookup: { registeredMailId: string } | { senderReference: string }): Promise<ProofsResult> {
    const answer = await this.post(this.sign(SenderClient.getProofOfDeliveryElement(lookup)), 'GetProofOfDelivery');
    const deliveryProof = optionalTextOf(answer, 'DeliveryProof');
    const all = (name: string) => Array.from(answer.getElementsByTagNameNS(NS, name));
    return {
      status: textOf(answer, 'Status') as ProofsResult['status'],
      sendProof: Buffer.from(textOf(answer, 'SendProof'), 'base64'),
      ...(deliveryProof ? { deliveryProof: Buffer.from(deliveryProof, 'base64') } : {}),
      evidence: all('Evidence').map((e) => Buffer.from(e.textContent ?? '', 'base64')),
      inclusionProofs: all('LogInclusionProof').map((e) => ({
        evidenceId: e.getAttribute('EvidenceId') ?? '',
        proof: Buffer.from(e.textContent ?? '', 'base64'),
      })),
    };
  }

  /** Posts a signed envelope; resolves with the response document or rejects with a SoapFault. */
  async post(envelope: string | Buffer, operation: string): Promise<Document> {
    const { status, body } = await postSoap(this.options, envelope, `${NS}/${operation}`);
    const doc = new DOMParser().parseFromString(body.toString('utf8'), 'text/xml');
    const fault = doc.getElementsByTagNameNS(SOAP_NS, 'Fault')[0];
    if (fault) throw faultFrom(fault);
    if (status !== 200) throw new Error(`ePost answered HTTP ${status} without a SOAP fault`);
    return doc;
  }
}

/** One HTTPS POST of a SOAP request; the TLS server certificate is verified against tlsCaPem. */
export function postSoap(
  options: Pick<SenderClientOptions, 'baseUrl' | 'tlsCaPem' | 'tlsClient'>,
  envelope: string | Buffer,
  soapAction: string,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; body: Buffer }> {
  const url = new URL('/soap/RegisteredMail', options.baseUrl);
  const payload = Buffer.isBuffer(envelope) ? envelope : Buffer.from(envelope, 'utf8');
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: 'POST',
        ca: options.tlsCaPem,
        ...(options.tlsClient ? { cert: options.tlsClient.cert, key: options.tlsClient.key } : {}),
        headers: {
          'Content-Type': 'text/xml; charset=utf-8',
          SOAPAction: `"${soapAction}"`,
          'Content-Length': String(payload.length),
          ...extraHeaders,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function faultFrom(fault: Element): SoapFault {
  const child = (name: string) => Array.from(fault.childNodes).find((n) => (n as Element).localName === name) as Element | undefined;
  const faultCode = child('faultcode')?.textContent?.trim() ?? '';
  const reason = child('faultstring')?.textContent?.trim() ?? '';
  const retryable = fault.getElementsByTagNameNS(NS, 'Retryable')[0]?.textContent?.trim() === 'true';
  const evidence = fault.getElementsByTagNameNS(NS, 'RejectionEvidence')[0]?.textContent?.trim();
  return new SoapFault(faultCode, faultCode.replace(/^.*:/, ''), reason, retryable, evidence ? Buffer.from(evidence, 'base64') : undefined);
}

function optionalTextOf(doc: Document, name: string): string | undefined {
  return doc.getElementsByTagNameNS(NS, name)[0]?.textContent?.trim() || undefined;
}

function textOf(doc: Document, name: string): string {
  const value = optionalTextOf(doc, name);
  if (value === undefined) throw new Error(`the ePost response has no ${name}`);
  return value;
}
