// A sender fetches the proofs of its own registered mail. Anyone else gets the same answer as for an
// unknown id, so the existence of another sender's mail is never revealed.
import { authorise } from '../access/index.js';
import { inclusionProofJson, recipientKey } from '../audit/index.js';
import { EpostError } from '../errors/index.js';
import { evidenceOfMail } from '../proofs/index.js';
import { parseGetProofOfDelivery, renderGetProofOfDeliveryResponse } from '../soap/index.js';
import { statementsOf } from '../storage/index.js';
import type { ServiceContext } from './context.js';
import { recordReplayKey } from './replay.js';
import type { AuthenticatedRequest } from './sendRegisteredMail.js';

type MailStatus = 'SUBMITTED' | 'DELIVERED' | 'READ' | 'FAILED';

export async function getProofOfDelivery(ctx: ServiceContext, request: AuthenticatedRequest): Promise<string> {
  const { sender } = request;
  authorise(sender, 'GetProofOfDelivery');
  const lookup = parseGetProofOfDelivery(request.verified.operation);

  const query = ctx.db('registered_mails').where({ sender_enterprise_number: sender.enterpriseNumber });
  if ('registeredMailId' in lookup) query.andWhere({ id: lookup.registeredMailId });
  else query.andWhere({ sender_reference: lookup.senderReference });
  const mail = await query.first('id', 'status', 'recipient_kind', 'recipient_id');
  if (!mail) throw new EpostError('UnknownRegisteredMail', 'No registered mail of this sender has that identifier');

  const proofs = await ctx.db('proofs').where({ registered_mail_id: mail.id }).select('id', 'kind', 'sealed_xml');
  const proofOf = (kind: string) => {
    const row = proofs.find((p) => p.kind === kind);
    return row ? Buffer.from(row.sealed_xml) : undefined;
  };
  const sendProof = proofOf('SendProof');
  if (!sendProof) throw new EpostError('ServiceUnavailable', 'The send-proof of this registered mail cannot be read');
  const deliveryProof = proofOf('DeliveryProof');
  const evidence = await evidenceOfMail(ctx.db, mail.id);
  // Each evidence whose log record a signed tree head already covers comes with its inclusion proof.
  const inclusionProofs: { evidenceId: string; proof: Buffer }[] = [];
  for (const { id } of proofs) {
    const proof = await ctx.audit.inclusionProofFor(id);
    if (proof) inclusionProofs.push({ evidenceId: id, proof: Buffer.from(JSON.stringify(inclusionProofJson(proof, id))) });
  }

  await ctx.db.transaction(async (trx) => {
    await recordReplayKey(statementsOf(trx), request.verified);
    await ctx.audit.append(trx, {
      operation: 'GetProofOfDelivery',
      outcome: 'accepted',
      at: request.receivedAt,
      responsible: sender.enterpriseNumber,
      executor: sender.certificateSubject,
      executorFingerprint: sender.certificateFingerprintSha256,
      registeredMailId: mail.id,
      recipient: recipientKey({ kind: mail.recipient_kind, id: mail.recipient_id }),
      details: { proofsReturned: proofs.map((p) => p.kind).sort().join(',') },
      payload: request.raw,
    });
  });
  return renderGetProofOfDeliveryResponse({
    status: mail.status as MailStatus,
    sendProof,
    ...(deliveryProof ? { deliveryProof } : {}),
    evidence,
    inclusionProofs,
  });
}
