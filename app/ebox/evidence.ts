// The evidence an eBox produces: ContentHandover when a registered mail's document is first opened,
// and its expiry (ContentHandoverFailure, reason Expired) when it leaves the eBox unopened. Each
// follows the mail's consignment evidence (the delivery proof) and is sealed and timestamped by the
// proofs code; these two functions are the only places the eBox asks for evidence.
import { EpostError } from '../errors/index.js';
import { timeOrderedId } from '../identifiers/index.js';
import { pkiLayout, readPemDirectory } from '../pki/index.js';
import { EXPIRY_REASON, evidenceOfMail, exportEvidenceBundle, followingEvidence, renderReproduction, storageKindOf } from '../proofs/index.js';
import type { Database } from '../storage/index.js';
import type { EboxContext } from './context.js';

/** The proofs-table kinds of the evidences the eBox stores (one of each per mail at most). */
export const HANDOVER_KIND = storageKindOf('ContentHandover');
export const EXPIRY_KIND = storageKindOf('ContentHandoverFailure');
const CONSIGNMENT_KIND = storageKindOf('ContentConsignment');

export interface SealedEvidence {
  evidenceId: string;
  sealed: Buffer;
}

async function consignmentOf(db: Database, registeredMailId: string): Promise<Buffer> {
  const row = await db('proofs').where({ registered_mail_id: registeredMailId }).where({ kind: CONSIGNMENT_KIND }).first('sealed_xml');
  if (!row) throw new EpostError('ServiceUnavailable', 'The consignment evidence of this registered mail cannot be read');
  return Buffer.from(row.sealed_xml);
}

/** ContentHandover: the recipient (or whoever reads for them) opened the document at `at`. */
export async function sealHandoverEvidence(ctx: Pick<EboxContext, 'db' | 'sealer'>, registeredMailId: string, at: Date): Promise<SealedEvidence> {
  const evidenceId = timeOrderedId(at);
  const previous = await consignmentOf(ctx.db, registeredMailId);
  const sealed = await ctx.sealer.sealEvidence(followingEvidence(previous, { event: 'ContentHandover', evidenceId, eventTime: at }));
  return { evidenceId, sealed };
}

/** The mail left the eBox unopened at `at`, its retention over. */
export async function sealExpiryEvidence(
  ctx: Pick<EboxContext, 'db' | 'sealer'>,
  registeredMailId: string,
  at: Date,
  expiresAt: string,
): Promise<SealedEvidence> {
  const evidenceId = timeOrderedId(at);
  const previous = await consignmentOf(ctx.db, registeredMailId);
  const sealed = await ctx.sealer.sealEvidence(
    followingEvidence(previous, {
      event: 'ContentHandoverFailure',
      evidenceId,
      eventTime: at,
      reasons: [{ code: EXPIRY_REASON, text: `The registered mail expired unopened in the eBox at ${expiresAt}` }],
    }),
  );
  return { evidenceId, sealed };
}

/**
 * The readable PDF reproduction of a mail's evidences (the proofs code's bundle, verified and
 * rendered), for a reader who may see the mail; the document itself is not embedded.
 */
export async function reproductionOf(ctx: Pick<EboxContext, 'db' | 'sealer' | 'config'>, registeredMailId: string): Promise<Buffer> {
  const layout = pkiLayout(ctx.config.certsDir);
  const pems = (dir: string) => readPemDirectory(dir).map((c) => c.toString('pem'));
  const anchorsPem = pems(layout.anchorsDir);
  const intermediatesPem = pems(layout.intermediatesDir);
  const evidences = await evidenceOfMail(ctx.db, registeredMailId);
  const bundle = await exportEvidenceBundle({ evidences, anchorsPem, intermediatesPem, sealer: ctx.sealer });
  return renderReproduction(bundle, anchorsPem, { intermediatesPem });
}
