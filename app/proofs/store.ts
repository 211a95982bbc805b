// Where a registered mail's evidences are kept (the `proofs` table) and how they come back out: in
// chain order, as a bundle, or as the readable PDF reproduction for the mail's sender.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { EpostError } from '../errors/index.js';
import { readEvidence } from './build.js';
import { exportEvidenceBundle, verifyEvidenceBundle } from './bundle.js';
import type { EvidenceEvent } from './model.js';
import { renderReproductionOf } from './reproduce.js';
import type { ProofSealer } from './seal.js';

/** A knex instance or a transaction. */
type Db = Knex | Knex.Transaction;

/** The storage kind of the two historical proofs keeps existing rows and queries valid. */
const STORAGE_KIND: Partial<Record<EvidenceEvent, string>> = { SubmissionAcceptance: 'SendProof', ContentConsignment: 'DeliveryProof' };

export function storageKindOf(event: EvidenceEvent): string {
  return STORAGE_KIND[event] ?? event;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('base64');

/**
 * Stores a sealed evidence under its registered mail (one evidence per event and mail: a second
 * ContentHandover, say, is refused by the table's unique key). The evidence id must be a UUID.
 */
export async function recordEvidence(db: Db, sealed: Buffer): Promise<void> {
  const facts = readEvidence(sealed.toString('utf8'));
  await db('proofs').insert({
    id: facts.evidenceId,
    registered_mail_id: facts.registeredMailId,
    kind: storageKindOf(facts.event),
    sealed_xml: sealed,
    digest_sha256: sha256(sealed),
    created_at: facts.eventTime.toISOString(),
  });
}

/** The sealed evidences of a mail in chain order (each one follows the one before it). */
export async function evidenceOfMail(db: Db, registeredMailId: string): Promise<Buffer[]> {
  const rows: Array<{ sealed_xml: Buffer | Uint8Array; created_at: string }> = await db('proofs')
    .where({ registered_mail_id: registeredMailId })
    .orderBy('created_at', 'asc')
    .select('sealed_xml', 'created_at');
  const items = rows.map((row) => {
    const bytes = Buffer.from(row.sealed_xml);
    let previous: string | undefined | null;
    try {
      previous = readEvidence(bytes.toString('utf8')).previous?.digestSha256;
    } catch {
      previous = null; // a proof of the format before evidences: no link to follow
    }
    return { bytes, digest: sha256(bytes), previous };
  });
  if (items.some((i) => i.previous === null)) return items.map((i) => i.bytes); // time order is all there is
  // Follow the links from the evidence that follows none; anything left over (never expected) goes last by time.
  const ordered: typeof items = [];
  let next = items.find((i) => i.previous === undefined);
  while (next && !ordered.includes(next)) {
    ordered.push(next);
    const digest: string = next.digest;
    next = items.find((i) => i.previous === digest);
  }
  for (const item of items) if (!ordered.includes(item)) ordered.push(item);
  return ordered.map((i) => i.bytes);
}

/** The last evidence of a mail: the one the next evidence must follow. */
export async function latestEvidenceOfMail(db: Db, registeredMailId: string): Promise<Buffer | undefined> {
  return (await evidenceOfMail(db, registeredMailId)).at(-1);
}

export interface SenderEvidenceRequest {
  db: Db;
  /** Seals the bundle manifest. */
  sealer: ProofSealer;
  /** The authenticated sender: only the mail's own sender gets anything. */
  senderEnterpriseNumber: string;
  registeredMailId: string;
  /** Anchors the evidences are verified against (the ePost root; and an external TSA's, if any). */
  anchorsPem: string[];
  intermediatesPem?: string[];
  /** The decrypted document, when the bundle should carry it. */
  document?: Buffer;
}

async function evidenceOfSendersMail(req: SenderEvidenceRequest): Promise<Buffer[]> {
  const mail = await req.db('registered_mails').where({ id: req.registeredMailId, sender_enterprise_number: req.senderEnterpriseNumber }).first('id');
  // Another sender's mail gets the same answer as an unknown id: its existence is not revealed.
  if (!mail) throw new EpostError('UnknownRegisteredMail', 'No registered mail of this sender has that identifier');
  return evidenceOfMail(req.db, mail.id);
}

/** The evidence bundle of one of the sender's registered mails (application/vnd.epost.evidence-bundle+zip). */
export async function evidenceBundleForSender(req: SenderEvidenceRequest): Promise<{ bundle: Buffer; fileName: string }> {
  const evidences = await evidenceOfSendersMail(req);
  const bundle = await exportEvidenceBundle({
    evidences,
    sealer: req.sealer,
    anchorsPem: req.anchorsPem,
    ...(req.intermediatesPem ? { intermediatesPem: req.intermediatesPem } : {}),
    ...(req.document ? { document: req.document } : {}),
  });
  return { bundle, fileName: `evidence-bundle-${req.registeredMailId}.zip` };
}

/** The PDF reproduction (application/pdf) of one of the sender's registered mails, its bundle attached. */
export async function reproductionForSender(req: SenderEvidenceRequest): Promise<{ pdf: Buffer; fileName: string }> {
  const { bundle } = await evidenceBundleForSender(req);
  const report = await verifyEvidenceBundle(bundle, req.anchorsPem, req.intermediatesPem ? { intermediatesPem: req.intermediatesPem } : {});
  return { pdf: await renderReproductionOf(report, bundle), fileName: `registered-mail-${req.registeredMailId}.pdf` };
}
