// The processing log that replaces request_log: append-only records (RFC 6962 Merkle leaves), their
// encrypted payloads, the stored perfect subtrees of the tree, the log head (tree size, under a row
// lock when several instances seal), the signed and timestamped tree heads, and the certificates
// that signed them. Security advisors, per-sender document retention and purge marks come along.
//
// Guards in the database itself (SQLite and PostgreSQL triggers): a sequenced record never changes,
// nothing of the log is deleted before its retention ends, the tree never shrinks. They stop the
// service's own code and a careless administrator; a deliberate one can drop them, which is what the
// signed tree heads are for (`npm run audit -- verify`).
import type { Knex } from 'knex';
import { isPostgres } from '../../app/storage/dialect.js';

/** The record columns that make up a leaf: none of them may change once written. */
export const RECORD_CONTENT_COLUMNS = [
  'recorded_at',
  'operation',
  'outcome',
  'responsible',
  'executor',
  'executor_fingerprint',
  'registered_mail_id',
  'recipient',
  'evidence_id',
  'disturbance_code',
  'disturbance_reason',
  'purpose',
  'details',
  'payload_sha256',
  'payload_size',
] as const;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_records', (t) => {
    // Insertion identity, assigned in the caller's transaction; the log order is `seq`, given by the sealer.
    t.bigIncrements('id').primary();
    t.bigInteger('seq').nullable().unique();
    // UTC, millisecond precision, from the service's one clock (ISO 8601, so text order is time order).
    t.string('recorded_at', 24).notNullable();
    t.string('operation', 64).notNullable();
    t.string('outcome', 16).notNullable();
    // Who was responsible (an organisation: enterprise number, or "ePost") and who executed the step.
    t.string('responsible', 64).nullable();
    t.text('executor').nullable();
    t.string('executor_fingerprint', 64).nullable();
    // What it concerned.
    t.string('registered_mail_id', 36).nullable();
    t.string('recipient', 40).nullable();
    t.string('evidence_id', 64).nullable();
    // Any disturbance observed: the fault code and its reason.
    t.string('disturbance_code', 64).nullable();
    t.text('disturbance_reason').nullable();
    // The purpose stated for a consultation of personal data.
    t.text('purpose').nullable();
    // Further facts as canonical JSON text (filters of a consultation, the change of an administrative act).
    t.text('details').nullable();
    t.string('payload_sha256', 64).nullable();
    t.bigInteger('payload_size').nullable();
    t.index(['recorded_at']);
    t.index(['responsible']);
    t.index(['recipient']);
    t.index(['operation']);
    t.index(['registered_mail_id']);
    t.index(['evidence_id']);
  });
  await knex.schema.createTable('audit_payloads', (t) => {
    t.bigInteger('record_id').primary().references('id').inTable('audit_records');
    // Copies of the record's facts the guards and the purge need without a join.
    t.string('registered_mail_id', 36).nullable();
    t.string('recorded_at', 24).notNullable();
    t.string('key_id', 16).notNullable();
    t.binary('iv').notNullable();
    t.binary('ciphertext').notNullable();
    t.binary('auth_tag').notNullable();
    // Refused requests keep a capped prefix; the record's digest is always over the whole payload.
    t.bigInteger('stored_size').notNullable();
    t.index(['registered_mail_id']);
  });
  await knex.schema.createTable('audit_tree_nodes', (t) => {
    // Perfect subtrees only: level 0 is the leaf hash of record `seq = idx`.
    t.integer('level').notNullable();
    t.bigInteger('idx').notNullable();
    t.string('hash', 64).notNullable();
    t.primary(['level', 'idx']);
  });
  await knex.schema.createTable('audit_log_head', (t) => {
    t.integer('id').primary();
    t.bigInteger('tree_size').notNullable();
    t.integer('retention_years').notNullable();
  });
  await knex('audit_log_head').insert({ id: 1, tree_size: 0, retention_years: 10 });
  await knex.schema.createTable('audit_signers', (t) => {
    t.string('fingerprint_sha256', 64).primary();
    t.text('certificate_pem').notNullable();
    t.string('registered_at', 24).notNullable();
  });
  await knex.schema.createTable('audit_tree_heads', (t) => {
    t.bigInteger('tree_size').primary();
    t.string('root_hash', 64).notNullable();
    // RFC 6962 timestamp: milliseconds since the epoch, and the same instant as text.
    t.bigInteger('timestamp_ms').notNullable();
    t.string('signed_at', 24).notNullable();
    t.binary('signature').notNullable();
    t.string('signer_fingerprint', 64).notNullable().references('fingerprint_sha256').inTable('audit_signers');
    // RFC 3161 token over SHA-256 of the signature: one timestamp for the whole batch.
    t.binary('timestamp_token').notNullable();
  });
  await knex.schema.createTable('security_advisors', (t) => {
    t.string('fingerprint_sha256', 64).primary();
    t.text('subject').notNullable();
    t.string('name', 200).notNullable();
    t.string('organisation', 64).notNullable();
    t.string('registered_at', 24).notNullable();
    t.string('revoked_at', 24).nullable();
  });
  await knex.schema.alterTable('sender_organisations', (t) => {
    // Days a document of this sender is kept; null: the configured default.
    t.integer('document_retention_days').nullable();
  });
  await knex.schema.alterTable('registered_mails', (t) => {
    t.string('document_purged_at', 24).nullable();
  });
  // request_log is superseded; there is no production data yet to carry over.
  await knex.schema.dropTableIfExists('request_log');

  if (isPostgres(knex)) await pgGuards(knex);
  else await sqliteGuards(knex);
}

const REFUSAL = 'epost: the processing log is append-only';

async function sqliteGuards(knex: Knex): Promise<void> {
  const retentionCutoff = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || MAX(10, (SELECT retention_years FROM audit_log_head WHERE id = 1)) || ' years')`;
  const changed = RECORD_CONTENT_COLUMNS.map((c) => `NEW.${c} IS NOT OLD.${c}`).join(' OR ');
  const statements = [
    `CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
       WHEN OLD.seq IS NOT NULL OR NEW.id IS NOT OLD.id OR ${changed}
       BEGIN SELECT RAISE(ABORT, '${REFUSAL}: a record never changes once written'); END`,
    `CREATE TRIGGER audit_records_retention BEFORE DELETE ON audit_records
       WHEN OLD.recorded_at > ${retentionCutoff}
       BEGIN SELECT RAISE(ABORT, '${REFUSAL}: a record is kept until its retention period ends'); END`,
    `CREATE TRIGGER audit_payloads_no_update BEFORE UPDATE ON audit_payloads
       BEGIN SELECT RAISE(ABORT, '${REFUSAL}: a payload never changes'); END`,
    `CREATE TRIGGER audit_payloads_retention BEFORE DELETE ON audit_payloads
       WHEN OLD.recorded_at > ${retentionCutoff}
        AND NOT EXISTS (SELECT 1 FROM registered_mails m WHERE m.id = OLD.registered_mail_id AND m.document_purged_at IS NOT NULL)
       BEGIN SELECT RAISE(ABORT, '${REFUSAL}: a payload is kept until its retention period or its document''s ends'); END`,
    `CREATE TRIGGER audit_tree_nodes_no_update BEFORE UPDATE ON audit_tree_nodes
       BEGIN SELECT RAISE(ABORT, '${REFUSAL}: tree nodes never change'); END`,
    `CREATE TRIGGER audit_tree_nodes_no_delete BEFORE DELETE ON audit_tree_nodes
       BEGIN SELECT RAISE(ABORT, '${REFUSAL}: tree nodes are never deleted'); END`,
    `CREATE TRIGGER audit_tree_heads_no_update BEFORE UPDATE ON audit_tree_heads
       BEGIN SELECT RAISE(ABORT, '${REFUSAL}: a signed tree head never changes'); END`,
    `CREATE TRIGGER audit_tree_heads_retention BEFORE DELETE ON audit_tree_heads
       WHEN OLD.signed_at > ${retentionCutoff}
       BEGIN SELECT RAISE(ABORT, '${REFUSAL}: a signed tree head is kept until its retention period ends'); END`,
    `CREATE TRIGGER audit_signers_no_change BEFORE UPDATE ON audit_signers
       BEGIN SELECT RAISE(ABORT, '${REFUSAL}: a signer certificate never changes'); END`,
    `CREATE TRIGGER audit_signers_no_delete BEFORE DELETE ON audit_signers
       BEGIN SELECT RAISE(ABORT, '${REFUSAL}: a signer certificate is never deleted'); END`,
    `CREATE TRIGGER audit_log_head_never_shrinks BEFORE UPDATE ON audit_log_head
       WHEN NEW.tree_size < OLD.tree_size OR NEW.retention_years < 10
       BEGIN SELECT RAISE(ABORT, '${REFUSAL}: the tree never shrinks and is kept at least ten years'); END`,
    `CREATE TRIGGER audit_log_head_no_delete BEFORE DELETE ON audit_log_head
       BEGIN SELECT RAISE(ABORT, '${REFUSAL}: the log head is never deleted'); END`,
  ];
  for (const sql of statements) await knex.raw(sql);
}

async function pgGuards(knex: Knex): Promise<void> {
  const cutoff = `to_char((now() AT TIME ZONE 'UTC') - make_interval(years => GREATEST(10, (SELECT retention_years FROM audit_log_head WHERE id = 1))), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const changed = RECORD_CONTENT_COLUMNS.map((c) => `NEW.${c} IS DISTINCT FROM OLD.${c}`).join(' OR ');
  const statements = [
    `CREATE FUNCTION epost_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION '${REFUSAL}: % on % is refused', TG_OP, TG_TABLE_NAME; END $$`,
    `CREATE FUNCTION epost_audit_records_guard() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'DELETE' THEN
         IF OLD.recorded_at > ${cutoff} THEN
           RAISE EXCEPTION '${REFUSAL}: a record is kept until its retention period ends';
         END IF;
         RETURN OLD;
       END IF;
       IF OLD.seq IS NOT NULL OR NEW.id IS DISTINCT FROM OLD.id OR ${changed} THEN
         RAISE EXCEPTION '${REFUSAL}: a record never changes once written';
       END IF;
       RETURN NEW;
     END $$`,
    `CREATE FUNCTION epost_audit_payloads_guard() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'UPDATE' THEN RAISE EXCEPTION '${REFUSAL}: a payload never changes'; END IF;
       IF OLD.recorded_at > ${cutoff}
          AND NOT EXISTS (SELECT 1 FROM registered_mails m WHERE m.id = OLD.registered_mail_id AND m.document_purged_at IS NOT NULL) THEN
         RAISE EXCEPTION '${REFUSAL}: a payload is kept until its retention period or its document''s ends';
       END IF;
       RETURN OLD;
     END $$`,
    `CREATE FUNCTION epost_audit_tree_heads_guard() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'UPDATE' OR OLD.signed_at > ${cutoff} THEN
         RAISE EXCEPTION '${REFUSAL}: a signed tree head is kept unchanged until its retention period ends';
       END IF;
       RETURN OLD;
     END $$`,
    `CREATE FUNCTION epost_audit_log_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'DELETE' OR NEW.tree_size < OLD.tree_size OR NEW.retention_years < 10 THEN
         RAISE EXCEPTION '${REFUSAL}: the tree never shrinks and is kept at least ten years';
       END IF;
       RETURN NEW;
     END $$`,
    `CREATE TRIGGER audit_records_guard BEFORE UPDATE OR DELETE ON audit_records FOR EACH ROW EXECUTE FUNCTION epost_audit_records_guard()`,
    `CREATE TRIGGER audit_payloads_guard BEFORE UPDATE OR DELETE ON audit_payloads FOR EACH ROW EXECUTE FUNCTION epost_audit_payloads_guard()`,
    `CREATE TRIGGER audit_tree_nodes_guard BEFORE UPDATE OR DELETE ON audit_tree_nodes FOR EACH ROW EXECUTE FUNCTION epost_log_refuse()`,
    `CREATE TRIGGER audit_tree_heads_guard BEFORE UPDATE OR DELETE ON audit_tree_heads FOR EACH ROW EXECUTE FUNCTION epost_audit_tree_heads_guard()`,
    `CREATE TRIGGER audit_signers_guard BEFORE UPDATE OR DELETE ON audit_signers FOR EACH ROW EXECUTE FUNCTION epost_log_refuse()`,
    `CREATE TRIGGER audit_log_head_guard BEFORE UPDATE OR DELETE ON audit_log_head FOR EACH ROW EXECUTE FUNCTION epost_audit_log_head_guard()`,
  ];
  for (const sql of statements) await knex.raw(sql);
  // TRUNCATE bypasses row triggers: refuse it on every log table.
  for (const table of ['audit_records', 'audit_payloads', 'audit_tree_nodes', 'audit_tree_heads', 'audit_signers', 'audit_log_head']) {
    await knex.raw(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION epost_log_refuse()`);
  }
}

export async function down(knex: Knex): Promise<void> {
  if (isPostgres(knex)) {
    for (const table of ['audit_payloads', 'audit_tree_nodes', 'audit_tree_heads', 'audit_signers', 'audit_log_head', 'audit_records']) {
      await knex.raw(`DROP TABLE IF EXISTS ${table} CASCADE`);
    }
    for (const fn of ['epost_log_refuse', 'epost_audit_records_guard', 'epost_audit_payloads_guard', 'epost_audit_tree_heads_guard', 'epost_audit_log_head_guard']) {
      await knex.raw(`DROP FUNCTION IF EXISTS ${fn}()`);
    }
  } else {
    for (const table of ['audit_payloads', 'audit_tree_nodes', 'audit_tree_heads', 'audit_signers', 'audit_log_head', 'audit_records']) {
      await knex.schema.dropTableIfExists(table);
    }
  }
  await knex.schema.dropTableIfExists('security_advisors');
  await knex.schema.alterTable('registered_mails', (t) => t.dropColumn('document_purged_at'));
  await knex.schema.alterTable('sender_organisations', (t) => t.dropColumn('document_retention_days'));
}
