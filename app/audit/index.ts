// The request log: every SOAP request, accepted or refused, with who presented it, what it
// concerned, when it arrived, how it ended, and the request itself (encrypted at rest).
import { createHash } from 'node:crypto';
import type { Database, DataVault } from '../storage/index.js';

export type RequestOutcome = 'accepted' | 'refused';

export interface RequestRecord {
  receivedAt: Date;
  operation?: string;
  outcome: RequestOutcome;
  faultCode?: string;
  faultReason?: string;
  certificateSubject?: string;
  certificateFingerprint?: string;
  senderEnterpriseNumber?: string;
  registeredMailId?: string;
}

/** A refused request keeps at most this much of its body: enough to analyse, bounded against floods. */
export const REFUSED_REQUEST_CAP_BYTES = 1024 * 1024;

/** Appends one record; for accepted sends `db` is the send transaction, so the log commits with the mail. */
export async function logRequest(db: Database, vault: DataVault, record: RequestRecord, rawRequest: Buffer): Promise<number> {
  const kept = record.outcome === 'refused' ? rawRequest.subarray(0, REFUSED_REQUEST_CAP_BYTES) : rawRequest;
  const requestSha256 = createHash('sha256').update(rawRequest).digest('hex');
  const sealed = vault.encrypt(kept, `request_log:${requestSha256}`);
  const [row] = await db('request_log')
    .insert({
      received_at: record.receivedAt.toISOString(),
      operation: record.operation ?? null,
      outcome: record.outcome,
      fault_code: record.faultCode ?? null,
      fault_reason: record.faultReason ?? null,
      certificate_subject: record.certificateSubject ?? null,
      certificate_fingerprint: record.certificateFingerprint ?? null,
      sender_enterprise_number: record.senderEnterpriseNumber ?? null,
      registered_mail_id: record.registeredMailId ?? null,
      request_sha256: requestSha256,
      request_size: rawRequest.length,
      request_key_id: sealed.keyId,
      request_iv: sealed.iv,
      request_ciphertext: sealed.ciphertext,
      request_auth_tag: sealed.authTag,
    })
    .returning('id');
  return typeof row === 'object' ? (row as { id: number }).id : (row as number);
}

/** The logged request bytes (as kept) of one record, decrypted. */
export async function loggedRequest(db: Database, vault: DataVault, id: number): Promise<Buffer> {
  const row = await db('request_log').where({ id }).first();
  if (!row) throw new Error(`no request log record ${id}`);
  return vault.decrypt(
    { keyId: row.request_key_id, iv: row.request_iv, ciphertext: row.request_ciphertext, authTag: row.request_auth_tag },
    `request_log:${row.request_sha256}`,
  );
}
