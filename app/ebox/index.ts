// eBoxes: the citizen eBox of a person (by SSIN) and the enterprise eBox of an organisation (by
// enterprise number). An eBox comes into being with its first delivery (or notice, notices.ts);
// readers open it with a client certificate, as its owner, an enterprise user or a mandatary (see
// rights.ts).
import { fileURLToPath } from 'node:url';
import { timeOrderedId, type Recipient } from '../identifiers/index.js';
import { insertRows, type Database, type Statements } from '../storage/index.js';
import { expirationDate } from './messages.js';
import { GENERIC_MESSAGE_TYPE } from './messageTypes.js';

export interface EboxDelivery {
  eBoxMessageId: string;
  eBox: { kind: Recipient['kind']; ownerId: string };
  deliveredAt: Date;
  /** The configured retentions, when the caller passed them: the expiration date is then set at delivery. */
  retention?: RetentionDefaults | undefined;
}

/** The configuration's default retentions (EpostConfig satisfies this). */
export interface RetentionDefaults {
  eboxRetentionDays: number;
  documentRetentionDays: number;
}

/** Plans a delivery (ids and time) so the delivery proof can be sealed before the one transaction stores it. */
export function planDelivery(recipient: Recipient, deliveredAt: Date, retention?: RetentionDefaults): EboxDelivery {
  return {
    eBoxMessageId: timeOrderedId(deliveredAt),
    eBox: { kind: recipient.kind, ownerId: recipient.id },
    deliveredAt,
    ...(retention ? { retention: { eboxRetentionDays: retention.eboxRetentionDays, documentRetentionDays: retention.documentRetentionDays } } : {}),
  };
}

/**
 * Puts a registered mail into its recipient's eBox; runs inside the caller's transaction, after the
 * mail's row. The message gets its sender's message type and, when the retentions are known, its
 * expiration date (otherwise it is settled the first time the eBox is read).
 */
export async function deliverIntoEbox(tx: Statements, delivery: EboxDelivery, registeredMailId: string): Promise<void> {
  await insertRows(tx, 'eboxes', [{ kind: delivery.eBox.kind, owner_id: delivery.eBox.ownerId, created_at: delivery.deliveredAt.toISOString() }], { ignoreConflictOn: ['kind', 'owner_id'] });
  const [mail] = await tx.rows<{ document_retention_days: number | null; own_type_id: string | null; own_retention_days: number | null; generic_retention_days: number | null }>(
    MAIL_RETENTION,
    [GENERIC_MESSAGE_TYPE, registeredMailId],
  );
  const messageTypeId: string | null = mail ? (mail.own_type_id ? String(mail.own_type_id) : GENERIC_MESSAGE_TYPE) : null;
  let expiresAt: string | null = null;
  if (delivery.retention && mail && messageTypeId) {
    const typeRetentionDays = mail.own_type_id ? mail.own_retention_days : mail.generic_retention_days;
    expiresAt = expirationDate(delivery.deliveredAt, typeRetentionDays, mail.document_retention_days, delivery.retention).toISOString();
  }
  await insertRows(tx, 'ebox_messages', [
    {
      id: delivery.eBoxMessageId,
      ebox_kind: delivery.eBox.kind,
      ebox_owner_id: delivery.eBox.ownerId,
      registered_mail_id: registeredMailId,
      delivered_at: delivery.deliveredAt.toISOString(),
      read_at: null,
      visible: true,
      message_type_id: messageTypeId,
      expires_at: expiresAt,
    },
  ]);
}

/**
 * One statement (it runs for every mail): the sender organisation's document retention, its own
 * message type if it has one (at most one per sender), and the generic type as the fallback.
 */
const MAIL_RETENTION = `select o.document_retention_days, own.id as own_type_id, own.retention_days as own_retention_days, generic.retention_days as generic_retention_days
  from registered_mails r
  join sender_organisations o on o.enterprise_number = r.sender_enterprise_number
  left join ebox_message_types own on own.sender_enterprise_number = r.sender_enterprise_number
  left join ebox_message_types generic on generic.id = ?
  where r.id = ? limit 1`;

export interface EboxMessageSummary {
  id: string;
  registeredMailId: string;
  deliveredAt: string;
  readAt: string | null;
}

export async function listEboxMessages(db: Database, kind: Recipient['kind'], ownerId: string): Promise<EboxMessageSummary[]> {
  const rows = await db('ebox_messages').where({ ebox_kind: kind, ebox_owner_id: ownerId }).orderBy('delivered_at', 'desc');
  return rows.map((r) => ({ id: r.id, registeredMailId: r.registered_mail_id, deliveredAt: r.delivered_at, readAt: r.read_at }));
}

export type { EboxContext } from './context.js';
export { messageAccess, recordEboxAccess, type EboxAccess } from './accessLog.js';
export { copySendProof, expireDueNotices, openNotice, postNotice, NOTICE_MEDIA_TYPES, type EboxNotice } from './notices.js';
export { ReaderAuthorities, type EboxReader } from './readers.js';
export { eboxesOf, rightOn, mandateFor, scopeOf, type EboxAddress, type ReaderCapacity, type ReadingRight } from './rights.js';
export {
  findMessage,
  findMessages,
  mailOf,
  noteConsultation,
  proofOf,
  proofsOf,
  setVisibility,
  settleExpirationDates,
  summarise,
  SENDER_APPLICATION_ID,
  type EboxMessage,
  type EboxNoticeFacts,
  type EboxSummary,
  type MessageFilter,
  type Page,
  type ProofSummary,
} from './messages.js';
export {
  defineMessageType,
  findMessageType,
  findSenderOrganisation,
  listMessageTypes,
  listSenderOrganisations,
  GENERIC_MESSAGE_TYPE,
  LANGUAGES,
  NOTICE_KINDS,
  NOTICE_MESSAGE_TYPES,
  type Language,
  type MessageType,
  type NoticeKind,
  type SenderOrganisationSummary,
  type TranslatedText,
} from './messageTypes.js';
export { openDocument, expireDueMessages, type OpenedDocument } from './opening.js';
export { sealHandoverEvidence, sealExpiryEvidence, reproductionOf, HANDOVER_KIND, EXPIRY_KIND } from './evidence.js';
export { ensureDevEboxReaders, issueDevReader, issueReaderCertificate, registerDevEboxReaders, type DevEboxReaders, type DevReader } from './devReaders.js';
export { LABELS, type Labels } from './web/labels.js';

/** The web reader's stylesheet (served as is). */
export const READER_STYLESHEET_FILE = fileURLToPath(new URL('./web/reader.css', import.meta.url));
