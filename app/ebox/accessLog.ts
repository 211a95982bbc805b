// Every look into an eBox leaves a processing record: who read (the reader's certificate), in which
// capacity and, for a mandatary, under which mandate, what (eBox, message, registered mail), when,
// and how it ended. Refusals are recorded too. One function, so the log's API is called in one place.
import type { AuditOperation } from '../audit/index.js';
import type { Database } from '../storage/index.js';
import type { EboxContext } from './context.js';
import type { EboxMessage } from './messages.js';
import type { EboxReader } from './readers.js';
import { mandateFor, type EboxAddress, type ReaderCapacity, type ReadingRight } from './rights.js';

export interface EboxAccess {
  operation: Extract<AuditOperation, 'ListEboxMessages' | 'ReadEboxMessage' | 'DownloadDocument' | 'FetchProof' | 'AdministrativeChange'>;
  outcome: 'completed' | 'refused' | 'failed';
  /** The reader, when a certificate named one. */
  reader?: EboxReader | undefined;
  /** The certificate presented when it named no reader. */
  presented?: { subject: string; fingerprint: string } | undefined;
  eBox?: EboxAddress | undefined;
  capacity?: ReaderCapacity | undefined;
  /** The mandate relied upon (mandataries): one per message, or every one in the scope for a listing. */
  mandateIds?: string[] | undefined;
  messageId?: string | undefined;
  registeredMailId?: string | undefined;
  /** The sender organisation of the registered mail concerned: responsible for it. */
  senderEnterpriseNumber?: string | undefined;
  evidenceId?: string | undefined;
  disturbance?: { code: string; reason: string } | undefined;
  /** Further flat facts: the filters of a listing, the visibility set, the proof fetched. */
  details?: Record<string, string | number | boolean | null> | undefined;
}

/** Writes the record with `db` (the caller's transaction when the access changes something). */
export async function recordEboxAccess(db: Database, ctx: Pick<EboxContext, 'audit'>, access: EboxAccess): Promise<void> {
  await ctx.audit.append(
    db,
    {
      operation: access.operation,
      outcome: access.outcome,
      responsible: access.senderEnterpriseNumber ?? 'ePost',
      executor: access.reader?.certificateSubject ?? access.presented?.subject,
      executorFingerprint: access.reader?.certificateFingerprint ?? access.presented?.fingerprint,
      registeredMailId: access.registeredMailId,
      recipient: access.eBox ? `${access.eBox.kind}:${access.eBox.ownerId}` : undefined,
      evidenceId: access.evidenceId,
      disturbance: access.disturbance,
      details: {
        reader: access.reader?.ssin ?? null,
        capacity: access.capacity ?? null,
        mandateIds: access.mandateIds && access.mandateIds.length > 0 ? access.mandateIds.join(',') : null,
        messageId: access.messageId ?? null,
        ...access.details,
      },
    },
  );
}

/**
 * Who looks at which message, as its records name it: the mandate relied upon, and the one
 * responsible for the message (a registered mail's sender; ePost for its own notices).
 */
export function messageAccess(right: ReadingRight, message: EboxMessage): Pick<EboxAccess, 'reader' | 'eBox' | 'capacity' | 'mandateIds' | 'messageId' | 'registeredMailId' | 'senderEnterpriseNumber'> {
  const mandate = mandateFor(right, message.messageTypeId);
  return {
    reader: right.reader,
    eBox: right.eBox,
    capacity: right.capacity,
    mandateIds: mandate ? [mandate.id] : undefined,
    messageId: message.id,
    registeredMailId: message.registeredMailId ?? undefined,
    senderEnterpriseNumber: message.notice ? undefined : message.senderEnterpriseNumber,
  };
}
