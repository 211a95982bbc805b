// eBoxes: the citizen eBox of a person (by SSIN) and the enterprise eBox of an organisation (by
// enterprise number). An eBox comes into being with its first delivery.
import { randomUUID } from 'node:crypto';
import type { Recipient } from '../identifiers/index.js';
import type { Database } from '../storage/index.js';

export interface EboxDelivery {
  eBoxMessageId: string;
  eBox: { kind: Recipient['kind']; ownerId: string };
  deliveredAt: Date;
}

/** Plans a delivery (ids and time) so the delivery proof can be sealed before the one transaction stores it. */
export function planDelivery(recipient: Recipient, deliveredAt: Date): EboxDelivery {
  return { eBoxMessageId: randomUUID(), eBox: { kind: recipient.kind, ownerId: recipient.id }, deliveredAt };
}

/** Puts a registered mail into its recipient's eBox; runs inside the caller's transaction. */
export async function deliverIntoEbox(trx: Database, delivery: EboxDelivery, registeredMailId: string): Promise<void> {
  await trx('eboxes')
    .insert({ kind: delivery.eBox.kind, owner_id: delivery.eBox.ownerId, created_at: delivery.deliveredAt.toISOString() })
    .onConflict(['kind', 'owner_id'])
    .ignore();
  await trx('ebox_messages').insert({
    id: delivery.eBoxMessageId,
    ebox_kind: delivery.eBox.kind,
    ebox_owner_id: delivery.eBox.ownerId,
    registered_mail_id: registeredMailId,
    delivered_at: delivery.deliveredAt.toISOString(),
    read_at: null,
    visible: true,
  });
}

export interface EboxMessageSummary {
  id: string;
  registeredMailId: string;
  deliveredAt: string;
  readAt: string | null;
}

export async function listEboxMessages(db: Database, kind: Recipient['kind'], ownerId: string): Promise<EboxMessageSummary[]> {
  const rows = await db('ebox_messages').where({ ebox_kind: kind, ebox_owner_id: ownerId }).orderBy('delivered_at', 'desc');
  return rows.map((r) => ({ id: r.id, registeredMailId: r.registered_mail_id, deliveredAt: r.delivered_at, readAt: r.read_at }));
}
