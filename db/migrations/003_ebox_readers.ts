// eBox readers: message types (the eBox API's reference data, with their retention), the expiry and
// message type of each eBox message, enterprise users (a person's role for an enterprise) and mandates
// (a mandatary reading a mandator enterprise's eBox for a period and a set of message types).
import type { Knex } from 'knex';

/** The message type of a registered mail whose sender organisation defines none of its own. */
export const GENERIC_MESSAGE_TYPE = 'REGISTERED_MAIL';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ebox_message_types', (t) => {
    t.string('id', 64).primary();
    // A sender organisation's registered mails carry its own message type (at most one per sender).
    t.string('sender_enterprise_number', 10).nullable().unique().references('enterprise_number').inTable('sender_organisations');
    // TranslatedString objects as JSON text: {"fr": ..., "nl": ..., "de": ..., "en": ...}.
    t.text('name').notNullable();
    t.text('description').nullable();
    // Days a message of this type stays in the eBox; null: the configured default.
    t.integer('retention_days').nullable();
    t.string('created_at', 30).notNullable();
  });
  await knex('ebox_message_types').insert({
    id: GENERIC_MESSAGE_TYPE,
    sender_enterprise_number: null,
    name: JSON.stringify({
      fr: 'Envoi recommandé électronique',
      nl: 'Elektronische aangetekende zending',
      de: 'Elektronisches Einschreiben',
      en: 'Electronic registered mail',
    }),
    description: null,
    retention_days: null,
    created_at: new Date().toISOString(),
  });

  await knex.schema.alterTable('ebox_messages', (t) => {
    t.string('message_type_id', 64).nullable();
    // Set at delivery or, for older rows, the first time the eBox is read; expired_at when the expiry evidence is sealed.
    t.string('expires_at', 30).nullable();
    t.string('expired_at', 30).nullable();
    t.index(['expires_at']);
    t.index(['message_type_id']);
  });
  await knex.schema.alterTable('eboxes', (t) => {
    t.string('last_consulted_at', 30).nullable();
  });

  await knex.schema.createTable('enterprise_users', (t) => {
    t.increments('id').primary();
    t.string('enterprise_number', 10).notNullable();
    t.string('ssin', 11).notNullable();
    t.string('role', 32).notNullable();
    t.string('granted_at', 30).notNullable();
    t.text('granted_by').notNullable();
    t.string('revoked_at', 30).nullable();
    t.text('revoked_by').nullable();
    t.index(['ssin']);
    t.index(['enterprise_number']);
  });

  await knex.schema.createTable('mandates', (t) => {
    t.string('id', 36).primary();
    t.string('mandator_enterprise_number', 10).notNullable();
    // 'person' (by SSIN) or 'organisation' (by enterprise number, whose enterprise users act for it).
    t.string('mandatary_kind', 16).notNullable();
    t.string('mandatary_id', 11).notNullable();
    // JSON array of message type ids: the scope.
    t.text('message_type_ids').notNullable();
    t.string('valid_from', 30).notNullable();
    t.string('valid_until', 30).nullable();
    t.string('created_at', 30).notNullable();
    t.text('created_by').notNullable();
    t.string('ended_at', 30).nullable();
    t.text('ended_by').nullable();
    t.index(['mandatary_kind', 'mandatary_id']);
    t.index(['mandator_enterprise_number']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mandates');
  await knex.schema.dropTableIfExists('enterprise_users');
  await knex.schema.alterTable('eboxes', (t) => t.dropColumn('last_consulted_at'));
  await knex.schema.alterTable('ebox_messages', (t) => {
    t.dropIndex(['expires_at']);
    t.dropIndex(['message_type_id']);
    t.dropColumn('expired_at');
    t.dropColumn('expires_at');
    t.dropColumn('message_type_id');
  });
  await knex.schema.dropTableIfExists('ebox_message_types');
}
