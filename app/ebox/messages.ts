// The messages of an eBox as a reader with a given right sees them: never expired ones, only the
// message types in a mandatary's scope. Filters and paging follow the eBox Message Registry API.
// Registered mails and ePost's notices (notices.ts) are listed as one: a UNION ALL of both tables,
// so filters, ordering, paging and counts have one code path.
import { EpostError } from '../errors/index.js';
import { readDocument as readStoredDocument, type Database } from '../storage/index.js';
import type { EboxContext } from './context.js';
import { GENERIC_MESSAGE_TYPE, LANGUAGES, listMessageTypes, messageTypeOfSender, type Language, type NoticeKind, type TranslatedText } from './messageTypes.js';
import { scopeOf, type EboxAddress, type ReadingRight } from './rights.js';

export interface EboxMessage {
  id: string;
  /** The registered mail; for a notice, the mail it is about (a send-proof copy's), if any. */
  registeredMailId: string | null;
  /** Set for a notice of ePost, null for a registered mail. */
  notice: EboxNoticeFacts | null;
  senderReference: string;
  senderEnterpriseNumber: string;
  senderName: string;
  /** A registered mail's subject; a notice's in English (its `notice.subject` has every language). */
  subject: string;
  /** The language the sender declared, if any. */
  language: Language | null;
  messageTypeId: string;
  deliveredAt: string;
  expiresAt: string;
  readAt: string | null;
  visible: boolean;
  document: { fileName: string; mimeType: string; size: number; digestSha256Base64: string };
}

export interface EboxNoticeFacts {
  kind: NoticeKind;
  subject: TranslatedText;
  batchId: string | null;
}

export interface MessageFilter {
  receivedBefore?: Date | undefined;
  receivedAfter?: Date | undefined;
  expiredBefore?: Date | undefined;
  expiredAfter?: Date | undefined;
  readStatus?: boolean | undefined;
  visible?: boolean | undefined;
  registeredMail?: boolean | undefined;
  messageTypeId?: string | undefined;
  senderOrganizationId?: string | undefined;
  senderApplicationId?: string | undefined;
  /** Text search in one language: subject, sender name, message type name, file name. */
  search?: { text: string; language: Language } | undefined;
}

/** ePost is the one sender application of its registered mails. */
export const SENDER_APPLICATION_ID = 'epost';

const DAY_MS = 24 * 3600 * 1000;

function fromRow(r: Record<string, unknown>): EboxMessage {
  const notice: EboxNoticeFacts | null = r.notice_kind
    ? {
        kind: r.notice_kind as NoticeKind,
        subject: Object.fromEntries(LANGUAGES.map((l) => [l, String(r[`subject_${l}`])])),
        batchId: (r.batch_id as string | null) ?? null,
      }
    : null;
  return {
    id: String(r.id),
    registeredMailId: (r.registered_mail_id as string | null) ?? null,
    notice,
    senderReference: notice ? '' : String(r.sender_reference),
    senderEnterpriseNumber: String(r.sender_enterprise_number),
    senderName: String(r.sender_name),
    subject: notice ? notice.subject.en! : String(r.subject),
    language: (r.language as Language | null) ?? null,
    messageTypeId: String(r.message_type_id ?? GENERIC_MESSAGE_TYPE),
    deliveredAt: String(r.delivered_at),
    expiresAt: String(r.expires_at),
    readAt: (r.read_at as string | null) ?? null,
    visible: r.visible === true || r.visible === 1 || r.visible === '1',
    document: {
      fileName: String(r.file_name),
      mimeType: String(r.mime_type),
      size: Number(r.size),
      digestSha256Base64: String(r.digest_sha256),
    },
  };
}

/**
 * Gives an expiration date to messages delivered without one (the delivery did not know the
 * configured defaults): the message type's retention, else the configured one, never beyond the
 * sender's document retention, since a message cannot outlive its document. Notices too (below).
 */
export async function settleExpirationDates(ctx: Pick<EboxContext, 'db' | 'config'>): Promise<number> {
  const notices = await settleNoticeExpirationDates(ctx);
  return notices + (await settleMessageExpirationDates(ctx));
}

async function settleMessageExpirationDates(ctx: Pick<EboxContext, 'db' | 'config'>): Promise<number> {
  // A message delivered before its sender's message type was known gets it first: retention and scope depend on it.
  const untyped = await ctx
    .db('ebox_messages as m')
    .join('registered_mails as r', 'r.id', 'm.registered_mail_id')
    .whereNull('m.message_type_id')
    .distinct('r.sender_enterprise_number');
  for (const { sender_enterprise_number: sender } of untyped) {
    const type = await messageTypeOfSender(ctx.db, sender);
    const mails = ctx.db('registered_mails').where({ sender_enterprise_number: sender }).select('id');
    await ctx.db('ebox_messages').whereNull('message_type_id').whereIn('registered_mail_id', mails).update({ message_type_id: type });
  }
  let settled = 0;
  for (;;) {
    const rows = await ctx
      .db('ebox_messages as m')
      .join('registered_mails as r', 'r.id', 'm.registered_mail_id')
      .join('sender_organisations as o', 'o.enterprise_number', 'r.sender_enterprise_number')
      .leftJoin('ebox_message_types as t', 't.id', 'm.message_type_id')
      .whereNull('m.expires_at')
      .limit(500)
      .select('m.id', 'm.delivered_at', 't.retention_days', 'o.document_retention_days');
    if (rows.length === 0) return settled;
    for (const r of rows) {
      const expiresAt = expirationDate(new Date(r.delivered_at), r.retention_days, r.document_retention_days, ctx.config);
      await ctx.db('ebox_messages').where({ id: r.id }).whereNull('expires_at').update({ expires_at: expiresAt.toISOString() });
    }
    settled += rows.length;
  }
}

/** A notice expires with the eBox retention (its message type's, if set): no document retention applies. */
async function settleNoticeExpirationDates(ctx: Pick<EboxContext, 'db' | 'config'>): Promise<number> {
  let settled = 0;
  for (;;) {
    const rows = await ctx
      .db('ebox_notices as n')
      .leftJoin('ebox_message_types as t', 't.id', 'n.message_type_id')
      .whereNull('n.expires_at')
      .limit(500)
      .select('n.id', 'n.delivered_at', 't.retention_days');
    if (rows.length === 0) return settled;
    for (const r of rows) {
      const expiresAt = new Date(new Date(r.delivered_at).getTime() + (r.retention_days ?? ctx.config.eboxRetentionDays) * DAY_MS);
      await ctx.db('ebox_notices').where({ id: r.id }).whereNull('expires_at').update({ expires_at: expiresAt.toISOString() });
    }
    settled += rows.length;
  }
}

export function expirationDate(
  deliveredAt: Date,
  typeRetentionDays: number | null | undefined,
  senderDocumentRetentionDays: number | null | undefined,
  config: { eboxRetentionDays: number; documentRetentionDays: number },
): Date {
  const days = Math.min(typeRetentionDays ?? config.eboxRetentionDays, senderDocumentRetentionDays ?? config.documentRetentionDays);
  return new Date(deliveredAt.getTime() + days * DAY_MS);
}

/**
 * Everything in one eBox, registered mails and notices alike, as one derived table `m` with the
 * columns every answer needs. A notice's sender is ePost (its configured enterprise number).
 */
function eboxEntries(db: Database, epostEnterpriseNumber: string, eBox: EboxAddress) {
  const none = (column: string) => db.raw(`null as ${column}`);
  const mails = db('ebox_messages as e')
    .join('registered_mails as r', 'r.id', 'e.registered_mail_id')
    .join('sender_organisations as o', 'o.enterprise_number', 'r.sender_enterprise_number')
    .where({ 'e.ebox_kind': eBox.kind, 'e.ebox_owner_id': eBox.ownerId })
    .select(
      ...['id', 'registered_mail_id', 'message_type_id', 'delivered_at', 'expires_at', 'expired_at', 'read_at', 'visible'].map((c) => `e.${c}`),
      ...['sender_reference', 'sender_enterprise_number'].map((c) => `r.${c}`),
      'o.name as sender_name',
      ...['subject', 'language', 'file_name', 'mime_type', 'size', 'digest_sha256'].map((c) => `r.${c}`),
      none('notice_kind'),
      none('batch_id'),
      ...LANGUAGES.map((l) => none(`subject_${l}`)),
    );
  const notices = db('ebox_notices as n')
    .where({ 'n.ebox_kind': eBox.kind, 'n.ebox_owner_id': eBox.ownerId })
    .select(
      ...['id', 'registered_mail_id', 'message_type_id', 'delivered_at', 'expires_at', 'expired_at', 'read_at', 'visible'].map((c) => `n.${c}`),
      none('sender_reference'),
      db.raw('cast(? as varchar(10)) as sender_enterprise_number', [epostEnterpriseNumber]),
      db.raw(`'ePost' as sender_name`),
      none('subject'),
      none('language'),
      ...['file_name', 'mime_type', 'size', 'digest_sha256'].map((c) => `n.${c}`),
      'n.kind as notice_kind',
      'n.batch_id',
      ...LANGUAGES.map((l) => `n.subject_${l}`),
    );
  return db.from(mails.unionAll(notices).as('m'));
}

/** The messages a right shows. */
function visibleTo(ctx: Pick<EboxContext, 'db' | 'config'>, eBox: EboxAddress, scope: string[] | undefined, now: Date) {
  const query = eboxEntries(ctx.db, ctx.config.epostEnterpriseNumber, eBox).whereNull('m.expired_at').where('m.expires_at', '>', now.toISOString());
  if (scope) query.whereIn('m.message_type_id', scope);
  return query;
}

const COLUMNS = [
  'id',
  'registered_mail_id',
  'message_type_id',
  'delivered_at',
  'expires_at',
  'read_at',
  'visible',
  'sender_reference',
  'sender_enterprise_number',
  'sender_name',
  'subject',
  'language',
  'file_name',
  'mime_type',
  'size',
  'digest_sha256',
  'notice_kind',
  'batch_id',
  ...LANGUAGES.map((l) => `subject_${l}`),
].map((c) => `m.${c}`);

function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

async function applyFilter(db: Database, query: ReturnType<typeof visibleTo>, filter: MessageFilter): Promise<boolean> {
  if (filter.registeredMail === true) query.whereNull('m.notice_kind');
  if (filter.registeredMail === false) query.whereNotNull('m.notice_kind');
  // ePost is the one sender application, of its registered mails and of its notices.
  if (filter.senderApplicationId !== undefined && filter.senderApplicationId !== SENDER_APPLICATION_ID) return false;
  if (filter.receivedBefore) query.where('m.delivered_at', '<', filter.receivedBefore.toISOString());
  if (filter.receivedAfter) query.where('m.delivered_at', '>=', filter.receivedAfter.toISOString());
  if (filter.expiredBefore) query.where('m.expires_at', '<', filter.expiredBefore.toISOString());
  if (filter.expiredAfter) query.where('m.expires_at', '>=', filter.expiredAfter.toISOString());
  if (filter.readStatus === true) query.whereNotNull('m.read_at');
  if (filter.readStatus === false) query.whereNull('m.read_at');
  if (filter.visible !== undefined) query.where('m.visible', filter.visible);
  if (filter.messageTypeId !== undefined) query.where('m.message_type_id', filter.messageTypeId);
  if (filter.senderOrganizationId !== undefined) query.where('m.sender_enterprise_number', filter.senderOrganizationId);
  if (filter.search) {
    const { text, language } = filter.search;
    if (!(LANGUAGES as readonly string[]).includes(language)) throw new EpostError('InvalidRequest', `the search language must be one of ${LANGUAGES.join(', ')}`);
    const pattern = likePattern(text);
    // Message type names are few and kept as JSON: matched here, in the chosen language only.
    const types = (await listMessageTypes(db)).items.filter((t) => t.name[language]?.toLowerCase().includes(text.toLowerCase())).map((t) => t.id);
    query.where((q) => {
      q.where((s) => s.whereRaw(`lower(m.subject) like ? escape '\\'`, [pattern]).where((l) => l.where('m.language', language).orWhereNull('m.language')))
        // A notice's subject in the chosen language (a column per language; null for registered mails).
        .orWhereRaw(`lower(m.subject_${language}) like ? escape '\\'`, [pattern])
        .orWhereRaw(`lower(m.sender_name) like ? escape '\\'`, [pattern])
        .orWhereRaw(`lower(m.file_name) like ? escape '\\'`, [pattern]);
      if (types.length > 0) q.orWhereIn('m.message_type_id', types);
    });
  }
  return true;
}

export interface Page {
  page: number;
  pageSize: number;
}

/** One page of messages, most recent first, or unread first (then most recent) for people. */
export async function findMessages(
  ctx: Pick<EboxContext, 'db' | 'config' | 'now'>,
  right: ReadingRight,
  filter: MessageFilter,
  page: Page,
  order: 'received' | 'unreadFirst' = 'received',
): Promise<{ items: EboxMessage[]; total: number }> {
  await settleExpirationDates(ctx);
  const now = ctx.now();
  const base = visibleTo(ctx, right.eBox, scopeOf(right), now);
  if (!(await applyFilter(ctx.db, base, filter))) return { items: [], total: 0 };
  const [count] = await base.clone().clearSelect().count({ n: '*' });
  const query = base.clone().select(COLUMNS);
  if (order === 'unreadFirst') query.orderByRaw('case when m.read_at is null then 0 else 1 end');
  query.orderBy([{ column: 'm.delivered_at', order: 'desc' }, { column: 'm.id' }]);
  const rows = await query.offset((page.page - 1) * page.pageSize).limit(page.pageSize);
  return { items: rows.map(fromRow), total: Number(count!.n) };
}

/** One message the right shows, or undefined: unknown, another eBox's, out of scope and expired all look alike. */
export async function findMessage(ctx: Pick<EboxContext, 'db' | 'config' | 'now'>, right: ReadingRight, messageId: string): Promise<EboxMessage | undefined> {
  await settleExpirationDates(ctx);
  const row = await visibleTo(ctx, right.eBox, scopeOf(right), ctx.now()).where('m.id', messageId).first(COLUMNS);
  return row ? fromRow(row) : undefined;
}

export interface EboxSummary {
  numberOfMessages: number;
  numberOfUnreadMessages: number;
  lastReceiptDate: string | null;
  lastConsultationDate: string | null;
  totalBytes: number;
}

/** Counts over what the right shows (hidden messages included, as the eBox federation counts them). */
export async function summarise(ctx: Pick<EboxContext, 'db' | 'config' | 'now'>, right: ReadingRight): Promise<EboxSummary> {
  await settleExpirationDates(ctx);
  const base = visibleTo(ctx, right.eBox, scopeOf(right), ctx.now());
  const [totals] = await base
    .clone()
    .select(
      ctx.db.raw('count(*) as n'),
      ctx.db.raw('sum(case when m.read_at is null then 1 else 0 end) as unread'),
      ctx.db.raw('max(m.delivered_at) as last_receipt'),
      ctx.db.raw('sum(m.size) as bytes'),
    );
  const box = await ctx.db('eboxes').where({ kind: right.eBox.kind, owner_id: right.eBox.ownerId }).first('last_consulted_at');
  return {
    numberOfMessages: Number(totals?.n ?? 0),
    numberOfUnreadMessages: Number(totals?.unread ?? 0),
    lastReceiptDate: totals?.last_receipt ?? null,
    lastConsultationDate: box?.last_consulted_at ?? null,
    totalBytes: Number(totals?.bytes ?? 0),
  };
}

/** Notes that the eBox was consulted now (the summary's lastConsultationDate). */
export async function noteConsultation(db: Database, eBox: EboxAddress, at: Date): Promise<void> {
  await db('eboxes').where({ kind: eBox.kind, owner_id: eBox.ownerId }).update({ last_consulted_at: at.toISOString() });
}

/** Sets the visibility of messages the right shows; all or nothing: undefined names an id it does not show. */
export async function setVisibility(
  ctx: Pick<EboxContext, 'db' | 'config' | 'now'>,
  trx: Database,
  right: ReadingRight,
  changes: { messageId: string; visible: boolean }[],
): Promise<EboxMessage[] | undefined> {
  await settleExpirationDates({ db: trx, config: ctx.config });
  const ids = [...new Set(changes.map((c) => c.messageId))];
  const rows = (await visibleTo({ db: trx, config: ctx.config }, right.eBox, scopeOf(right), ctx.now()).whereIn('m.id', ids).select(COLUMNS)).map(fromRow);
  if (rows.length !== ids.length) return undefined;
  for (const change of changes) {
    const table = rows.find((m) => m.id === change.messageId)!.notice ? 'ebox_notices' : 'ebox_messages';
    await trx(table).where({ id: change.messageId }).update({ visible: change.visible });
  }
  return rows;
}

/** The stored document of a message, decrypted and checked against the digest the sender signed. */
export async function readDocument(ctx: Pick<EboxContext, 'db' | 'vault'>, message: EboxMessage): Promise<Buffer> {
  const content = await readStoredDocument(ctx.db, ctx.vault, mailOf(message), message.document.digestSha256Base64);
  if (!content) throw new EpostError('UnknownRegisteredMail', 'The document of this message is no longer kept');
  return content;
}

export interface ProofSummary {
  id: string;
  kind: string;
  createdAt: string;
}

/** The registered mail of a message; a notice is none (its attachment is no mail's document, it has no proofs). */
export function mailOf(message: EboxMessage): string {
  if (message.notice || message.registeredMailId === null) throw new EpostError('UnknownRegisteredMail', 'This message is a notice, not a registered mail');
  return message.registeredMailId;
}

/** The proofs of a registered mail; a notice has none. */
export async function proofsOf(db: Database, message: EboxMessage): Promise<ProofSummary[]> {
  if (message.notice) return [];
  const rows = await db('proofs').where({ registered_mail_id: message.registeredMailId }).orderBy([{ column: 'created_at' }, { column: 'id' }]).select('id', 'kind', 'created_at');
  return rows.map((r: Record<string, unknown>) => ({ id: String(r.id), kind: String(r.kind), createdAt: String(r.created_at) }));
}

export async function proofOf(db: Database, message: EboxMessage, proofId: string): Promise<{ kind: string; sealedXml: Buffer } | undefined> {
  if (message.notice) return undefined;
  const row = await db('proofs').where({ registered_mail_id: message.registeredMailId, id: proofId }).first('kind', 'sealed_xml');
  return row ? { kind: String(row.kind), sealedXml: Buffer.from(row.sealed_xml) } : undefined;
}
