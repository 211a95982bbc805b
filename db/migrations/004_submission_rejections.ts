// Sealed SubmissionRejection evidence: a send refused from an authenticated sender leaves no mail,
// but the sender (and a judge) can still prove that it was submitted and why it was refused.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('submission_rejections', (t) => {
    t.string('evidence_id', 36).primary();
    t.string('sender_enterprise_number', 10).notNullable().references('enterprise_number').inTable('sender_organisations');
    t.string('sender_reference', 64).nullable();
    t.string('rejected_at', 30).notNullable();
    t.string('fault_code', 64).notNullable();
    t.binary('sealed_xml').notNullable();
    t.string('digest_sha256', 44).notNullable();
    t.index(['sender_enterprise_number', 'sender_reference']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('submission_rejections');
}
