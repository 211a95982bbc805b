// Document retention: a registered mail's document is kept for its sender organisation's retention
// period (or the configured default), then purged. The purge removes the encrypted document and the
// encrypted payloads the log keeps for that mail (the signed request carries the document too), and
// keeps every digest: the mail's, the proofs' and the records' — so the proofs and the log still
// verify. Each purge is itself a processing record, in the same transaction.
import { EpostError } from '../errors/index.js';
import type { Database } from '../storage/index.js';
import { EPOST, type ProcessingStep } from './records.js';

/** What the purge needs of the log: appending in a transaction, and its clock. */
interface LogAppender {
  append(db: Database, steps: ProcessingStep | ProcessingStep[]): Promise<number[]>;
  readonly now: () => Date;
}

export interface PurgedDocument {
  registeredMailId: string;
  senderEnterpriseNumber: string;
  digestSha256: string;
  retentionDays: number;
}

const DAY_MS = 24 * 3600 * 1000;
const MAILS_PER_SWEEP = 500;

/** Purges the documents whose retention has ended; returns what was purged. Safe to run on several instances. */
export async function purgeExpiredDocuments(db: Database, log: LogAppender, defaultRetentionDays: number): Promise<PurgedDocument[]> {
  const now = log.now();
  const organisations = await db('sender_organisations').select('enterprise_number', 'document_retention_days');
  const purged: PurgedDocument[] = [];
  for (const org of organisations) {
    const retentionDays = org.document_retention_days === null || org.document_retention_days === undefined ? defaultRetentionDays : Number(org.document_retention_days);
    const cutoff = new Date(now.getTime() - retentionDays * DAY_MS).toISOString();
    const expired = await db('registered_mails')
      .where({ sender_enterprise_number: org.enterprise_number })
      .whereNull('document_purged_at')
      .where('submission_time', '<', cutoff)
      .orderBy('submission_time')
      .limit(MAILS_PER_SWEEP)
      .select('id', 'digest_sha256', 'recipient_kind', 'recipient_id', 'submission_time');
    for (const mail of expired) {
      const done = await db.transaction(async (trx) => {
        // The mark comes first: the database guards let a payload go only once its mail is marked purged.
        const marked = await trx('registered_mails').where({ id: mail.id }).whereNull('document_purged_at').update({ document_purged_at: now.toISOString() });
        if (marked === 0) return false; // another instance was faster
        const documents = await trx('documents').where({ registered_mail_id: mail.id }).delete();
        const payloads = await trx('audit_payloads').where({ registered_mail_id: mail.id }).delete();
        await log.append(trx, {
          operation: 'PurgeDocument',
          outcome: 'completed',
          at: now,
          responsible: org.enterprise_number,
          executor: `${EPOST} document retention`,
          registeredMailId: mail.id,
          recipient: `${mail.recipient_kind}:${mail.recipient_id}`,
          details: {
            documentDigestSha256: mail.digest_sha256,
            submittedAt: mail.submission_time,
            retentionDays,
            documentsRemoved: documents,
            logPayloadsRemoved: payloads,
          },
        });
        return true;
      });
      if (done) purged.push({ registeredMailId: mail.id, senderEnterpriseNumber: org.enterprise_number, digestSha256: mail.digest_sha256, retentionDays });
    }
  }
  return purged;
}

/** Sets (or, with null, clears) a sender organisation's document retention; an administrative change, logged with who made it. */
export async function setSenderDocumentRetention(
  db: Database,
  log: LogAppender,
  enterpriseNumber: string,
  retentionDays: number | null,
  by: { executor: string; executorFingerprint?: string; responsible?: string },
): Promise<void> {
  if (retentionDays !== null && (!Number.isInteger(retentionDays) || retentionDays < 1)) {
    throw new EpostError('InvalidRequest', 'A document retention period is a whole number of days, at least 1');
  }
  await db.transaction(async (trx) => {
    const updated = await trx('sender_organisations').where({ enterprise_number: enterpriseNumber }).update({ document_retention_days: retentionDays });
    if (updated === 0) throw new EpostError('InvalidRequest', `no sender organisation ${enterpriseNumber} is registered`);
    await log.append(trx, {
      operation: 'AdministrativeChange',
      outcome: 'completed',
      responsible: by.responsible ?? EPOST,
      executor: by.executor,
      executorFingerprint: by.executorFingerprint,
      details: { change: 'sender.documentRetention', enterpriseNumber, retentionDays },
    });
  });
}
