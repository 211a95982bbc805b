// Opening is evidence. The first download of a registered mail's document marks the message read,
// the mail READ, and stores exactly one sealed ContentHandover evidence, all in one transaction that
// commits before a byte of the document leaves; every download is recorded with who read and, for a
// mandatary, under which mandate. Expiry is evidence too: a mail that leaves the eBox unopened gets a
// sealed ContentHandoverFailure (Expired). ePost's notices are no registered mails: opening or
// expiring one is recorded, without evidence (notices.ts).
import { EpostError } from '../errors/index.js';
import { recordEvidence } from '../proofs/index.js';
import { messageAccess, recordEboxAccess } from './accessLog.js';
import type { EboxContext } from './context.js';
import { sealExpiryEvidence, sealHandoverEvidence } from './evidence.js';
import { mailOf, readDocument, settleExpirationDates, type EboxMessage } from './messages.js';
import { expireDueNotices, openNotice } from './notices.js';
import type { ReadingRight } from './rights.js';

export interface OpenedDocument {
  content: Buffer;
  fileName: string;
  mimeType: string;
  /** The ContentHandover evidence this opening produced; undefined when the mail had been opened before. */
  handoverEvidenceId: string | undefined;
}

/** The document of a message the right shows; the first opening is handed over with evidence. */
export async function openDocument(ctx: EboxContext, right: ReadingRight, message: EboxMessage): Promise<OpenedDocument> {
  // A notice is no registered mail: reading it is recorded, but hands nothing over.
  if (message.notice) return openNotice(ctx, right, message);
  const registeredMailId = mailOf(message);
  const access = { operation: 'DownloadDocument' as const, ...messageAccess(right, message) };
  let content: Buffer;
  try {
    content = await readDocument(ctx, message);
  } catch (err) {
    const failure = err instanceof EpostError ? err : new EpostError('ServiceUnavailable', 'The document could not be read', err);
    await recordEboxAccess(ctx.db, ctx, { ...access, outcome: 'failed', disturbance: { code: failure.code, reason: failure.message } });
    throw failure;
  }
  const opened = { content, fileName: message.document.fileName, mimeType: message.document.mimeType };

  if (message.readAt === null) {
    const at = ctx.now();
    // Sealing calls the timestamping authority: done before the transaction, discarded if another opening wins.
    const evidence = await sealHandoverEvidence(ctx, registeredMailId, at);
    const first = await ctx.db.transaction(async (trx) => {
      const marked = await trx('ebox_messages').where({ id: message.id }).whereNull('read_at').update({ read_at: at.toISOString() });
      if (marked === 0) return false;
      await recordEvidence(trx, evidence.sealed);
      await trx('registered_mails').where({ id: registeredMailId }).update({ status: 'READ' });
      await recordEboxAccess(trx, ctx, { ...access, outcome: 'completed', evidenceId: evidence.evidenceId, details: { firstOpening: true } });
      return true;
    });
    if (first) return { ...opened, handoverEvidenceId: evidence.evidenceId };
  }
  await recordEboxAccess(ctx.db, ctx, { ...access, outcome: 'completed' });
  return { ...opened, handoverEvidenceId: undefined };
}

/**
 * Ends the messages whose expiration date has passed: each leaves every listing and, if it was never
 * opened, gets its expiry evidence. Meant to run periodically (and safe to run on several instances).
 */
export async function expireDueMessages(ctx: EboxContext): Promise<number> {
  await settleExpirationDates(ctx);
  const now = ctx.now();
  const due = await ctx
    .db('ebox_messages as m')
    .join('registered_mails as r', 'r.id', 'm.registered_mail_id')
    .whereNull('m.expired_at')
    .where('m.expires_at', '<=', now.toISOString())
    .orderBy('m.expires_at')
    .limit(200)
    .select('m.id', 'm.registered_mail_id', 'm.ebox_kind', 'm.ebox_owner_id', 'm.expires_at', 'm.read_at', 'r.sender_enterprise_number');
  let expired = 0;
  for (const m of due) {
    // An opened mail was handed over: its expiry is recorded, but it is no handover failure.
    const evidence = m.read_at === null ? await sealExpiryEvidence(ctx, m.registered_mail_id, now, m.expires_at) : undefined;
    const done = await ctx.db.transaction(async (trx) => {
      const marked = await trx('ebox_messages').where({ id: m.id }).whereNull('expired_at').update({ expired_at: now.toISOString() });
      if (marked === 0) return false;
      if (evidence) await recordEvidence(trx, evidence.sealed);
      await ctx.audit.append(trx, {
        operation: 'ProduceEvidence',
        outcome: 'completed',
        at: now,
        responsible: m.sender_enterprise_number,
        executor: 'ePost eBox expiry',
        registeredMailId: m.registered_mail_id,
        recipient: `${m.ebox_kind}:${m.ebox_owner_id}`,
        evidenceId: evidence?.evidenceId,
        details: { event: 'expiry', messageId: m.id, expiresAt: m.expires_at, opened: m.read_at !== null },
      });
      return true;
    });
    if (done) expired += 1;
  }
  return expired + (await expireDueNotices(ctx));
}
