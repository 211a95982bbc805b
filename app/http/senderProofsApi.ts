// The sender's own proofs over HTTPS, for a person at the institution or an archive system: the
// evidence bundle of one registered mail (ZIP, verifiable offline) and its readable reproduction
// (PDF with the evidence attached). The caller authenticates with its registered sender
// certificate on the client-certificate listener; another sender's mail is answered as unknown.
import express, { type Request, type Response } from 'express';
import { senderForCertificate } from '../access/index.js';
import { EpostError } from '../errors/index.js';
import { pkiLayout, readPemTexts } from '../pki/index.js';
import { evidenceBundleForSender, reproductionForSender } from '../proofs/index.js';
import type { ServiceContext } from '../registeredmail/context.js';
import { readDocument } from '../storage/index.js';
import { callerOf, problemFromError } from './edge.js';

export const SENDER_PROOFS_PATH = '/proofs';

export function createSenderProofsApi(ctx: ServiceContext): express.Router {
  const router = express.Router();
  const layout = pkiLayout(ctx.config.certsDir);

  const serve = (kind: 'bundle' | 'reproduction') => async (req: Request, res: Response) => {
    const receivedAt = ctx.now();
    const caller = callerOf(req);
    const registeredMailId = String(req.params.registeredMailId);
    try {
      if (!caller) throw new EpostError('FailedAuthentication', 'Connect to the client-certificate port with your registered sender certificate');
      const sender = await senderForCertificate(ctx.db, caller.fingerprint, caller.subject);
      const withDocument = req.query.document === 'true';
      const request = {
        db: ctx.db,
        sealer: ctx.sealer,
        senderEnterpriseNumber: sender.enterpriseNumber,
        registeredMailId,
        anchorsPem: readPemTexts(layout.anchorsDir),
        intermediatesPem: readPemTexts(layout.intermediatesDir),
        ...(withDocument ? { document: await documentOf(ctx, registeredMailId, sender.enterpriseNumber) } : {}),
      };
      const answer =
        kind === 'bundle'
          ? await evidenceBundleForSender(request).then((r) => ({ bytes: r.bundle, fileName: r.fileName, type: 'application/zip' }))
          : await reproductionForSender(request).then((r) => ({ bytes: r.pdf, fileName: r.fileName, type: 'application/pdf' }));
      await ctx.audit.append(ctx.db, {
        operation: 'FetchProof',
        outcome: 'accepted',
        at: receivedAt,
        responsible: sender.enterpriseNumber,
        executor: caller.subject,
        executorFingerprint: caller.fingerprint,
        registeredMailId,
        details: { export: kind, withDocument },
      });
      res.type(answer.type).set('Content-Disposition', `attachment; filename="${answer.fileName}"`).send(answer.bytes);
    } catch (err) {
      const refusal = err instanceof EpostError ? err : undefined;
      await ctx.audit
        .append(ctx.db, {
          operation: 'FetchProof',
          outcome: 'refused',
          at: receivedAt,
          executor: caller?.subject,
          executorFingerprint: caller?.fingerprint,
          disturbance: { code: refusal?.code ?? 'ServiceUnavailable', reason: refusal?.message ?? 'unexpected error' },
          details: { export: kind, registeredMailId },
        })
        .catch(() => undefined);
      problemFromError(res, err);
    }
  };

  router.get('/:registeredMailId/bundle', serve('bundle'));
  router.get('/:registeredMailId/reproduction', serve('reproduction'));
  return router;
}

/** The decrypted document of one of this sender's mails (the same refusal for others' and unknown ids). */
async function documentOf(ctx: ServiceContext, registeredMailId: string, senderEnterpriseNumber: string): Promise<Buffer> {
  const mail = await ctx.db('registered_mails').where({ id: registeredMailId, sender_enterprise_number: senderEnterpriseNumber }).first('digest_sha256');
  const content = mail ? await readDocument(ctx.db, ctx.vault, registeredMailId, mail.digest_sha256) : undefined;
  if (!content) throw new EpostError('UnknownRegisteredMail', 'No registered mail of this sender with a kept document has that identifier');
  return content;
}
