// The registered-mail core: sender organisations and their certificates (access management),
// registered mails with their encrypted documents, eBoxes and their messages, sealed proofs,
// the request log with the signed SOAP request attached, and the replay cache.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sender_organisations', (t) => {
    t.string('enterprise_number', 10).primary();
    t.string('name', 200).notNullable();
    // JSON arrays: which operations and recipient kinds this organisation may use.
    t.text('allowed_operations').notNullable();
    t.text('allowed_recipient_kinds').notNullable();
    t.string('registered_at', 30).notNullable();
  });
  await knex.schema.createTable('sender_certificates', (t) => {
    t.string('fingerprint_sha256', 64).primary();
    t.string('enterprise_number', 10).notNullable().references('enterprise_number').inTable('sender_organisations');
    t.text('subject').notNullable();
    t.string('not_after', 30).notNullable();
    t.string('registered_at', 30).notNullable();
    t.string('revoked_at', 30).nullable();
    t.index(['enterprise_number']);
  });
  await knex.schema.createTable('registered_mails', (t) => {
    t.string('id', 36).primary();
    t.string('sender_enterprise_number', 10).notNullable().references('enterprise_number').inTable('sender_organisations');
    t.string('sender_reference', 64).notNullable();
    // SHA-256 over what the sender asked for: an idempotent retry must match it exactly.
    t.string('submission_fingerprint', 64).notNullable();
    t.string('recipient_kind', 16).notNullable();
    t.string('recipient_id', 16).notNullable();
    t.text('subject').notNullable();
    t.string('language', 2).nullable();
    t.text('file_name').notNullable();
    t.string('mime_type', 255).notNullable();
    t.integer('size').notNullable(); // bytes; documents are bounded well below 2 GiB
    t.string('digest_sha256', 44).notNullable();
    t.string('submission_time', 30).notNullable();
    t.string('status', 16).notNullable();
    t.unique(['sender_enterprise_number', 'sender_reference']);
  });
  await knex.schema.createTable('documents', (t) => {
    t.string('registered_mail_id', 36).primary().references('id').inTable('registered_mails');
    t.string('key_id', 16).notNullable();
    t.binary('iv').notNullable();
    t.binary('ciphertext').notNullable();
    t.binary('auth_tag').notNullable();
  });
  await knex.schema.createTable('eboxes', (t) => {
    t.string('kind', 16).notNullable();
    t.string('owner_id', 16).notNullable();
    t.string('created_at', 30).notNullable();
    t.primary(['kind', 'owner_id']);
  });
  await knex.schema.createTable('ebox_messages', (t) => {
    t.string('id', 36).primary();
    t.string('ebox_kind', 16).notNullable();
    t.string('ebox_owner_id', 16).notNullable();
    t.string('registered_mail_id', 36).notNullable().unique().references('id').inTable('registered_mails');
    t.string('delivered_at', 30).notNullable();
    t.string('read_at', 30).nullable();
    t.boolean('visible').notNullable().defaultTo(true);
    t.foreign(['ebox_kind', 'ebox_owner_id']).references(['kind', 'owner_id']).inTable('eboxes');
    t.index(['ebox_kind', 'ebox_owner_id']);
  });
  await knex.schema.createTable('proofs', (t) => {
    t.string('id', 36).primary();
    t.string('registered_mail_id', 36).notNullable().references('id').inTable('registered_mails');
    t.string('kind', 32).notNullable();
    t.binary('sealed_xml').notNullable();
    t.string('digest_sha256', 44).notNullable();
    t.string('created_at', 30).notNullable();
    t.unique(['registered_mail_id', 'kind']);
  });
  await knex.schema.createTable('request_log', (t) => {
    t.increments('id').primary();
    t.string('received_at', 30).notNullable();
    t.string('operation', 64).nullable();
    t.string('outcome', 16).notNullable();
    t.string('fault_code', 64).nullable();
    t.text('fault_reason').nullable();
    t.text('certificate_subject').nullable();
    t.string('certificate_fingerprint', 64).nullable();
    t.string('sender_enterprise_number', 10).nullable();
    t.string('registered_mail_id', 36).nullable();
    t.string('request_sha256', 64).notNullable();
    t.integer('request_size').notNullable();
    // The request exactly as received, encrypted at rest like documents (truncated only for refusals).
    t.string('request_key_id', 16).notNullable();
    t.binary('request_iv').notNullable();
    t.binary('request_ciphertext').notNullable();
    t.binary('request_auth_tag').notNullable();
    t.index(['registered_mail_id']);
  });
  await knex.schema.createTable('replay_cache', (t) => {
    t.string('signature_sha256', 64).primary();
    t.string('expires_at', 30).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['replay_cache', 'request_log', 'proofs', 'ebox_messages', 'eboxes', 'documents', 'registered_mails', 'sender_certificates', 'sender_organisations']) {
    await knex.schema.dropTableIfExists(table);
  }
}
