// eBox notices: messages ePost itself posts into an eBox that are not registered mails. A copy of
// a send-proof in the sender organisation's own enterprise eBox (when it chose copies), and the
// announcement of a batch of registered mails (the batch channel). A notice has a subject in every
// language and one attachment, encrypted at rest like documents. It is listed, filtered, counted and
// hidden like any message (messages.ts), but it is no registered mail: reading it marks it read and
// is recorded, with no handover evidence; it leaves with the eBox retention, with no expiry evidence.
import { hash } from 'node:crypto';
import { EPOST, type AuditLog } from '../audit/index.js';
import { EpostError } from '../errors/index.js';
import { isValidEnterpriseNumber, isValidSsin, timeOrderedId } from '../identifiers/index.js';
import { insertRows, openFromStorage, sealForStorage, type Database, type DataVault, type Statements } from '../storage/index.js';
import { messageAccess, recordEboxAccess } from './accessLog.js';
import type { EboxContext } from './context.js';
import type { EboxMessage } from './messages.js';
import { LANGUAGES, NOTICE_KINDS, NOTICE_MESSAGE_TYPES, type NoticeKind, type TranslatedText } from './messageTypes.js';
import type { ReadingRight } from './rights.js';

export interface EboxNotice {
  eBox: { kind: 'citizen' | 'enterprise'; ownerId: string };
  kind: NoticeKind;
  /** fr, nl, de and en. */
  subject: TranslatedText;
  attachment: { fileName: string; mimeType: string; content: Buffer };
  /** SendProofCopy: the mail whose send-proof is copied. */
  registeredMailId?: string;
  /** BatchAvailable: the batch announced. */
  batchId?: string;
  at: Date;
}

/**
 * The media types the eBox API lets an attachment have (Message Registry API 2.1): a notice is ePost's
 * own message, so it always keeps to them. XML is text/xml there (RFC 7303: the same as application/xml).
 */
export const NOTICE_MEDIA_TYPES = [
  'application/pdf',
  'application/zip',
  'text/csv',
  'text/html',
  'text/plain',
  'text/xml',
  'application/vnd.oasis.opendocument.text',
  'application/vnd.oasis.opendocument.spreadsheet',
  'application/vnd.oasis.opendocument.presentation',
  'application/vnd.oasis.opendocument.graphics',
  'application/vnd.ms-excel',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.ms-powerpoint',
  'application/msword',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
] as const;

function invalid(reason: string): never {
  throw new EpostError('InvalidRequest', `notice: ${reason}`);
}

function checked(notice: EboxNotice): void {
  if (!NOTICE_KINDS.includes(notice.kind)) invalid(`"${notice.kind}" is not a kind of notice (${NOTICE_KINDS.join(', ')})`);
  const { kind, ownerId } = notice.eBox;
  if (kind === 'citizen' ? !isValidSsin(ownerId) : kind === 'enterprise' ? !isValidEnterpriseNumber(ownerId) : true) invalid(`no ${kind} eBox can be ${ownerId}`);
  for (const language of LANGUAGES) {
    const text = notice.subject[language];
    if (typeof text !== 'string' || text.trim() === '' || text.length > 500) invalid(`the subject needs 1 to 500 characters in ${language}`);
  }
  const { fileName, mimeType, content } = notice.attachment;
  if (!fileName || fileName.length > 255 || /[\\/\u0000-\u001f]/.test(fileName)) invalid('the attachment needs a plain file name of at most 255 characters');
  if (!(NOTICE_MEDIA_TYPES as readonly string[]).includes(mimeType)) invalid(`the attachment's media type "${mimeType}" is not one the eBox API allows (${NOTICE_MEDIA_TYPES.join(', ')})`);
  if (!Buffer.isBuffer(content)) invalid('the attachment content must be bytes');
  if (notice.kind === 'SendProofCopy' && !notice.registeredMailId) invalid('a send-proof copy names its registered mail');
  if (notice.kind === 'BatchAvailable' && !notice.batchId) invalid('a batch announcement names its batch');
  if (Number.isNaN(notice.at.getTime())) invalid('the time is not a date');
}

/** Posts a notice inside the caller's transaction (creates the eBox if needed); returns the eBox message id. */
export async function postNotice(tx: Statements, vault: DataVault, notice: EboxNotice): Promise<string> {
  checked(notice);
  const id = timeOrderedId(notice.at);
  const at = notice.at.toISOString();
  const { content } = notice.attachment;
  await insertRows(tx, 'eboxes', [{ kind: notice.eBox.kind, owner_id: notice.eBox.ownerId, created_at: at }], { ignoreConflictOn: ['kind', 'owner_id'] });
  await insertRows(tx, 'ebox_notices', [{
    id,
    ebox_kind: notice.eBox.kind,
    ebox_owner_id: notice.eBox.ownerId,
    kind: notice.kind,
    message_type_id: NOTICE_MESSAGE_TYPES[notice.kind],
    ...Object.fromEntries(LANGUAGES.map((l) => [`subject_${l}`, notice.subject[l]!.trim()])),
    registered_mail_id: notice.registeredMailId ?? null,
    batch_id: notice.batchId ?? null,
    file_name: notice.attachment.fileName,
    mime_type: notice.attachment.mimeType,
    size: content.length,
    digest_sha256: hash('sha256', content, 'base64'),
    ...sealForStorage(vault, content, `notice:${id}`),
    delivered_at: at,
    read_at: null,
    visible: true,
    // Settled with the eBox retention when the eBox is next read (messages.ts): the retention is configuration.
    expires_at: null,
  }]);
  return id;
}

/**
 * The copy of a send-proof for its sender's own enterprise eBox, posted and logged inside the send
 * transaction, so the copy exists exactly when the mail does.
 */
export async function copySendProof(
  tx: Statements,
  ctx: { vault: DataVault; audit: Pick<AuditLog, 'appendIn'> },
  sent: { senderEnterpriseNumber: string; senderReference: string; registeredMailId: string; sendProofId: string; sendProof: Buffer; at: Date },
): Promise<string> {
  const ref = sent.senderReference;
  const messageId = await postNotice(tx, ctx.vault, {
    eBox: { kind: 'enterprise', ownerId: sent.senderEnterpriseNumber },
    kind: 'SendProofCopy',
    subject: {
      fr: `Copie de la preuve d'envoi de l'envoi recommandé ${ref}`,
      nl: `Kopie van het verzendingsbewijs van de aangetekende zending ${ref}`,
      de: `Kopie des Versandnachweises des Einschreibens ${ref}`,
      en: `Copy of the send-proof of registered mail ${ref}`,
    },
    attachment: { fileName: `send-proof-${sent.registeredMailId}.xml`, mimeType: 'text/xml', content: sent.sendProof },
    registeredMailId: sent.registeredMailId,
    at: sent.at,
  });
  await ctx.audit.appendIn(tx, {
    operation: 'DeliverIntoEbox',
    outcome: 'completed',
    at: sent.at,
    responsible: sent.senderEnterpriseNumber,
    executor: `${EPOST} eBox delivery`,
    registeredMailId: sent.registeredMailId,
    recipient: `enterprise:${sent.senderEnterpriseNumber}`,
    // Not as evidenceId: that names the record which produced the evidence (npm run audit -- prove).
    details: { notice: 'SendProofCopy', messageId, sendProofId: sent.sendProofId },
  });
  return messageId;
}

/** The attachment of a notice, decrypted and checked against the digest taken when it was posted. */
async function readAttachment(ctx: Pick<EboxContext, 'db' | 'vault'>, message: EboxMessage): Promise<Buffer> {
  const row = await ctx.db('ebox_notices').where({ id: message.id }).first('key_id', 'iv', 'ciphertext', 'auth_tag');
  if (!row?.ciphertext) throw new EpostError('UnknownRegisteredMail', 'The attachment of this notice is no longer kept');
  return openFromStorage(ctx.vault, row, `notice:${message.id}`, message.document.digestSha256Base64, 'The stored notice attachment');
}

/** A notice's attachment: the first reading marks it read; every reading is recorded; no evidence. */
export async function openNotice(
  ctx: EboxContext,
  right: ReadingRight,
  message: EboxMessage,
): Promise<{ content: Buffer; fileName: string; mimeType: string; handoverEvidenceId: undefined }> {
  const access = { operation: 'DownloadDocument' as const, ...messageAccess(right, message) };
  const notice = { notice: message.notice!.kind, ...(message.notice!.batchId ? { batchId: message.notice!.batchId } : {}) };
  let content: Buffer;
  try {
    content = await readAttachment(ctx, message);
  } catch (err) {
    const failure = err instanceof EpostError ? err : new EpostError('ServiceUnavailable', 'The notice attachment could not be read', err);
    await recordEboxAccess(ctx.db, ctx, { ...access, outcome: 'failed', details: notice, disturbance: { code: failure.code, reason: failure.message } });
    throw failure;
  }
  await ctx.db.transaction(async (trx) => {
    const marked = message.readAt === null ? await trx('ebox_notices').where({ id: message.id }).whereNull('read_at').update({ read_at: ctx.now().toISOString() }) : 0;
    await recordEboxAccess(trx, ctx, { ...access, outcome: 'completed', details: { ...notice, ...(marked > 0 ? { firstOpening: true } : {}) } });
  });
  return { content, fileName: message.document.fileName, mimeType: message.document.mimeType, handoverEvidenceId: undefined };
}

/**
 * Ends the notices whose expiration date has passed: they leave every listing and their attachment
 * is dropped (the digest stays). Recorded, without evidence: a notice is no registered mail.
 */
export async function expireDueNotices(ctx: EboxContext): Promise<number> {
  const now = ctx.now();
  const due = await ctx
    .db('ebox_notices')
    .whereNull('expired_at')
    .where('expires_at', '<=', now.toISOString())
    .orderBy('expires_at')
    .limit(200)
    .select('id', 'kind', 'ebox_kind', 'ebox_owner_id', 'registered_mail_id', 'expires_at');
  let expired = 0;
  for (const n of due) {
    const done = await ctx.db.transaction(async (trx) => {
      const marked = await trx('ebox_notices')
        .where({ id: n.id })
        .whereNull('expired_at')
        .update({ expired_at: now.toISOString(), key_id: null, iv: null, ciphertext: null, auth_tag: null });
      if (marked === 0) return false;
      await ctx.audit.append(trx, {
        operation: 'PurgeDocument',
        outcome: 'completed',
        at: now,
        responsible: EPOST,
        executor: 'ePost eBox expiry',
        registeredMailId: n.registered_mail_id ?? undefined,
        recipient: `${n.ebox_kind}:${n.ebox_owner_id}`,
        details: { event: 'expiry', notice: n.kind, messageId: n.id, expiresAt: n.expires_at },
      });
      return true;
    });
    if (done) expired += 1;
  }
  return expired;
}
