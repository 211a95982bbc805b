// eBox notices: messages ePost itself posts into an eBox that are not registered mails (a copy of a
// send-proof in the sender organisation's own enterprise eBox, the announcement of a batch). Each
// has a subject in the four languages and one attachment, encrypted at rest like documents (and
// dropped when the notice expires: no evidence is kept for a notice). Sender organisations choose
// whether they receive a copy of every send-proof.
import type { Knex } from 'knex';

/** The message types of notices (reference data, so a notice's messageTypeId resolves like any other). */
export const NOTICE_MESSAGE_TYPES = {
  SendProofCopy: {
    id: 'EPOST_SEND_PROOF_COPY',
    name: { fr: "Copie de preuve d'envoi", nl: 'Kopie van verzendingsbewijs', de: 'Kopie des Versandnachweises', en: 'Send-proof copy' },
  },
  BatchAvailable: {
    id: 'EPOST_BATCH_AVAILABLE',
    name: { fr: 'Lot disponible', nl: 'Batch beschikbaar', de: 'Stapel verfügbar', en: 'Batch available' },
  },
} as const;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ebox_notices', (t) => {
    t.string('id', 36).primary();
    t.string('ebox_kind', 16).notNullable();
    t.string('ebox_owner_id', 16).notNullable();
    t.string('kind', 32).notNullable();
    t.string('message_type_id', 64).notNullable();
    // The subject in every language: searched in the reader's language.
    t.text('subject_fr').notNullable();
    t.text('subject_nl').notNullable();
    t.text('subject_de').notNullable();
    t.text('subject_en').notNullable();
    // What it is about; no foreign keys: batches belong to another migration, and a notice never
    // holds back what it refers to.
    t.string('registered_mail_id', 36).nullable();
    t.string('batch_id', 64).nullable();
    t.text('file_name').notNullable();
    t.string('mime_type', 255).notNullable();
    t.integer('size').notNullable();
    t.string('digest_sha256', 44).notNullable();
    // The attachment, encrypted; null once the notice has expired.
    t.string('key_id', 16).nullable();
    t.binary('iv').nullable();
    t.binary('ciphertext').nullable();
    t.binary('auth_tag').nullable();
    t.string('delivered_at', 30).notNullable();
    t.string('read_at', 30).nullable();
    t.boolean('visible').notNullable().defaultTo(true);
    // Settled from the eBox retention the first time the eBox is read after the posting.
    t.string('expires_at', 30).nullable();
    t.string('expired_at', 30).nullable();
    t.foreign(['ebox_kind', 'ebox_owner_id']).references(['kind', 'owner_id']).inTable('eboxes');
    t.index(['ebox_kind', 'ebox_owner_id']);
    t.index(['expires_at']);
    t.index(['registered_mail_id']);
  });
  await knex.schema.alterTable('sender_organisations', (t) => {
    t.boolean('send_proof_copies').notNullable().defaultTo(false);
  });
  const createdAt = new Date().toISOString();
  await knex('ebox_message_types').insert(
    Object.values(NOTICE_MESSAGE_TYPES).map((type) => ({
      id: type.id,
      sender_enterprise_number: null,
      name: JSON.stringify(type.name),
      description: null,
      retention_days: null,
      created_at: createdAt,
    })),
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex('ebox_message_types').whereIn('id', Object.values(NOTICE_MESSAGE_TYPES).map((t) => t.id)).delete();
  await knex.schema.alterTable('sender_organisations', (t) => t.dropColumn('send_proof_copies'));
  await knex.schema.dropTableIfExists('ebox_notices');
}
