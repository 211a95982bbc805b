// Processing records: what one step of processing was, who was responsible for it and who executed
// it, what it concerned, when, how it ended and what disturbance was observed. A record is written
// inside the caller's transaction (so it commits or rolls back with the step) without a sequence
// number; the sealer numbers committed records later (see log.ts). Its leaf, the bytes the Merkle
// tree commits to, is a fixed-order JSON rendering of exactly the stored columns and its number.
import { hash } from 'node:crypto';
import { insertInto, insertRows, type Database, type DataVault, type Statements } from '../storage/index.js';

/** The kinds of processing the log knows; each is named as the domain names it. */
export type AuditOperation =
  /** SOAP operations, accepted or refused (a refusal before the operation is known is 'SoapRequest'). */
  | 'SendRegisteredMail'
  | 'GetProofOfDelivery'
  | 'SoapRequest'
  /** A registered mail put into (or failing to reach) its recipient's eBox. */
  | 'DeliverIntoEbox'
  /** eBox readers: listing, reading a message, downloading its document. */
  | 'ListEboxMessages'
  | 'ReadEboxMessage'
  | 'DownloadDocument'
  /** Evidence handed out other than through GetProofOfDelivery (bundle, PDF reproduction). */
  | 'FetchProof'
  /** An evidence document produced (handover, expiry, …) outside a request already recorded. */
  | 'ProduceEvidence'
  /** Access management and configuration changes; `details` says which noun, verb and values. */
  | 'AdministrativeChange'
  /** Security advisors reading the log or a payload; refused attempts too. */
  | 'ConsultLog'
  | 'ReadLogPayload'
  /** A document removed at the end of its retention period (its digests stay). */
  | 'PurgeDocument'
  /** The batch channel: a recipient choosing or leaving it, a batch assembled, a batch picked up. */
  | 'ChooseBatchChannel'
  | 'AssembleBatch'
  | 'PickUpBatch';

export type AuditOutcome = 'accepted' | 'refused' | 'completed' | 'failed';

/** The organisation ePost itself, when it is responsible for or executes a step. */
export const EPOST = 'ePost';

export interface ProcessingStep {
  operation: AuditOperation;
  outcome: AuditOutcome;
  /** When the step happened; default: now, from the log's clock (the service's one clock). */
  at?: Date;
  /** The responsible organisation: a sender's enterprise number, or EPOST. */
  responsible?: string | undefined;
  /** Who executed it: a certificate subject, a user, or a component of ePost. */
  executor?: string | undefined;
  /** SHA-256 fingerprint (hex) of the executor's certificate, when one authenticated it. */
  executorFingerprint?: string | undefined;
  /** What it concerned. */
  registeredMailId?: string | undefined;
  /** Recipient identifier as `citizen:<SSIN>` or `enterprise:<enterprise number>` (see recipientKey). */
  recipient?: string | undefined;
  evidenceId?: string | undefined;
  /** A disturbance observed: the fault code and a readable reason. */
  disturbance?: { code: string; reason: string } | undefined;
  /** The purpose stated by whoever consulted personal data. */
  purpose?: string | undefined;
  /** Further facts (flat values), kept as canonical JSON. */
  details?: Record<string, string | number | boolean | null> | undefined;
  /** Attached bytes (the signed SOAP request): their SHA-256 is in the leaf, the bytes are kept encrypted. */
  payload?: Buffer | undefined;
  /** Keep at most this many bytes of the payload (refused requests: bounded against floods); the digest covers all of it. */
  payloadCapBytes?: number | undefined;
}

export function recipientKey(recipient: { kind: string; id: string }): string {
  return `${recipient.kind}:${recipient.id}`;
}

/** One stored record, as read back (numbers normalised: PostgreSQL returns bigint as text). */
export interface StoredRecord {
  id: number;
  seq: number | null;
  recordedAt: string;
  operation: string;
  outcome: string;
  responsible: string | null;
  executor: string | null;
  executorFingerprint: string | null;
  registeredMailId: string | null;
  recipient: string | null;
  evidenceId: string | null;
  disturbanceCode: string | null;
  disturbanceReason: string | null;
  purpose: string | null;
  details: string | null;
  payloadSha256: string | null;
  payloadSize: number | null;
}

export function storedRecord(row: Record<string, unknown>): StoredRecord {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    id: Number(row.id),
    seq: num(row.seq),
    recordedAt: String(row.recorded_at),
    operation: String(row.operation),
    outcome: String(row.outcome),
    responsible: str(row.responsible),
    executor: str(row.executor),
    executorFingerprint: str(row.executor_fingerprint),
    registeredMailId: str(row.registered_mail_id),
    recipient: str(row.recipient),
    evidenceId: str(row.evidence_id),
    disturbanceCode: str(row.disturbance_code),
    disturbanceReason: str(row.disturbance_reason),
    purpose: str(row.purpose),
    details: str(row.details),
    payloadSha256: str(row.payload_sha256),
    payloadSize: num(row.payload_size),
  };
}

/**
 * The leaf of record `seq`: UTF-8 JSON with a fixed key order. The sequence number is part of it, so
 * a record moved to another place no longer matches the tree at either place. `v` versions the form.
 */
export function leafBytes(seq: number, r: Omit<StoredRecord, 'id' | 'seq'>): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: 1,
      seq,
      time: r.recordedAt,
      operation: r.operation,
      outcome: r.outcome,
      responsible: r.responsible,
      executor: r.executor,
      executorFingerprint: r.executorFingerprint,
      registeredMailId: r.registeredMailId,
      recipient: r.recipient,
      evidenceId: r.evidenceId,
      disturbanceCode: r.disturbanceCode,
      disturbanceReason: r.disturbanceReason,
      purpose: r.purpose,
      details: r.details,
      payloadSha256: r.payloadSha256,
      payloadSize: r.payloadSize,
    }),
    'utf8',
  );
}

/** Canonical JSON of flat details: keys sorted, so equal facts give equal bytes. */
function canonicalDetails(details: ProcessingStep['details']): string | null {
  if (!details) return null;
  const sorted = Object.keys(details)
    .sort()
    .map((k) => [k, details[k]] as const)
    .filter(([, v]) => v !== undefined);
  return JSON.stringify(Object.fromEntries(sorted));
}

export function payloadAssociatedData(recordId: number, payloadSha256: string): string {
  return `audit_payload:${recordId}:${payloadSha256}`;
}

/** Records per INSERT: 16 columns each stay far below SQLite's and PostgreSQL's bound-parameter limits. */
const RECORDS_PER_STATEMENT = 200;

/**
 * Inserts records (and their encrypted payloads) with the caller's handle, in order: one multi-row
 * statement for the records and one for the payloads (a send logs two steps, one with a payload).
 * Returns the records' insertion ids in the order of `steps`.
 */
export async function insertRecords(tx: Statements, vault: DataVault, steps: ProcessingStep[], now: () => Date): Promise<number[]> {
  if (steps.length > RECORDS_PER_STATEMENT) {
    const ids: number[] = [];
    for (let i = 0; i < steps.length; i += RECORDS_PER_STATEMENT) ids.push(...(await insertRecords(tx, vault, steps.slice(i, i + RECORDS_PER_STATEMENT), now)));
    return ids;
  }
  if (steps.length === 0) return [];
  const rows = steps.map((step) => ({
    seq: null,
    recorded_at: (step.at ?? now()).toISOString(),
    operation: step.operation,
    outcome: step.outcome,
    responsible: step.responsible ?? null,
    executor: step.executor ?? null,
    executor_fingerprint: step.executorFingerprint ?? null,
    registered_mail_id: step.registeredMailId ?? null,
    recipient: step.recipient ?? null,
    evidence_id: step.evidenceId ?? null,
    disturbance_code: step.disturbance?.code ?? null,
    disturbance_reason: step.disturbance?.reason ?? null,
    purpose: step.purpose ?? null,
    details: canonicalDetails(step.details),
    payload_sha256: step.payload ? hash('sha256', step.payload, 'hex') : null,
    payload_size: step.payload ? step.payload.length : null,
  }));
  const insert = insertInto('audit_records', rows, { returning: ['id', 'operation', 'payload_sha256'] });
  const returned = await tx.rows<{ id: number | string; operation: string; payload_sha256: string | null }>(insert.sql, insert.bindings);
  // One statement numbers its rows in the order of its VALUES (SQLite rowids, a PostgreSQL
  // sequence), but RETURNING promises no order: sorted by id they are the steps in order, and the
  // payload (whose associated data names the record id) must land on its own record, so a mismatch
  // aborts the caller's transaction rather than mislabel anything.
  const inserted = returned.map((r) => ({ ...r, id: Number(r.id) })).sort((a, b) => a.id - b.id);
  if (inserted.length !== rows.length || inserted.some((r, i) => r.operation !== rows[i]!.operation || (r.payload_sha256 ?? null) !== rows[i]!.payload_sha256)) {
    throw new Error('processing log: the inserted records do not match the steps in order');
  }
  const payloads = [];
  for (const [i, step] of steps.entries()) {
    const { id } = inserted[i]!;
    const { payload_sha256: payloadSha256, recorded_at: recordedAt } = rows[i]!;
    if (!step.payload || !payloadSha256) continue;
    const kept = step.payloadCapBytes !== undefined ? step.payload.subarray(0, step.payloadCapBytes) : step.payload;
    const sealed = vault.encrypt(kept, payloadAssociatedData(id, payloadSha256));
    payloads.push({
      record_id: id,
      registered_mail_id: step.registeredMailId ?? null,
      recorded_at: recordedAt,
      key_id: sealed.keyId,
      iv: sealed.iv,
      ciphertext: sealed.ciphertext,
      auth_tag: sealed.authTag,
      stored_size: kept.length,
    });
  }
  if (payloads.length > 0) await insertRows(tx, 'audit_payloads', payloads);
  return inserted.map((r) => r.id);
}

/** Records written but not yet numbered by the sealer (they get a number, then a tree head, within seconds). */
export async function unsequencedRecordCount(db: Database): Promise<number> {
  const [row] = await db('audit_records').whereNull('seq').count({ n: '*' });
  return Number(row?.n ?? 0);
}
