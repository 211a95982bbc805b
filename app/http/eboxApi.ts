// The eBox Message Registry REST API v2.1 (Belgian eBox federation, Swagger 2.0) at
// /ebox/citizen/v2 and /ebox/enterprise/v2: the operations the specification marks required, plus
// PATCH /ebox/messages for visibility. Readers authenticate with a TLS client certificate on the
// client-certificate listener; answers and errors (StatusMessage) follow the specification's schemas.
// Without a right the answer is 401, and a message the reader may not see is 404 like an unknown one.
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  findMessage,
  findMessages,
  findMessageType,
  findSenderOrganisation,
  LANGUAGES,
  listMessageTypes,
  listSenderOrganisations,
  messageAccess,
  noteConsultation,
  openDocument,
  ReaderAuthorities,
  recordEboxAccess,
  rightOn,
  SENDER_APPLICATION_ID,
  setVisibility,
  summarise,
  type EboxContext,
  type EboxMessage,
  type EboxReader,
  type Language,
  type MessageFilter,
  type MessageType,
  type ReadingRight,
  type SenderOrganisationSummary,
  type TranslatedText,
} from '../ebox/index.js';
import { EpostError } from '../errors/index.js';
import { certificateFingerprint } from '../access/index.js';
import { verifiedClientCertificate } from './edge.js';

export const EBOX_DOMAINS = ['citizen', 'enterprise'] as const;
export type EboxDomain = (typeof EBOX_DOMAINS)[number];

/** The header an enterprise reader names the enterprise eBox with, when they may open several. */
export const ENTERPRISE_HEADER = 'ebox-enterprise-number';

/** The one attachment of a message: a registered mail's document, or a notice's attachment; the main content. */
export const DOCUMENT_ATTACHMENT_ID = 'document';

const MAX_PAGE_SIZE = 100;

/** A refusal or failure that becomes a StatusMessage. */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 500 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (what = 'Message not found') => new ApiError(404, 'NOT_FOUND', what);
const unauthorized = () => new ApiError(401, 'INVALID_AUTHORIZATION', 'Invalid authorization');
const invalid = (message: string) => new ApiError(400, 'INVALID_DATA', message);

function sendStatus(res: Response, error: ApiError): void {
  // The id ties the answer to the server's log; the message never says whether a message exists.
  res.status(error.status).type('application/json').send(JSON.stringify({ id: randomUUID(), code: error.code, message: error.message }));
}

/** ISO 8601 UTC to the second, as the specification writes date-times (yyyy-MM-dd'T'HH:mm:ssXXX). */
export function specDateTime(iso: string): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Proper names and untranslated texts are the same in every language. */
function everyLanguage(text: string): TranslatedText {
  return Object.fromEntries(LANGUAGES.map((l) => [l, text]));
}

function subjectOf(message: EboxMessage): TranslatedText {
  if (message.notice) return message.notice.subject;
  return message.language ? { [message.language]: message.subject } : everyLanguage(message.subject);
}

/** RFC 4648 section 5, without padding. */
function base64url(base64: string): string {
  return base64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function attachmentJson(message: EboxMessage, baseUrl: string) {
  return {
    attachmentId: DOCUMENT_ATTACHMENT_ID,
    fileName: message.document.fileName,
    mainContent: true,
    // As the sender declared it: a type outside the specification's list is reported faithfully.
    mediaType: message.document.mimeType,
    size: Math.round((message.document.size / 1024) * 1000) / 1000,
    digest: { digestMethod: 'sha_256', digestValue: base64url(message.document.digestSha256Base64) },
    attachmentSigned: false,
    contentHref: `${baseUrl}/ebox/messages/${encodeURIComponent(message.id)}/attachments/${DOCUMENT_ATTACHMENT_ID}/content`,
  };
}

function messageJson(message: EboxMessage, baseUrl: string) {
  return {
    messageId: message.id,
    subject: subjectOf(message),
    receiptDate: specDateTime(message.deliveredAt),
    expirationDate: specDateTime(message.expiresAt),
    readStatus: message.readAt !== null,
    visible: message.visible,
    // ePost's own notices (a send-proof copy, a batch announcement) are no registered mails.
    registeredMail: message.notice === null,
    messageTypeId: message.messageTypeId,
    senderOrganizationId: message.senderEnterpriseNumber,
    senderApplicationId: SENDER_APPLICATION_ID,
    attachments: { items: [attachmentJson(message, baseUrl)], totalItems: 1 },
    bodyMainContent: false,
    replyAuthorized: false,
  };
}

function messageTypeJson(type: MessageType, defaultRetentionDays: number) {
  return {
    messageTypeId: type.id,
    messageTypeName: type.name,
    ...(type.description ? { messageTypeDescription: type.description } : {}),
    validityPeriod: { validityPeriodNumber: type.retentionDays ?? defaultRetentionDays, validityPeriodUnit: 'day' },
    senderOrganizationIds: type.senderEnterpriseNumber ? [type.senderEnterpriseNumber] : [],
    senderApplicationIds: [SENDER_APPLICATION_ID],
  };
}

function senderOrganisationJson(org: SenderOrganisationSummary) {
  return {
    organizationId: org.enterpriseNumber,
    organizationShortName: everyLanguage(org.name),
    senderApplicationIds: [SENDER_APPLICATION_ID],
    messageTypeIds: [org.messageTypeId],
  };
}

const SENDER_APPLICATION = {
  applicationId: SENDER_APPLICATION_ID,
  applicationName: { fr: 'ePost — envoi recommandé électronique', nl: 'ePost — elektronische aangetekende zending', de: 'ePost — elektronisches Einschreiben', en: 'ePost — electronic registered mail' },
  senderOrganizationIds: [] as string[],
  messageTypeIds: [] as string[],
};

// ---- query parameters, checked strictly: a malformed filter is a 400, never silently ignored ----

function single(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`${name} must be given once`);
  return value;
}

function intParam(req: Request, name: string, fallback: number, max?: number): number {
  const raw = single(req, name);
  if (raw === undefined) return fallback;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1 || (max !== undefined && Number(raw) > max)) {
    throw invalid(`${name} must be an integer from 1${max !== undefined ? ` to ${max}` : ''}`);
  }
  return Number(raw);
}

function boolParam(req: Request, name: string): boolean | undefined {
  const raw = single(req, name);
  if (raw === undefined) return undefined;
  if (raw !== 'true' && raw !== 'false') throw invalid(`${name} must be true or false`);
  return raw === 'true';
}

/** A date (yyyy-MM-dd) as its first instant in UTC. */
function dateParam(req: Request, name: string): Date | undefined {
  const raw = single(req, name);
  if (raw === undefined) return undefined;
  const date = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? new Date(`${raw}T00:00:00Z`) : undefined;
  if (!date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== raw) throw invalid(`${name} must be a date (yyyy-MM-dd)`);
  return date;
}

function textParam(req: Request, name: string, max: number): string | undefined {
  const raw = single(req, name);
  if (raw === undefined) return undefined;
  if (raw.length === 0 || raw.length > max) throw invalid(`${name} must be 1 to ${max} characters`);
  return raw;
}

export function messageFilterFrom(req: Request): MessageFilter {
  const q = textParam(req, 'q', 200);
  const qlang = single(req, 'qlang');
  if (q !== undefined && qlang === undefined) throw invalid('qlang is required with q');
  if (qlang !== undefined && !(LANGUAGES as readonly string[]).includes(qlang)) throw invalid(`qlang must be one of ${LANGUAGES.join(', ')}`);
  return {
    receivedBefore: dateParam(req, 'receivedBefore'),
    receivedAfter: dateParam(req, 'receivedAfter'),
    expiredBefore: dateParam(req, 'expiredBefore'),
    expiredAfter: dateParam(req, 'expiredAfter'),
    readStatus: boolParam(req, 'readStatus'),
    visible: boolParam(req, 'visible'),
    registeredMail: boolParam(req, 'registeredMail'),
    messageTypeId: textParam(req, 'messageTypeId', 64),
    senderOrganizationId: textParam(req, 'senderOrganizationId', 10),
    senderApplicationId: textParam(req, 'senderApplicationId', 64),
    search: q !== undefined ? { text: q, language: qlang as Language } : undefined,
  };
}

function pageFrom(req: Request) {
  return { page: intParam(req, 'page', 1), pageSize: intParam(req, 'pageSize', 25, MAX_PAGE_SIZE) };
}

/** The filters actually given, for the log. */
function filterDetails(req: Request): string {
  const known = ['page', 'pageSize', 'receivedBefore', 'receivedAfter', 'expiredBefore', 'expiredAfter', 'readStatus', 'visible', 'registeredMail', 'messageTypeId', 'senderOrganizationId', 'senderApplicationId', 'q', 'qlang'];
  return JSON.stringify(Object.fromEntries(known.filter((k) => typeof req.query[k] === 'string').map((k) => [k, req.query[k]])));
}

// ---- authentication and rights ----

/**
 * The reader behind the request's verified client certificate, or a logged 401. Shared with the web
 * reader, which answers the same refusal with a page.
 */
export async function authenticateReader(ctx: EboxContext, authorities: ReaderAuthorities, req: Request, what: string): Promise<EboxReader> {
  const der = verifiedClientCertificate(req);
  if (!der) {
    await recordEboxAccess(ctx.db, ctx, { operation: 'ListEboxMessages', outcome: 'refused', disturbance: { code: 'FailedAuthentication', reason: `no client certificate (${what})` } });
    throw unauthorized();
  }
  try {
    return await authorities.identify(der, ctx.now());
  } catch (err) {
    if (!(err instanceof EpostError)) throw err;
    await recordEboxAccess(ctx.db, ctx, {
      operation: 'ListEboxMessages',
      outcome: 'refused',
      presented: { subject: peerSubject(req), fingerprint: certificateFingerprint(der) },
      disturbance: { code: err.code, reason: `${err.message} (${what})` },
    });
    throw unauthorized();
  }
}

function peerSubject(req: Request): string {
  const socket = req.socket as import('node:tls').TLSSocket;
  const subject = socket.getPeerCertificate?.()?.subject as Record<string, string | string[]> | undefined;
  return subject ? Object.entries(subject).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join(', ') : 'unknown';
}

/** The reader's right on the eBox a request addresses, or a logged 401. */
export async function rightFor(ctx: EboxContext, reader: EboxReader, domain: EboxDomain, enterpriseNumber: string | undefined, what: string): Promise<ReadingRight> {
  let right: ReadingRight | undefined;
  try {
    right = await rightOn(ctx.db, reader, domain === 'citizen' ? { kind: 'citizen' } : { kind: 'enterprise', enterpriseNumber }, ctx.now());
  } catch (err) {
    if (err instanceof EpostError && err.code === 'InvalidRequest') throw invalid(err.message);
    throw err;
  }
  if (!right) {
    await recordEboxAccess(ctx.db, ctx, {
      operation: 'ListEboxMessages',
      outcome: 'refused',
      reader,
      eBox: enterpriseNumber ? { kind: 'enterprise', ownerId: enterpriseNumber } : undefined,
      disturbance: { code: 'NotAuthorized', reason: `no right on the ${domain} eBox asked for (${what})` },
    });
    throw unauthorized();
  }
  return right;
}

/** A message of the eBox the right shows, or a logged 404 that looks the same whatever the reason. */
async function messageFor(ctx: EboxContext, right: ReadingRight, messageId: string, what: 'ReadEboxMessage' | 'DownloadDocument'): Promise<EboxMessage> {
  const message = await findMessage(ctx, right, messageId);
  if (!message) {
    await recordEboxAccess(ctx.db, ctx, {
      operation: what,
      outcome: 'refused',
      reader: right.reader,
      eBox: right.eBox,
      capacity: right.capacity,
      mandateIds: right.mandates.map((m) => m.id),
      details: { requestedMessageId: messageId.slice(0, 100) },
      disturbance: { code: 'UnknownMessage', reason: 'no such message in what the reader may see' },
    });
    throw notFound();
  }
  return message;
}

async function recordRead(ctx: EboxContext, right: ReadingRight, message: EboxMessage, view: string): Promise<void> {
  await recordEboxAccess(ctx.db, ctx, { operation: 'ReadEboxMessage', outcome: 'completed', ...messageAccess(right, message), details: { view } });
}

type Handler = (req: Request, res: Response) => Promise<void>;

function domainRouter(ctx: EboxContext, authorities: ReaderAuthorities, domain: EboxDomain): express.Router {
  const router = express.Router({ mergeParams: true });
  const baseUrl = (req: Request) => `${req.protocol}://${req.get('host')}${req.baseUrl}`;

  /** Authenticates, resolves the right, notes the consultation, then runs `handle`. */
  const withRight =
    (what: string, handle: (req: Request, res: Response, right: ReadingRight) => Promise<void>): Handler =>
    async (req, res) => {
      const reader = await authenticateReader(ctx, authorities, req, what);
      const header = req.get(ENTERPRISE_HEADER);
      const right = await rightFor(ctx, reader, domain, header === undefined ? undefined : header.trim(), what);
      await handle(req, res, right);
      await noteConsultation(ctx.db, right.eBox, ctx.now());
    };
  const withReader =
    (what: string, handle: (req: Request, res: Response) => Promise<void>): Handler =>
    async (req, res) => {
      await authenticateReader(ctx, authorities, req, what);
      await handle(req, res);
    };

  router.get(
    '/ebox',
    withRight('getEBoxById', async (_req, res, right) => {
      const summary = await summarise(ctx, right);
      await recordEboxAccess(ctx.db, ctx, {
        operation: 'ListEboxMessages',
        outcome: 'completed',
        reader: right.reader,
        eBox: right.eBox,
        capacity: right.capacity,
        mandateIds: right.mandates.map((m) => m.id),
        details: { view: 'summary' },
      });
      res.json({
        numberOfMessages: summary.numberOfMessages,
        numberOfUnreadMessages: summary.numberOfUnreadMessages,
        ...(summary.lastReceiptDate ? { lastReceiptDate: specDateTime(summary.lastReceiptDate) } : {}),
        ...(summary.lastConsultationDate ? { lastConsultationDate: specDateTime(summary.lastConsultationDate) } : {}),
        eboxSize: Math.round((summary.totalBytes / 1024) * 1000) / 1000,
      });
    }),
  );

  router.get(
    '/ebox/messages',
    withRight('getMessagesByEBoxId', async (req, res, right) => {
      const filter = messageFilterFrom(req);
      const page = pageFrom(req);
      const { items, total } = await findMessages(ctx, right, filter, page);
      await recordEboxAccess(ctx.db, ctx, {
        operation: 'ListEboxMessages',
        outcome: 'completed',
        reader: right.reader,
        eBox: right.eBox,
        capacity: right.capacity,
        mandateIds: right.mandates.map((m) => m.id),
        details: { filters: filterDetails(req), returned: items.length, total },
      });
      res.json({ items: items.map((m) => messageJson(m, baseUrl(req))), totalItems: total });
    }),
  );

  router.patch(
    '/ebox/messages',
    express.json({ type: ['application/json', 'application/merge-patch+json'], limit: '256kb' }),
    withRight('patchMessagesByEBoxId', async (req, res, right) => {
      // Visibility is the eBox holder's own arrangement: mandataries read, they do not rearrange.
      if (right.capacity === 'mandatary') throw unauthorized();
      const changes = messagesToUpdate(req.body);
      const changed = await ctx.db.transaction(async (trx) => {
        const messages = await setVisibility(ctx, trx, right, changes);
        if (!messages) return undefined;
        for (const change of changes) {
          const message = messages.find((m) => m.id === change.messageId)!;
          await recordEboxAccess(trx, ctx, {
            operation: 'AdministrativeChange',
            outcome: 'completed',
            ...messageAccess(right, message),
            mandateIds: undefined,
            details: { noun: 'ebox-message', verb: 'set-visibility', visible: change.visible },
          });
        }
        return messages;
      });
      if (!changed) throw notFound('Message/s not found');
      res.status(200).end();
    }),
  );

  router.get(
    '/ebox/messages/:messageId',
    withRight('getMessageById', async (req, res, right) => {
      const message = await messageFor(ctx, right, String(req.params.messageId), 'ReadEboxMessage');
      await recordRead(ctx, right, message, 'message');
      res.json(messageJson(message, baseUrl(req)));
    }),
  );

  router.get(
    '/ebox/messages/:messageId/attachments',
    withRight('getAttachmentByMessageId', async (req, res, right) => {
      const message = await messageFor(ctx, right, String(req.params.messageId), 'ReadEboxMessage');
      await recordRead(ctx, right, message, 'attachments');
      res.json({ items: [attachmentJson(message, baseUrl(req))], totalItems: 1 });
    }),
  );

  router.get(
    '/ebox/messages/:messageId/attachments/:attachmentId',
    withRight('getAttachmentById', async (req, res, right) => {
      const message = await messageFor(ctx, right, String(req.params.messageId), 'ReadEboxMessage');
      if (req.params.attachmentId !== DOCUMENT_ATTACHMENT_ID) throw notFound('Attachment not found');
      await recordRead(ctx, right, message, 'attachment');
      res.json(attachmentJson(message, baseUrl(req)));
    }),
  );

  router.get(
    '/ebox/messages/:messageId/attachments/:attachmentId/content',
    withRight('getAttachmentContentById', async (req, res, right) => {
      const message = await messageFor(ctx, right, String(req.params.messageId), 'DownloadDocument');
      if (req.params.attachmentId !== DOCUMENT_ATTACHMENT_ID) throw notFound('Attachment not found');
      const opened = await openDocument(ctx, right, message);
      sendDocument(res, opened.content, opened.fileName, 'application/octet-stream');
    }),
  );

  router.get(
    '/referenceData/messageTypes',
    withReader('getAllMessagesTypes', async (req, res) => {
      const { page, pageSize } = pageFrom(req);
      const { items, total } = await listMessageTypes(ctx.db, { offset: (page - 1) * pageSize, limit: pageSize });
      res.json({ items: items.map((t) => messageTypeJson(t, ctx.config.eboxRetentionDays)), totalItems: total });
    }),
  );

  router.get(
    '/referenceData/messageTypes/:messageTypeId',
    withReader('getMessageTypeById', async (req, res) => {
      const type = await findMessageType(ctx.db, String(req.params.messageTypeId));
      if (!type) throw notFound('messageTypeId not found');
      res.json(messageTypeJson(type, ctx.config.eboxRetentionDays));
    }),
  );

  router.get(
    '/referenceData/senderOrganizations',
    withReader('findAllSenderOrganizations', async (req, res) => {
      const { page, pageSize } = pageFrom(req);
      const { items, total } = await listSenderOrganisations(ctx.db, { offset: (page - 1) * pageSize, limit: pageSize });
      res.json({ items: items.map(senderOrganisationJson), totalItems: total });
    }),
  );

  router.get(
    '/referenceData/senderOrganizations/:senderOrganizationId',
    withReader('getSenderOrganizationById', async (req, res) => {
      const org = await findSenderOrganisation(ctx.db, String(req.params.senderOrganizationId));
      if (!org) throw notFound('senderOrganizationId not found');
      res.json(senderOrganisationJson(org));
    }),
  );

  router.get(
    '/referenceData/senderOrganizations/:senderOrganizationId/images/:imageId/content',
    withReader('getImageForSenderOrganization', async () => {
      // Required for eBox Citizen; ePost keeps no logos, so no image exists (organizationLogos is never given).
      throw notFound('Image not found');
    }),
  );

  router.get(
    '/referenceData/senderApplications',
    withReader('findAllSenderApplications', async (req, res) => {
      const { page, pageSize } = pageFrom(req);
      res.json({ items: page === 1 && pageSize >= 1 ? [SENDER_APPLICATION] : [], totalItems: 1 });
    }),
  );

  router.get(
    '/referenceData/senderApplications/:senderApplicationId',
    withReader('getSenderApplicationById', async (req, res) => {
      if (req.params.senderApplicationId !== SENDER_APPLICATION_ID) throw notFound('senderApplicationId not found');
      res.json(SENDER_APPLICATION);
    }),
  );

  router.use((_req: Request, _res: Response, next: NextFunction) => next(notFound('Not found')));
  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ApiError) return sendStatus(res, err);
    const status = (err as { status?: number; type?: string }).status;
    if (status === 400 || status === 413 || status === 415) return sendStatus(res, invalid('The request body is not a valid MessagesToUpdate document'));
    if (err instanceof EpostError && err.code === 'UnknownRegisteredMail') return sendStatus(res, notFound('Attachment not found'));
    if (err instanceof EpostError && err.code === 'ServiceUnavailable') return sendStatus(res, new ApiError(503, 'SERVICE_UNAVAILABLE', 'The service cannot answer now; retry later'));
    console.error('unexpected error in the eBox API:', err);
    sendStatus(res, new ApiError(500, 'INTERNAL_ERROR', 'The service could not process the request; retry later'));
  });
  return router;
}

function messagesToUpdate(body: unknown): { messageId: string; visible: boolean }[] {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_PAGE_SIZE) {
    throw invalid(`the body must be a MessagesToUpdate with 1 to ${MAX_PAGE_SIZE} items`);
  }
  return items.map((item: unknown, i) => {
    const { messageId, visible } = (item ?? {}) as { messageId?: unknown; visible?: unknown };
    if (typeof messageId !== 'string' || messageId.length === 0 || messageId.length > 100 || typeof visible !== 'boolean') {
      throw invalid(`items[${i}] needs a messageId and a boolean visible`);
    }
    return { messageId, visible };
  });
}

/** Document bytes as a download that no browser renders in the service's origin. */
export function sendDocument(res: Response, content: Buffer, fileName: string, contentType: string): void {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  res.set({
    'Content-Type': contentType,
    'Content-Disposition': `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`,
    'Content-Security-Policy': "sandbox; default-src 'none'",
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  });
  res.status(200).send(content);
}

/** The eBox API for both domains, to mount at the root of the app. */
export function eboxApiRouter(ctx: EboxContext): express.Router {
  const authorities = ReaderAuthorities.fromDirectory(ctx.config.eboxReaderCaDir);
  const router = express.Router();
  router.use('/ebox/:domain/v2', (req: Request, res: Response, next: NextFunction) => {
    // Personal data: never cached by an intermediary or the browser.
    res.set('Cache-Control', 'no-store');
    next();
  });
  for (const domain of EBOX_DOMAINS) router.use(`/ebox/${domain}/v2`, domainRouter(ctx, authorities, domain));
  return router;
}
