// The batch channel: an enterprise that takes its registered mails as files into its own systems.
// Its subscription says where its outbox is; each batch is a sealed ZIP of delivered mails, kept as
// the facts needed to rebuild it byte for byte (sealed manifest, each mail's evidence bundle, the
// ZIP's SHA-256), so an interrupted write is simply written again. A mail is in at most one batch.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('batch_channel_subscriptions', (t) => {
    t.string('enterprise_number', 10).primary();
    // Null: the configured outbox folder, one subfolder per enterprise.
    t.text('outbox_dir').nullable();
    t.string('chosen_at', 30).notNullable();
    t.text('chosen_by').notNullable();
    t.string('ended_at', 30).nullable();
    t.text('ended_by').nullable();
  });
  await knex.schema.createTable('batches', (t) => {
    t.string('id', 36).primary();
    t.string('enterprise_number', 10).notNullable();
    // 1, 2, 3… per enterprise: a gap or a repeat tells the recipient a batch is missing.
    t.integer('sequence').notNullable();
    t.string('created_at', 30).notNullable();
    t.integer('mail_count').notNullable();
    t.string('file_name', 120).notNullable();
    t.binary('manifest_json').notNullable();
    t.binary('sealed_manifest').notNullable();
    t.string('archive_sha256', 64).notNullable();
    t.bigInteger('archive_size').notNullable();
    t.string('written_at', 30).nullable();
    t.text('written_to').nullable();
    t.string('picked_up_at', 30).nullable();
    t.text('picked_up_by').nullable();
    t.string('notice_message_id', 36).nullable();
    t.unique(['enterprise_number', 'sequence']);
    t.index(['enterprise_number', 'created_at']);
  });
  await knex.schema.createTable('batch_mails', (t) => {
    t.string('batch_id', 36).notNullable().references('id').inTable('batches');
    // Unique: two assemblers racing (several instances) cannot put one mail into two batches.
    t.string('registered_mail_id', 36).notNullable().unique().references('id').inTable('registered_mails');
    t.integer('position').notNullable();
    t.binary('evidence_bundle').notNullable();
    // Set at pick-up: the ContentHandover evidence it produced (null: the mail was opened in the eBox before).
    t.string('handover_evidence_id', 36).nullable();
    t.primary(['batch_id', 'position']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['batch_mails', 'batches', 'batch_channel_subscriptions']) await knex.schema.dropTableIfExists(table);
}
