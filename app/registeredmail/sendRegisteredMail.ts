// The send path, top to bottom: an authenticated sender's SendRegisteredMail request becomes a
// stored, delivered registered mail with two sealed proofs, all in one transaction; the send-proof
// leaves only after that transaction has committed.
import { hash } from 'node:crypto';
import { authorise, type AuthenticatedSender } from '../access/index.js';
import { EPOST, recipientKey, type ProcessingStep } from '../audit/index.js';
import { copySendProof, deliverIntoEbox, planDelivery } from '../ebox/index.js';
import { EpostError } from '../errors/index.js';
import { timeOrderedId } from '../identifiers/index.js';
import { evidenceFollowing, type DocumentFacts, type EvidenceFacts } from '../proofs/index.js';
import { parseSendRegisteredMail, renderSendRegisteredMailResponse, type SendRegisteredMailRequest } from '../soap/index.js';
import { insertRows, statementsOf, storeDocument } from '../storage/index.js';
import type { VerifiedRequest } from '../wssecurity/index.js';
import type { ServiceContext } from './context.js';
import { isUniqueViolation, recordReplayKey } from './replay.js';

export interface AuthenticatedRequest {
  raw: Buffer;
  receivedAt: Date;
  verified: VerifiedRequest;
  sender: AuthenticatedSender;
}

export async function sendRegisteredMail(ctx: ServiceContext, request: AuthenticatedRequest): Promise<string> {
  const { raw, receivedAt, verified, sender } = request;

  // 1. What was asked, validated field by field, and may this sender send it?
  const mail = parseSendRegisteredMail(verified.operation, { maxDocumentBytes: ctx.config.maxDocumentBytes });
  authorise(sender, 'SendRegisteredMail', mail.recipient.kind);

  // 2. Integrity: the digest the sender signed must be the digest of the bytes it sent.
  const digest = hash('sha256', mail.document.content, 'buffer');
  if (!digest.equals(mail.document.digestSha256)) {
    throw new EpostError('DigestMismatch', 'The SHA-256 digest of the document content does not match the Digest in the request');
  }
  const submissionFingerprint = fingerprintOf(mail);

  // 3. Idempotency: a retry of the same submission gets the original answer and delivers nothing twice.
  const earlier = await answerForEarlierSubmission(ctx, request, mail, submissionFingerprint);
  if (earlier) return earlier;

  // 4. The two proofs, sealed and timestamped before the transaction (they are pure computations).
  const registeredMailId = timeOrderedId(receivedAt);
  const document: DocumentFacts = {
    fileName: mail.document.fileName,
    mimeType: mail.document.mimeType,
    size: mail.document.content.length,
    digestSha256: digest.toString('base64'),
  };
  const proofSender = {
    enterpriseNumber: sender.enterpriseNumber,
    name: sender.name,
    certificateSubject: sender.certificateSubject,
    certificateFingerprintSha256: sender.certificateFingerprintSha256,
  };
  const sendProofId = timeOrderedId(receivedAt);
  // The send-proof is the SubmissionAcceptance evidence, the delivery proof the ContentConsignment that follows it.
  const sendProofFacts: EvidenceFacts = {
    evidenceId: sendProofId,
    event: 'SubmissionAcceptance',
    eventTime: receivedAt,
    registeredMailId,
    senderReference: mail.senderReference,
    submissionTime: receivedAt,
    sender: proofSender,
    recipient: mail.recipient,
    subject: mail.subject,
    ...(mail.language ? { language: mail.language } : {}),
    document,
    requestDigestSha256: hash('sha256', raw, 'base64'),
  };
  const sendProof = await ctx.sealer.sealEvidence(sendProofFacts);
  const delivery = planDelivery(mail.recipient, ctx.now(), ctx.config);
  const deliveryProofId = timeOrderedId(delivery.deliveredAt);
  // Built from the send-proof's facts in hand rather than read back from its sealed bytes.
  const deliveryProof = await ctx.sealer.sealEvidence(
    evidenceFollowing(sendProofFacts, sendProof, {
      event: 'ContentConsignment',
      evidenceId: deliveryProofId,
      eventTime: delivery.deliveredAt,
      eBox: { kind: delivery.eBox.kind, ownerId: delivery.eBox.ownerId, messageId: delivery.eBoxMessageId },
    }),
  );

  // 5. One transaction: mail, encrypted document, request log with the signed request, eBox entry,
  //    both proofs and the replay key. Either all of it is stored or none of it (sends that arrive
  //    together may share one durable commit, each in its own savepoint).
  try {
    await ctx.sendTransactions.run(async (tx) => {
      await recordReplayKey(tx, verified);
      await insertRows(tx, 'registered_mails', [{
        id: registeredMailId,
        sender_enterprise_number: sender.enterpriseNumber,
        sender_reference: mail.senderReference,
        submission_fingerprint: submissionFingerprint,
        recipient_kind: mail.recipient.kind,
        recipient_id: mail.recipient.id,
        subject: mail.subject,
        language: mail.language ?? null,
        file_name: document.fileName,
        mime_type: document.mimeType,
        size: document.size,
        digest_sha256: document.digestSha256,
        submission_time: receivedAt.toISOString(),
        status: 'DELIVERED',
      }]);
      await storeDocument(tx, ctx.vault, registeredMailId, mail.document.content);
      await deliverIntoEbox(tx, delivery, registeredMailId);
      await insertRows(tx, 'proofs', [
        proofRow(sendProofId, registeredMailId, 'SendProof', sendProof, receivedAt),
        proofRow(deliveryProofId, registeredMailId, 'DeliveryProof', deliveryProof, delivery.deliveredAt),
      ]);
      // The sender chose a copy of each send-proof in its own enterprise eBox (a notice, logged there).
      if (sender.sendProofCopies) {
        const copy = { senderEnterpriseNumber: sender.enterpriseNumber, senderReference: mail.senderReference, registeredMailId, sendProofId, sendProof, at: delivery.deliveredAt };
        await copySendProof(tx, ctx, copy);
      }
      await ctx.audit.appendIn(tx, [
        acceptedRecord(request, registeredMailId, mail.recipient, sendProofId),
        deliveryRecord(request, registeredMailId, mail.recipient, deliveryProofId, delivery.deliveredAt),
      ]);
    });
  } catch (err) {
    // A concurrent request with the same SenderReference won the race: answer as for a retry.
    if (isUniqueViolation(err, 'registered_mails')) {
      const raced = await answerForEarlierSubmission(ctx, request, mail, submissionFingerprint);
      if (raced) return raced;
    }
    throw err;
  }

  // 6. Only now, with everything durably stored, the send-proof goes out.
  return renderSendRegisteredMailResponse({ registeredMailId, submissionTime: receivedAt, sendProof });
}

/** The original answer when this sender already used this SenderReference, DuplicateReference when for other content. */
async function answerForEarlierSubmission(
  ctx: ServiceContext,
  request: AuthenticatedRequest,
  mail: SendRegisteredMailRequest,
  submissionFingerprint: string,
): Promise<string | undefined> {
  // Plain SQL: every send asks, and almost always hears that there is none.
  const [existing] = await statementsOf(ctx.db).rows<{ id: string; submission_fingerprint: string; submission_time: string }>(
    'select id, submission_fingerprint, submission_time from registered_mails where sender_enterprise_number = ? and sender_reference = ? limit 1',
    [request.sender.enterpriseNumber, mail.senderReference],
  );
  if (!existing) return undefined;
  if (existing.submission_fingerprint !== submissionFingerprint) {
    throw new EpostError(
      'DuplicateReference',
      `SenderReference "${mail.senderReference}" was already used for registered mail ${existing.id} with different content`,
    );
  }
  const proof = await ctx.db('proofs').where({ registered_mail_id: existing.id, kind: 'SendProof' }).first('sealed_xml');
  await ctx.db.transaction(async (trx) => {
    await recordReplayKey(statementsOf(trx), request.verified);
    await ctx.audit.append(trx, { ...acceptedRecord(request, existing.id, mail.recipient), details: { idempotentRetry: true } });
  });
  return renderSendRegisteredMailResponse({
    registeredMailId: existing.id,
    submissionTime: new Date(existing.submission_time),
    sendProof: Buffer.from(proof.sealed_xml),
  });
}

/** What identifies a submission's content, so that a retry can be told from a reuse of the reference. */
function fingerprintOf(mail: SendRegisteredMailRequest): string {
  const identity = [
    mail.recipient.kind,
    mail.recipient.id,
    mail.subject,
    mail.language ?? '',
    mail.document.fileName,
    mail.document.mimeType,
    mail.document.digestSha256.toString('base64'),
  ];
  return hash('sha256', JSON.stringify(identity), 'hex');
}

/** The processing record of an accepted send (or of its idempotent retry), with the signed request attached. */
function acceptedRecord(request: AuthenticatedRequest, registeredMailId: string, recipient: { kind: string; id: string }, sendProofId?: string): ProcessingStep {
  return {
    operation: 'SendRegisteredMail',
    outcome: 'accepted',
    at: request.receivedAt,
    responsible: request.sender.enterpriseNumber,
    executor: request.sender.certificateSubject,
    executorFingerprint: request.sender.certificateFingerprintSha256,
    registeredMailId,
    recipient: recipientKey(recipient),
    evidenceId: sendProofId,
    payload: request.raw,
  };
}

/** The delivery into the eBox: executed by ePost on the sender's behalf, evidenced by the delivery proof. */
function deliveryRecord(
  request: AuthenticatedRequest,
  registeredMailId: string,
  recipient: { kind: string; id: string },
  deliveryProofId: string,
  deliveredAt: Date,
): ProcessingStep {
  return {
    operation: 'DeliverIntoEbox',
    outcome: 'completed',
    at: deliveredAt,
    responsible: request.sender.enterpriseNumber,
    executor: `${EPOST} eBox delivery`,
    registeredMailId,
    recipient: recipientKey(recipient),
    evidenceId: deliveryProofId,
  };
}

function proofRow(id: string, registeredMailId: string, kind: string, sealed: Buffer, createdAt: Date) {
  return { id, registered_mail_id: registeredMailId, kind, sealed_xml: sealed, digest_sha256: sha256Base64(sealed), created_at: createdAt.toISOString() };
}

function sha256Base64(data: Buffer): string {
  return hash('sha256', data, 'base64');
}
