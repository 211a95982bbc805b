// Reference data of the eBox: message types (with the retention of their messages) and sender
// organisations. A registered mail carries its sender organisation's message type, or the generic
// REGISTERED_MAIL type when its sender defines none; mandates are scoped by message type.
import { logAdministrativeChange, type AdminContext } from '../access/enterpriseUsers.js';
import { EpostError } from '../errors/index.js';
import type { Database } from '../storage/index.js';

export const GENERIC_MESSAGE_TYPE = 'REGISTERED_MAIL';
export const LANGUAGES = ['fr', 'nl', 'de', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
export type TranslatedText = Partial<Record<Language, string>>;

/** The notices ePost itself posts into eBoxes (not registered mails): see notices.ts. */
export type NoticeKind = 'SendProofCopy' | 'BatchAvailable';
export const NOTICE_KINDS: readonly NoticeKind[] = ['SendProofCopy', 'BatchAvailable'];
/** The message type of each kind of notice (defined by migration 006, with no sender organisation). */
export const NOTICE_MESSAGE_TYPES: Readonly<Record<NoticeKind, string>> = { SendProofCopy: 'EPOST_SEND_PROOF_COPY', BatchAvailable: 'EPOST_BATCH_AVAILABLE' };

export interface MessageType {
  id: string;
  senderEnterpriseNumber: string | null;
  name: TranslatedText;
  description: TranslatedText | null;
  /** Days its messages stay in the eBox; null: the configured default. */
  retentionDays: number | null;
}

export interface SenderOrganisationSummary {
  enterpriseNumber: string;
  name: string;
  messageTypeId: string;
}

const MESSAGE_TYPE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

function fromRow(r: Record<string, unknown>): MessageType {
  return {
    id: String(r.id),
    senderEnterpriseNumber: (r.sender_enterprise_number as string | null) ?? null,
    name: JSON.parse(String(r.name)) as TranslatedText,
    description: r.description ? (JSON.parse(String(r.description)) as TranslatedText) : null,
    retentionDays: r.retention_days === null || r.retention_days === undefined ? null : Number(r.retention_days),
  };
}

function translated(field: string, value: TranslatedText | undefined, required: boolean): string | null {
  if (value === undefined) {
    if (required) throw new EpostError('InvalidRequest', `${field} needs a text in at least one of ${LANGUAGES.join(', ')}`);
    return null;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0 && required) throw new EpostError('InvalidRequest', `${field} needs a text in at least one of ${LANGUAGES.join(', ')}`);
  for (const [lang, text] of entries) {
    if (!(LANGUAGES as readonly string[]).includes(lang)) throw new EpostError('InvalidRequest', `${field}: "${lang}" is not one of ${LANGUAGES.join(', ')}`);
    if (typeof text !== 'string' || text.trim() === '' || text.length > 500) throw new EpostError('InvalidRequest', `${field} (${lang}) must be 1 to 500 characters`);
  }
  return JSON.stringify(Object.fromEntries(entries));
}

/** Creates or updates a message type; every change is logged. */
export async function defineMessageType(
  ctx: AdminContext,
  type: { id: string; senderEnterpriseNumber?: string | null; name: TranslatedText; description?: TranslatedText; retentionDays?: number | null },
  actor: string,
): Promise<MessageType> {
  if (!MESSAGE_TYPE_ID.test(type.id)) throw new EpostError('InvalidRequest', 'a message type id is 1 to 64 letters, digits, _ . : -, starting with a letter or digit');
  if (type.retentionDays !== undefined && type.retentionDays !== null && (!Number.isInteger(type.retentionDays) || type.retentionDays < 1 || type.retentionDays > 36525)) {
    throw new EpostError('InvalidRequest', 'retention days must be an integer from 1 to 36525');
  }
  const row = {
    id: type.id,
    sender_enterprise_number: type.senderEnterpriseNumber ?? null,
    name: translated('name', type.name, true)!,
    description: translated('description', type.description, false),
    retention_days: type.retentionDays ?? null,
    created_at: ctx.now().toISOString(),
  };
  // A sender's mails would take on a notice type, and with it who may see them (rights.ts).
  if (row.sender_enterprise_number && (Object.values(NOTICE_MESSAGE_TYPES) as string[]).includes(row.id)) {
    throw new EpostError('InvalidRequest', `${row.id} is the message type of ePost's notices: it has no sender organisation`);
  }
  return ctx.db.transaction(async (trx) => {
    if (row.sender_enterprise_number) {
      const sender = await trx('sender_organisations').where({ enterprise_number: row.sender_enterprise_number }).first('enterprise_number');
      if (!sender) throw new EpostError('InvalidRequest', `no sender organisation ${row.sender_enterprise_number} is registered`);
      const taken = await trx('ebox_message_types').where({ sender_enterprise_number: row.sender_enterprise_number }).whereNot({ id: row.id }).first('id');
      if (taken) throw new EpostError('InvalidRequest', `sender organisation ${row.sender_enterprise_number} already has message type ${taken.id}`);
    }
    await trx('ebox_message_types').insert(row).onConflict('id').merge(['sender_enterprise_number', 'name', 'description', 'retention_days']);
    await logAdministrativeChange(trx, ctx, actor, {
      noun: 'message-type',
      verb: 'define',
      messageTypeId: row.id,
      sender: row.sender_enterprise_number,
      name: row.name,
      retentionDays: row.retention_days,
    });
    return fromRow((await trx('ebox_message_types').where({ id: row.id }).first())!);
  });
}

export async function listMessageTypes(db: Database, page?: { offset: number; limit: number }): Promise<{ items: MessageType[]; total: number }> {
  const query = db('ebox_message_types').orderBy('id');
  if (page) query.offset(page.offset).limit(page.limit);
  const [count] = await db('ebox_message_types').count({ n: '*' });
  return { items: (await query).map(fromRow), total: Number(count!.n) };
}

export async function findMessageType(db: Database, id: string): Promise<MessageType | undefined> {
  const row = await db('ebox_message_types').where({ id }).first();
  return row ? fromRow(row) : undefined;
}

/** The message type a registered mail of this sender carries. */
export async function messageTypeOfSender(db: Database, senderEnterpriseNumber: string): Promise<string> {
  const own = await db('ebox_message_types').where({ sender_enterprise_number: senderEnterpriseNumber }).first('id');
  return own ? String(own.id) : GENERIC_MESSAGE_TYPE;
}

export async function listSenderOrganisations(
  db: Database,
  page?: { offset: number; limit: number },
): Promise<{ items: SenderOrganisationSummary[]; total: number }> {
  const query = db('sender_organisations as o')
    .leftJoin('ebox_message_types as t', 't.sender_enterprise_number', 'o.enterprise_number')
    .orderBy('o.enterprise_number')
    .select('o.enterprise_number', 'o.name', 't.id as message_type_id');
  if (page) query.offset(page.offset).limit(page.limit);
  const [count] = await db('sender_organisations').count({ n: '*' });
  const items = (await query).map((r: Record<string, unknown>) => ({
    enterpriseNumber: String(r.enterprise_number),
    name: String(r.name),
    messageTypeId: (r.message_type_id as string | null) ?? GENERIC_MESSAGE_TYPE,
  }));
  return { items, total: Number(count!.n) };
}

export async function findSenderOrganisation(db: Database, enterpriseNumber: string): Promise<SenderOrganisationSummary | undefined> {
  const row = await db('sender_organisations as o')
    .leftJoin('ebox_message_types as t', 't.sender_enterprise_number', 'o.enterprise_number')
    .where('o.enterprise_number', enterpriseNumber)
    .first('o.enterprise_number', 'o.name', 't.id as message_type_id');
  return row ? { enterpriseNumber: row.enterprise_number, name: row.name, messageTypeId: row.message_type_id ?? GENERIC_MESSAGE_TYPE } : undefined;
}
