// What the eBox tests share: the real service with the development readers (citizen CA, demo
// citizen, demo enterprise user), further reader certificates, an HTTPS client that presents a
// reader's certificate on the client-certificate listener, and registered mails sent by the demo
// senders through the real SOAP path.
import fs from 'node:fs';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import { ensureDevEboxReaders, issueDevReader, registerDevEboxReaders, type DevEboxReaders } from '../../app/ebox/index.js';
import { startTestService, testPki, type TestService } from '../helpers/service.js';

export interface EboxTestBed {
  service: TestService;
  readers: DevEboxReaders;
  /** A client presenting the demo citizen's certificate. */
  citizen: ReaderClient;
  /** A client presenting the demo enterprise user's certificate. */
  enterpriseUser: ReaderClient;
}

/** The development readers must exist before the service starts: its listener reads the CAs at start. */
export async function startEboxService(env: Record<string, string> = {}): Promise<EboxTestBed> {
  const { certsDir } = await testPki();
  const readers = await ensureDevEboxReaders(certsDir);
  const service = await startTestService(env);
  await registerDevEboxReaders(service.ctx, readers);
  const pem = (file: string) => fs.readFileSync(file, 'utf8');
  return {
    service,
    readers,
    citizen: new ReaderClient(service.mtlsBaseUrl, service.rootCaPem, { cert: pem(readers.citizen.certFile), key: pem(readers.citizen.keyFile) }),
    enterpriseUser: new ReaderClient(service.mtlsBaseUrl, service.rootCaPem, {
      cert: pem(readers.enterpriseUser.certFile),
      key: pem(readers.enterpriseUser.keyFile),
    }),
  };
}

/** A client for a further person, with a certificate from the development citizen CA. */
export async function readerFor(service: TestService, person: { ssin: string; name: string }): Promise<ReaderClient> {
  const { certPem, keyPem } = await issueDevReader(service.certsDir, person);
  return new ReaderClient(service.mtlsBaseUrl, service.rootCaPem, { cert: certPem, key: keyPem });
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json(): any;
  text(): string;
}

export class ReaderClient {
  constructor(
    readonly baseUrl: string,
    private readonly caPem: string,
    private readonly identity?: { cert: string; key: string },
  ) {}

  /** The same identity against another listener (the ordinary one has no client certificates). */
  at(baseUrl: string): ReaderClient {
    return new ReaderClient(baseUrl, this.caPem, this.identity);
  }

  request(method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
    const url = new URL(path, this.baseUrl);
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          ca: this.caPem,
          ...(this.identity ? { cert: this.identity.cert, key: this.identity.key } : {}),
          headers: { ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}), ...options.headers },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')), text: () => body.toString('utf8') });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (options.body !== undefined) req.write(options.body);
      req.end();
    });
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
    return this.request('GET', path, { headers });
  }
}

export interface SentMail {
  registeredMailId: string;
  senderReference: string;
  content: Buffer;
  /** The eBox message id the delivery created. */
  messageId: string;
}

/** Sends a registered mail through the real SOAP path and returns the eBox message it created. */
export async function sendMail(
  service: TestService,
  to: { kind: 'citizen'; ssin: string } | { kind: 'enterprise'; enterpriseNumber: string },
  options: { sender?: string; subject?: string; fileName?: string; mimeType?: string; content?: Buffer; language?: 'fr' | 'nl' | 'de' | 'en' } = {},
): Promise<SentMail> {
  const senderReference = `ebox-${randomUUID()}`;
  const content = options.content ?? Buffer.from(`%PDF-1.7 eBox test ${randomUUID()}`);
  const sent = await service.client(options.sender).sendRegisteredMail({
    senderReference,
    recipient: to,
    subject: options.subject ?? 'Avertissement-extrait de rôle 2026',
    ...(options.language ? { language: options.language } : {}),
    document: { fileName: options.fileName ?? 'avertissement.pdf', mimeType: options.mimeType ?? 'application/pdf', content },
  });
  const row = await service.ctx.db('ebox_messages').where({ registered_mail_id: sent.registeredMailId }).first('id');
  return { registeredMailId: sent.registeredMailId, senderReference, content, messageId: row.id };
}

/** The processing records of one operation, details parsed. */
export async function records(service: TestService, operation: string): Promise<Array<Record<string, any> & { details: Record<string, any> }>> {
  const rows = await service.ctx.db('audit_records').where({ operation }).orderBy('id');
  return rows.map((r: Record<string, any>) => ({ ...r, details: r.details ? JSON.parse(r.details) : {} }));
}

export const CITIZEN_BASE = '/ebox/citizen/v2';
export const ENTERPRISE_BASE = '/ebox/enterprise/v2';
