// The processing log: one append-only log of every processing step (SOAP requests accepted or
// refused, deliveries, eBox reads, proof fetches, administrative changes, log consultations,
// purges), each record a leaf of an RFC 6962 Merkle tree whose heads ePost signs and timestamps.
// Other parts record a step with `ctx.audit.append(trx, step)` inside the step's own transaction.
export { AuditLog, inclusionProofJson, type AuditLogOptions, type ConsistencyProof, type InclusionProof, type RecordFilter } from './log.js';
export { EPOST, recipientKey, unsequencedRecordCount, type AuditOperation, type AuditOutcome, type ProcessingStep, type StoredRecord } from './records.js';
export { treeHeadSignedBytes, treeHeadSignerFromPem, type SignedTreeHead, type TreeHeadSigner, type TreeHeadTrust } from './treeHead.js';
export { verifyLog, type LogVerification, type VerifyOptions } from './verify.js';
export { leafHash, nodeHash, verifyConsistency, verifyInclusion } from './merkle.js';
export { setSenderDocumentRetention, type PurgedDocument } from './retention.js';

/** A refused request keeps at most this much of its body: enough to analyse, bounded against floods. */
export const REFUSED_REQUEST_CAP_BYTES = 1024 * 1024;
