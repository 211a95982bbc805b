// Access management, complete: sender organisations get their names in the four languages and a
// contact, a message-type authorisation (null: any message type), and named applications to which
// their certificates are attached.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sender_organisations', (t) => {
    t.string('name_fr', 200).nullable();
    t.string('name_nl', 200).nullable();
    t.string('name_de', 200).nullable();
    t.string('name_en', 200).nullable();
    t.string('contact_email', 254).nullable();
    t.string('contact_phone', 32).nullable();
    // JSON array of message type ids; null: not restricted.
    t.text('allowed_message_types').nullable();
  });
  await knex.schema.createTable('sender_applications', (t) => {
    t.string('id', 36).primary();
    t.string('enterprise_number', 10).notNullable().references('enterprise_number').inTable('sender_organisations');
    t.string('name', 200).notNullable();
    t.string('registered_at', 30).notNullable();
    t.string('registered_by', 200).notNullable();
    t.string('revoked_at', 30).nullable();
    t.string('revoked_by', 200).nullable();
    t.index(['enterprise_number']);
  });
  await knex.schema.alterTable('sender_certificates', (t) => {
    t.string('application_id', 36).nullable().references('id').inTable('sender_applications');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sender_certificates', (t) => t.dropColumn('application_id'));
  await knex.schema.dropTableIfExists('sender_applications');
  await knex.schema.alterTable('sender_organisations', (t) => {
    for (const c of ['name_fr', 'name_nl', 'name_de', 'name_en', 'contact_email', 'contact_phone', 'allowed_message_types']) t.dropColumn(c);
  });
}
