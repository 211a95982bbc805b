// A send refused from an authenticated sender still gets evidence: a sealed, timestamped
// SubmissionRejection (ETSI EN 319 522) naming the sender, the request's digest and the reason.
// It is stored with the refusal's log record, and handed to the sender in the fault only then. Retryable faults get none: nothing was
// decided about the submission, and the retry will be answered.
import { createHash } from 'node:crypto';
import type { AuthenticatedSender } from '../access/index.js';
import type { EpostError } from '../errors/index.js';
import { timeOrderedId } from '../identifiers/index.js';
import type { Database } from '../storage/index.js';
import type { VerifiedRequest } from '../wssecurity/index.js';
import type { ServiceContext } from './context.js';

export interface RefusedSubmission {
  raw: Buffer;
  receivedAt: Date;
  verified: VerifiedRequest;
  sender: AuthenticatedSender;
  fault: EpostError;
}

export interface SubmissionRejection {
  evidenceId: string;
  sealed: Buffer;
  senderEnterpriseNumber: string;
  senderReference: string | undefined;
  rejectedAt: Date;
  faultCode: string;
}

/** The SenderReference of the refused request, when it carries a well-formed one (it may not). */
function senderReferenceOf(verified: VerifiedRequest): string | undefined {
  for (let node = verified.operation.firstChild; node; node = node.nextSibling) {
    const element = node as unknown as Element;
    if (element.nodeType === 1 && element.localName === 'SenderReference') {
      const value = element.textContent ?? '';
      return /^\S(.{0,62}\S)?$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** Seals the rejection (before any transaction: it calls the timestamping authority). */
export async function sealSubmissionRejection(ctx: ServiceContext, refused: RefusedSubmission): Promise<SubmissionRejection> {
  const rejectedAt = ctx.now();
  const evidenceId = timeOrderedId(rejectedAt);
  const senderReference = senderReferenceOf(refused.verified);
  const sealed = await ctx.sealer.sealEvidence({
    evidenceId,
    event: 'SubmissionRejection',
    eventTime: rejectedAt,
    // The refused submission gets an id of its own; no registered mail exists under it.
    registeredMailId: timeOrderedId(refused.receivedAt),
    ...(senderReference ? { senderReference } : {}),
    submissionTime: refused.receivedAt,
    sender: {
      enterpriseNumber: refused.sender.enterpriseNumber,
      name: refused.sender.name,
      certificateSubject: refused.sender.certificateSubject,
      certificateFingerprintSha256: refused.sender.certificateFingerprintSha256,
    },
    requestDigestSha256: createHash('sha256').update(refused.raw).digest('base64'),
    reasons: [{ code: refused.fault.code, text: refused.fault.message }],
  });
  return {
    evidenceId,
    sealed,
    senderEnterpriseNumber: refused.sender.enterpriseNumber,
    senderReference,
    rejectedAt: refused.receivedAt,
    faultCode: refused.fault.code,
  };
}

/** Stores a sealed rejection, in the transaction that records the refusal in the processing log. */
export async function storeSubmissionRejection(trx: Database, rejection: SubmissionRejection): Promise<void> {
  await trx('submission_rejections').insert({
    evidence_id: rejection.evidenceId,
    sender_enterprise_number: rejection.senderEnterpriseNumber,
    sender_reference: rejection.senderReference ?? null,
    rejected_at: rejection.rejectedAt.toISOString(),
    fault_code: rejection.faultCode,
    sealed_xml: rejection.sealed,
    digest_sha256: createHash('sha256').update(rejection.sealed).digest('base64'),
  });
}
