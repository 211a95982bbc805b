// What `npm run bench` counts as a send must be a complete registered send, not merely an answer:
// after its levels, the bench checks the database the service wrote. Every acknowledged send is a
// stored mail with its encrypted document, its eBox entry, its send-proof and delivery proof, and the
// two steps of the processing log (the accepted request, with the signed request attached, and the
// delivery); a sample of the send-proofs handed out are the stored ones and verify (seal, chain to
// the anchor, RFC 3161 token) with the delivery proof that follows them; and the processing log
// verifies against its signed tree heads. The other way round, a document, eBox entry or proof
// without its mail, the foreign keys refuse on both backends: a partial send can only show as a
// mail that lacks something.
import { verifyLog, type LogVerification, type TreeHeadTrust } from '../app/audit/index.js';
import { verifyEvidence, verifyEvidenceChain } from '../app/proofs/index.js';
import { statementsOf, type DataVault, type Database } from '../app/storage/index.js';

/** The answers of the sends the client saw acknowledged: every mail id, and the send-proof of some. */
export class AcknowledgedSends {
  readonly ids = new Set<string>();
  readonly sample: Array<{ registeredMailId: string; sendProof: Buffer }> = [];

  /** Keeps the send-proof of one acknowledged send in `sampleEvery`. */
  constructor(private readonly sampleEvery = 400) {}

  /** Records an answer; true when it acknowledges a send (a RegisteredMailId and a SendProof). */
  record(responseXml: string): boolean {
    const id = /RegisteredMailId>([^<]+)</.exec(responseXml)?.[1];
    const sendProof = /SendProof>([^<]+)</.exec(responseXml)?.[1];
    if (!id || !sendProof) return false;
    if (this.ids.size % this.sampleEvery === 0) this.sample.push({ registeredMailId: id, sendProof: Buffer.from(sendProof, 'base64') });
    this.ids.add(id);
    return true;
  }
}

export interface CompletenessReport {
  acknowledged: number;
  storedMails: number;
  /** Acknowledged sends with no stored mail. */
  missing: string[];
  /** Stored mails that lack a companion, with what they lack. */
  incomplete: Array<{ registeredMailId: string; lacking: string[] }>;
  /** Stored mails whose acknowledgement the client did not see (a send that failed after its commit). */
  unacknowledged: number;
  /** Sampled mails whose send-proof and delivery proof verified. */
  proofsVerified: number;
  proofProblems: string[];
  log: LogVerification;
  complete: boolean;
}

/** The companions of each stored mail, counted in one query. */
const COMPANIONS = `
  select m.id,
    (select count(*) from documents d where d.registered_mail_id = m.id) as documents,
    (select count(*) from ebox_messages e where e.registered_mail_id = m.id) as ebox_entries,
    (select count(*) from proofs p where p.registered_mail_id = m.id and p.kind = 'SendProof') as send_proofs,
    (select count(*) from proofs p where p.registered_mail_id = m.id and p.kind = 'DeliveryProof') as delivery_proofs,
    (select count(*) from audit_records r where r.registered_mail_id = m.id and r.operation = 'SendRegisteredMail' and r.outcome = 'accepted') as accepted_steps,
    (select count(*) from audit_records r where r.registered_mail_id = m.id and r.operation = 'DeliverIntoEbox') as delivery_steps,
    (select count(*) from audit_payloads a where a.registered_mail_id = m.id) as signed_requests
  from registered_mails m`;

const EXPECTED: Array<[column: string, what: string]> = [
  ['documents', 'its encrypted document'],
  ['ebox_entries', 'its eBox entry'],
  ['send_proofs', 'its send-proof'],
  ['delivery_proofs', 'its delivery proof'],
  ['accepted_steps', 'the logged acceptance'],
  ['delivery_steps', 'the logged delivery'],
  ['signed_requests', 'the signed request in the log'],
];

export interface CompletenessOptions {
  trust: TreeHeadTrust;
  /** With the data key, the log's payloads (the signed requests) are decrypted and their digests checked too. */
  vault?: DataVault;
}

/** Checks the database a benchmarked service wrote against what its client saw acknowledged. */
export async function checkCompleteness(db: Database, acknowledged: AcknowledgedSends, options: CompletenessOptions): Promise<CompletenessReport> {
  const mails = await statementsOf(db).rows<Record<string, unknown> & { id: string }>(COMPANIONS);
  const stored = new Set(mails.map((m) => m.id));
  const missing = [...acknowledged.ids].filter((id) => !stored.has(id));
  const incomplete = mails
    .map((m) => ({ registeredMailId: m.id, lacking: EXPECTED.filter(([column]) => Number(m[column]) !== 1).map(([, what]) => what) }))
    .filter((m) => m.lacking.length > 0);

  const proofProblems: string[] = [];
  let proofsVerified = 0;
  for (const { registeredMailId, sendProof } of acknowledged.sample) {
    try {
      const kept = await db('proofs').where({ registered_mail_id: registeredMailId }).select('kind', 'sealed_xml');
      const bytesOf = (kind: string) => kept.find((p: { kind: string }) => p.kind === kind)?.sealed_xml as Uint8Array | undefined;
      const storedSendProof = bytesOf('SendProof');
      const deliveryProof = bytesOf('DeliveryProof');
      if (!storedSendProof || !deliveryProof) throw new Error('its proofs are not stored');
      if (!Buffer.from(storedSendProof).equals(sendProof)) throw new Error('the stored send-proof is not the one handed out');
      const send = await verifyEvidence(sendProof, options.trust.anchorsPem, options.trust.intermediatesPem);
      const delivery = await verifyEvidence(Buffer.from(deliveryProof), options.trust.anchorsPem, options.trust.intermediatesPem);
      if (send.facts.registeredMailId !== registeredMailId) throw new Error(`the send-proof is of mail ${send.facts.registeredMailId}`);
      verifyEvidenceChain([
        { bytes: sendProof, facts: send.facts, name: 'the send-proof' },
        { bytes: Buffer.from(deliveryProof), facts: delivery.facts, name: 'the delivery proof' },
      ]);
      proofsVerified++;
    } catch (err) {
      proofProblems.push(`${registeredMailId}: ${(err as Error).message}`);
    }
  }

  const log = await verifyLog(db, { trust: options.trust, vault: options.vault });
  const unacknowledged = mails.filter((m) => !acknowledged.ids.has(m.id)).length;
  return {
    acknowledged: acknowledged.ids.size,
    storedMails: mails.length,
    missing,
    incomplete,
    unacknowledged,
    proofsVerified,
    proofProblems,
    log,
    complete: missing.length === 0 && incomplete.length === 0 && proofProblems.length === 0 && log.ok,
  };
}

