// A sender fetches the proofs of its own registered mail. Anyone else gets the same answer as for an
// unknown id, so the existence of another sender's mail is never revealed.
import { authorise } from '../access/index.js';
import { logRequest } from '../audit/index.js';
import { EpostError } from '../errors/index.js';
import { parseGetProofOfDelivery, renderGetProofOfDeliveryResponse } from '../soap/index.js';
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
  const mail = await query.first('id', 'status');
  if (!mail) throw new EpostError('UnknownRegisteredMail', 'No registered mail of this sender has that identifier');

  const proofs = await ctx.db('proofs').where({ registered_mail_id: mail.id }).select('kind', 'sealed_xml');
  const proofOf = (kind: string) => {
    const row = proofs.find((p) => p.kind === kind);
    return row ? Buffer.from(row.sealed_xml) : undefined;
  };
  const sendProof = proofOf('SendProof');
  if (!sendProof) throw new EpostError('ServiceUnavailable', 'The send-proof of this registered mail cannot be read');
  const deliveryProof = proofOf('DeliveryProof');

  await ctx.db.transaction(async (trx) => {
    await recordReplayKey(trx, request.verified);
    await logRequest(
      trx,
      ctx.vault,
      {
        receivedAt: request.receivedAt,
        operation: 'GetProofOfDelivery',
        outcome: 'accepted',
        certificateSubject: sender.certificateSubject,
        certificateFingerprint: sender.certificateFingerprintSha256,
        senderEnterpriseNumber: sender.enterpriseNumber,
        registeredMailId: mail.id,
      },
      request.raw,
    );
  });
  return renderGetProofOfDeliveryResponse({
    status: mail.status as MailStatus,
    sendProof,
    ...(deliveryProof ? { deliveryProof } : {}),
  });
}
