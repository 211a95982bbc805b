// eBoxes: the citizen eBox of a person (by SSIN) and the enterprise eBox of an organisation (by
// enterprise number). An eBox comes into being with its first delivery; readers open it with a
// client certificate, as its owner, an enterprise user or a mandatary (see rights.ts).
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Recipient } from '../identifiers/index.js';
import type { Database } from '../storage/index.js';
import { expirationDate } from './messages.js';
import { messageTypeOfSender } from './messageTypes.js';

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
    eBoxMessageId: randomUUID(),
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
export async function deliverIntoEbox(trx: Database, delivery: EboxDelivery, registeredMailId: string): Promise<void> {
  await trx('eboxes')
    .insert({ kind: delivery.eBox.kind, owner_id: delivery.eBox.ownerId, created_at: delivery.deliveredAt.toISOString() })
    .onConflict(['kind', 'owner_id'])
    .ignore();
  const mail = await trx('registered_mails as r')
    .join('sender_organisations as o', 'o.enterprise_number', 'r.sender_enterprise_number')
    .where('r.id', registeredMailId)
    .first('r.sender_enterprise_number', 'o.document_retention_days');
  const messageTypeId = mail ? await messageTypeOfSender(trx, mail.sender_enterprise_number) : null;
  let expiresAt: string | null = null;
  if (delivery.retention && mail && messageTypeId) {
    const type = await trx('ebox_message_types').where({ id: messageTypeId }).first('retention_days');
    expiresAt = expirationDate(delivery.deliveredAt, type?.retention_days, mail.document_retention_days, delivery.retention).toISOString();
  }
  await trx('ebox_messages').insert({
    id: delivery.eBoxMessageId,
    ebox_kind: delivery.eBox.kind,
    ebox_owner_id: delivery.eBox.ownerId,
    registered_mail_id: registeredMailId,
    delivered_at: delivery.deliveredAt.toISOString(),
    read_at: null,
    visible: true,
    message_type_id: messageTypeId,
    expires_at: expiresAt,
  });
}

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
export { recordEboxAccess, type EboxAccess } from './accessLog.js';
export { ReaderAuthorities, type EboxReader } from './readers.js';
export { eboxesOf, rightOn, mandateFor, scopeOf, type EboxAddress, type ReaderCapacity, type ReadingRight } from './rights.js';
export {
  findMessage,
  findMessages,
  noteConsultation,
  proofOf,
  proofsOf,
  setVisibility,
  settleExpirationDates,
  summarise,
  SENDER_APPLICATION_ID,
  type EboxMessage,
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
  type Language,
  type MessageType,
  type SenderOrganisationSummary,
  type TranslatedText,
} from './messageTypes.js';
export { openDocument, expireDueMessages, type OpenedDocument } from './opening.js';
export { sealHandoverEvidence, sealExpiryEvidence, reproductionOf, HANDOVER_KIND, EXPIRY_KIND } from './evidence.js';
export { ensureDevEboxReaders, issueDevReader, issueReaderCertificate, registerDevEboxReaders, type DevEboxReaders, type DevReader } from './devReaders.js';
export { LABELS, type Labels } from './web/labels.js';

/** The web reader's stylesheet (served as is). */
export const READER_STYLESHEET_FILE = fileURLToPath(new URL('./web/reader.css', import.meta.url));
