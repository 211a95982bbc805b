// Batches: delivered registered mails of a batch-channel enterprise, assembled into a sealed ZIP.
// A batch is decided in one transaction (its mails, its sequence number, the notice in the eBox and
// the log records); the file is written after the commit and can be rebuilt byte for byte from what
// was stored, so an interruption anywhere is resumed by the next sweep. Pick-up is acknowledged with
// the SHA-256 of the file received, and produces each mail's handover evidence exactly once.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { EPOST } from '../audit/index.js';
import { postNotice, sealHandoverEvidence } from '../ebox/index.js';
import { EpostError } from '../errors/index.js';
import { timeOrderedId } from '../identifiers/index.js';
import { pkiLayout, readPemTexts } from '../pki/index.js';
import { evidenceOfMail, exportEvidenceBundle, recordEvidence } from '../proofs/index.js';
import { isUniqueViolation, readDocument, statementsOf, type Database } from '../storage/index.js';
import {
  BATCH_FORMAT,
  documentPathOf,
  evidenceBundlePathOf,
  sealBatchManifest,
  writeBatchArchive,
  type BatchContent,
  type BatchManifestJson,
  type BatchMailEntry,
} from './archive.js';
import type { BatchContext } from './context.js';
import { batchChannelOf, listBatchChannels, type BatchChannelSubscription } from './subscriptions.js';

export interface BatchSummary {
  batchId: string;
  enterpriseNumber: string;
  sequence: number;
  createdAt: string;
  mailCount: number;
  fileName: string;
  archiveSha256: string;
  archiveSize: number;
  writtenTo: string | null;
  pickedUpAt: string | null;
  pickedUpBy: string | null;
}

function summaryOf(row: Record<string, any>): BatchSummary {
  return {
    batchId: row.id,
    enterpriseNumber: row.enterprise_number,
    sequence: Number(row.sequence),
    createdAt: row.created_at,
    mailCount: Number(row.mail_count),
    fileName: row.file_name,
    archiveSha256: row.archive_sha256,
    archiveSize: Number(row.archive_size),
    writtenTo: row.written_to ?? null,
    pickedUpAt: row.picked_up_at ?? null,
    pickedUpBy: row.picked_up_by ?? null,
  };
}

export function batchFileName(enterpriseNumber: string, sequence: number): string {
  return `epost-batch-${enterpriseNumber}-${String(sequence).padStart(6, '0')}.zip`;
}

const sha256Hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** The decrypted document of a mail, checked against the digest its sender signed; undefined once purged. */
function documentOf(ctx: BatchContext, registeredMailId: string, digestSha256: string): Promise<Buffer | undefined> {
  return readDocument(ctx.db, ctx.vault, registeredMailId, digestSha256);
}

/** Delivered mails of the enterprise since it chose the channel and in no batch yet, oldest first. */
function mailsAwaitingBatch(db: Database, subscription: BatchChannelSubscription, limit: number) {
  return db('ebox_messages as m')
    .join('registered_mails as r', 'r.id', 'm.registered_mail_id')
    .join('sender_organisations as o', 'o.enterprise_number', 'r.sender_enterprise_number')
    // A mail whose document was purged at the end of its retention has nothing left to hand over.
    .join('documents as d', 'd.registered_mail_id', 'r.id')
    .leftJoin('batch_mails as b', 'b.registered_mail_id', 'm.registered_mail_id')
    .whereNull('b.registered_mail_id')
    .whereNull('m.expired_at')
    .where({ 'm.ebox_kind': 'enterprise', 'm.ebox_owner_id': subscription.enterpriseNumber })
    .where('m.delivered_at', '>=', subscription.chosenAt)
    .orderBy([{ column: 'm.delivered_at' }, { column: 'm.id' }])
    .limit(limit)
    .select(
      'm.id as message_id',
      'm.delivered_at',
      'r.id',
      'r.sender_reference',
      'r.sender_enterprise_number',
      'o.name as sender_name',
      'r.subject',
      'r.language',
      'r.file_name',
      'r.mime_type',
      'r.size',
      'r.digest_sha256',
      'r.submission_time',
    );
}

/**
 * Assembles the next batch of one enterprise, if any mail waits; returns it. Safe on several
 * instances: a mail in two batches or two batches with one sequence number violate a unique key,
 * and the loser's transaction leaves nothing behind.
 */
export async function assembleBatch(ctx: BatchContext, enterpriseNumber: string): Promise<BatchSummary | undefined> {
  const subscription = await batchChannelOf(ctx, enterpriseNumber);
  if (!subscription) return undefined;
  const rows = await mailsAwaitingBatch(ctx.db, subscription, ctx.config.batchMaxMails);
  if (rows.length === 0) return undefined;

  const layout = pkiLayout(ctx.config.certsDir);
  const anchorsPem = readPemTexts(layout.anchorsDir);
  const intermediatesPem = readPemTexts(layout.intermediatesDir);
  const createdAt = ctx.now();
  const batchId = timeOrderedId(createdAt);
  const last = await ctx.db('batches').where({ enterprise_number: enterpriseNumber }).max({ n: 'sequence' }).first();
  const sequence = Number(last?.n ?? 0) + 1;

  // Everything sealed before the transaction: evidence bundles (verified on export) and the manifest.
  const content: BatchContent = { manifestJson: Buffer.alloc(0), mails: [] };
  const entries: BatchMailEntry[] = [];
  let bytes = 0;
  for (const r of rows) {
    // A batch is built in memory: it stops before its documents exceed the bound (one mail at least).
    bytes += Number(r.size);
    if (entries.length > 0 && bytes > ctx.config.batchMaxBytes) break;
    const document = await documentOf(ctx, r.id, r.digest_sha256);
    if (!document) continue;
    const evidences = await evidenceOfMail(ctx.db, r.id);
    const evidenceBundle = await exportEvidenceBundle({ evidences, anchorsPem, intermediatesPem, sealer: ctx.sealer, now: createdAt });
    const documentPath = documentPathOf(r.id, r.file_name);
    content.mails.push({ registeredMailId: r.id, documentPath, document, evidenceBundle });
    entries.push({
      registeredMailId: r.id,
      senderReference: r.sender_reference,
      sender: { enterpriseNumber: r.sender_enterprise_number, name: r.sender_name },
      subject: r.subject,
      language: r.language ?? null,
      submissionTime: r.submission_time,
      deliveredAt: r.delivered_at,
      eBoxMessageId: r.message_id,
      document: { path: documentPath, fileName: r.file_name, mimeType: r.mime_type, size: Number(r.size), digestSha256: r.digest_sha256 },
      evidenceBundle: evidenceBundlePathOf(r.id),
    });
  }
  if (entries.length === 0) return undefined;
  const manifest: BatchManifestJson = {
    format: BATCH_FORMAT,
    batchId,
    sequence,
    createdAt: createdAt.toISOString(),
    recipient: { kind: 'enterprise', enterpriseNumber },
    mails: entries,
  };
  content.manifestJson = Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8');
  const sealedManifest = await sealBatchManifest(ctx.sealer, manifest, content);
  const archive = await writeBatchArchive(sealedManifest, content, createdAt);
  const fileName = batchFileName(enterpriseNumber, sequence);
  const recipient = `enterprise:${enterpriseNumber}`;

  try {
    await ctx.db.transaction(async (trx) => {
      await trx('batches').insert({
        id: batchId,
        enterprise_number: enterpriseNumber,
        sequence,
        created_at: createdAt.toISOString(),
        mail_count: entries.length,
        file_name: fileName,
        manifest_json: content.manifestJson,
        sealed_manifest: sealedManifest,
        archive_sha256: sha256Hex(archive),
        archive_size: archive.length,
      });
      await trx('batch_mails').insert(
        content.mails.map((m, position) => ({ batch_id: batchId, registered_mail_id: m.registeredMailId, position, evidence_bundle: m.evidenceBundle })),
      );
      const noticeId = await postNotice(statementsOf(trx), ctx.vault, {
        eBox: { kind: 'enterprise', ownerId: enterpriseNumber },
        kind: 'BatchAvailable',
        subject: {
          fr: `Lot ${sequence} : ${entries.length} envoi(s) recommandé(s) à retirer`,
          nl: `Batch ${sequence}: ${entries.length} aangetekende zending(en) klaar om op te halen`,
          de: `Stapel ${sequence}: ${entries.length} Einschreiben zur Abholung bereit`,
          en: `Batch ${sequence}: ${entries.length} registered mail(s) ready for pick-up`,
        },
        attachment: { fileName: fileName.replace(/\.zip$/, '.txt'), mimeType: 'text/plain', content: noticeText(manifest, fileName, sha256Hex(archive)) },
        batchId,
        at: createdAt,
      });
      await trx('batches').where({ id: batchId }).update({ notice_message_id: noticeId });
      await ctx.audit.append(
        trx,
        entries.map((e, position) => ({
          operation: 'AssembleBatch' as const,
          outcome: 'completed' as const,
          at: createdAt,
          responsible: e.sender.enterpriseNumber,
          executor: `${EPOST} batch channel`,
          registeredMailId: e.registeredMailId,
          recipient,
          details: { batchId, sequence, position, archiveSha256: sha256Hex(archive), noticeMessageId: noticeId },
        })),
      );
    });
  } catch (err) {
    // Another instance assembled these mails or took this sequence number first: nothing of ours stays.
    if (isUniqueViolation(err, 'batch_mails') || isUniqueViolation(err, 'batches')) return undefined;
    throw err;
  }
  return summaryOf((await ctx.db('batches').where({ id: batchId }).first())!);
}

/**
 * The notice's attachment: the batch and how to take it, in plain text. It names no mail: every
 * mandatary of the enterprise sees the notice, and a mandate may not cover every mail of the batch
 * (the batch itself is given only to whoever may see all of its mails).
 */
function noticeText(manifest: BatchManifestJson, fileName: string, archiveSha256: string): Buffer {
  const enterprise = manifest.recipient.enterpriseNumber;
  const lines = [
    `ePost batch ${manifest.sequence} for enterprise ${enterprise}: ${manifest.mails.length} registered mail(s), assembled ${manifest.createdAt}.`,
    '',
    `File: ${fileName} (SHA-256 ${archiveSha256}), in your outbox folder and at`,
    `  GET /batches/v1/enterprises/${enterprise}/batches/${manifest.batchId}`,
    'Its manifest.json lists the registered mails. Acknowledge its pick-up (this hands each mail over, with evidence) with',
    `  POST /batches/v1/enterprises/${enterprise}/batches/${manifest.batchId}/pickup  {"archiveSha256": "${archiveSha256}"}`,
    `or by writing the SHA-256 into ${fileName}.ack beside the file.`,
  ];
  return Buffer.from(lines.join('\n') + '\n', 'utf8');
}

/** Assembles batches for every batch-channel enterprise until no mail waits; returns the batches made. */
export async function assembleDueBatches(ctx: BatchContext): Promise<BatchSummary[]> {
  const made: BatchSummary[] = [];
  for (const subscription of await listBatchChannels(ctx)) {
    for (;;) {
      const batch = await assembleBatch(ctx, subscription.enterpriseNumber);
      if (!batch) break;
      made.push(batch);
    }
  }
  return made;
}

export async function listBatches(ctx: Pick<BatchContext, 'db'>, enterpriseNumber: string): Promise<BatchSummary[]> {
  const rows = await ctx.db('batches').where({ enterprise_number: enterpriseNumber }).orderBy('sequence', 'desc');
  return rows.map(summaryOf);
}

export async function findBatch(ctx: Pick<BatchContext, 'db'>, enterpriseNumber: string, batchId: string): Promise<BatchSummary | undefined> {
  const row = await ctx.db('batches').where({ enterprise_number: enterpriseNumber, id: batchId }).first();
  return row ? summaryOf(row) : undefined;
}

/** The message types of a batch's mails: a mandatary may take the batch only if its mandate covers them all. */
export async function messageTypesOfBatch(ctx: Pick<BatchContext, 'db'>, batchId: string): Promise<string[]> {
  const rows = await ctx.db('batch_mails as b').join('ebox_messages as m', 'm.registered_mail_id', 'b.registered_mail_id').where('b.batch_id', batchId).distinct('m.message_type_id');
  return rows.map((r: Record<string, any>) => String(r.message_type_id));
}

/**
 * The batch file: the copy written to the outbox when it is still there intact (each ranged download
 * would otherwise rebuild the whole batch), else rebuilt from what was stored; either way checked
 * against the SHA-256 recorded at assembly.
 */
export async function batchArchive(ctx: BatchContext, batchId: string): Promise<Buffer> {
  const batch = await ctx.db('batches').where({ id: batchId }).first();
  if (!batch) throw new EpostError('UnknownRegisteredMail', 'No batch has that identifier');
  if (batch.written_to) {
    const written = await fs.promises.readFile(batch.written_to).catch(() => undefined);
    if (written && sha256Hex(written) === batch.archive_sha256) return written;
  }
  const manifest = JSON.parse(Buffer.from(batch.manifest_json).toString('utf8')) as BatchManifestJson;
  const rows = await ctx.db('batch_mails').where({ batch_id: batchId }).orderBy('position');
  const content: BatchContent = { manifestJson: Buffer.from(batch.manifest_json), mails: [] };
  for (const [i, row] of rows.entries()) {
    const entry = manifest.mails[i]!;
    const document = await documentOf(ctx, row.registered_mail_id, entry.document.digestSha256);
    if (!document) throw new EpostError('UnknownRegisteredMail', `The document of registered mail ${row.registered_mail_id} is no longer kept: batch ${batch.sequence} cannot be rebuilt`);
    content.mails.push({ registeredMailId: row.registered_mail_id, documentPath: entry.document.path, document, evidenceBundle: Buffer.from(row.evidence_bundle) });
  }
  const archive = await writeBatchArchive(Buffer.from(batch.sealed_manifest), content, new Date(batch.created_at));
  if (sha256Hex(archive) !== batch.archive_sha256) {
    throw new EpostError('ServiceUnavailable', `Batch ${batch.sequence} of ${batch.enterprise_number} cannot be rebuilt identically (its SHA-256 differs from the one recorded)`);
  }
  return archive;
}

export interface PickUp {
  /** Who acknowledged: a certificate subject, or the outbox acknowledgement file. */
  executor: string;
  executorFingerprint?: string | undefined;
  channel: 'https' | 'outbox';
  capacity: string;
  /** The hex SHA-256 of the file as received: a pick-up acknowledges exactly those bytes. */
  archiveSha256: string;
}

export interface PickUpResult {
  batchId: string;
  pickedUpAt: string;
  /** False when this acknowledgement repeated an earlier one. */
  firstPickUp: boolean;
  /** Each mail with its ContentHandover evidence (null when the mail had been handed over before, in the eBox). */
  mails: Array<{ registeredMailId: string; handoverEvidenceId: string | null }>;
}

/**
 * Acknowledges the pick-up of a batch: each mail not opened before gets its ContentHandover evidence,
 * its eBox message is marked read and the mail READ, all in one transaction. Repeating it changes
 * nothing and answers the same.
 */
export async function pickUpBatch(ctx: BatchContext, enterpriseNumber: string, batchId: string, by: PickUp): Promise<PickUpResult> {
  const batch = await ctx.db('batches').where({ enterprise_number: enterpriseNumber, id: batchId }).first();
  if (!batch) throw new EpostError('UnknownRegisteredMail', 'No batch of this enterprise has that identifier');
  if (!/^[0-9a-f]{64}$/.test(by.archiveSha256)) throw new EpostError('InvalidRequest', 'archiveSha256 must be the 64 hex digits of the SHA-256 of the batch file');
  if (by.archiveSha256 !== batch.archive_sha256) {
    throw new EpostError('InvalidRequest', 'The SHA-256 given is not that of the batch file: download it again (it may be incomplete) and acknowledge what you received');
  }
  const mails = await ctx.db('batch_mails as b')
    .join('ebox_messages as m', 'm.registered_mail_id', 'b.registered_mail_id')
    .join('registered_mails as r', 'r.id', 'b.registered_mail_id')
    .where('b.batch_id', batchId)
    .orderBy('b.position')
    .select('b.registered_mail_id', 'b.handover_evidence_id', 'm.id as message_id', 'm.read_at', 'r.sender_enterprise_number');
  if (batch.picked_up_at) return repeatedPickUp(batch, mails);

  const at = ctx.now();
  // Sealing calls the timestamping authority: before the transaction, discarded for a mail handed over meanwhile.
  const evidences = new Map<string, Awaited<ReturnType<typeof sealHandoverEvidence>>>();
  for (const m of mails) if (m.read_at === null) evidences.set(m.registered_mail_id, await sealHandoverEvidence(ctx, m.registered_mail_id, at));

  const result = await ctx.db.transaction(async (trx) => {
    const marked = await trx('batches')
      .where({ id: batchId })
      .whereNull('picked_up_at')
      .update({ picked_up_at: at.toISOString(), picked_up_by: by.executor });
    if (marked === 0) return undefined;
    const handed: PickUpResult['mails'] = [];
    for (const m of mails) {
      const evidence = evidences.get(m.registered_mail_id);
      const opened = evidence ? await trx('ebox_messages').where({ id: m.message_id }).whereNull('read_at').update({ read_at: at.toISOString() }) : 0;
      if (opened > 0) {
        await recordEvidence(trx, evidence!.sealed);
        await trx('registered_mails').where({ id: m.registered_mail_id }).update({ status: 'READ' });
      }
      const evidenceId = opened > 0 ? evidence!.evidenceId : null;
      if (evidenceId) await trx('batch_mails').where({ batch_id: batchId, registered_mail_id: m.registered_mail_id }).update({ handover_evidence_id: evidenceId });
      handed.push({ registeredMailId: m.registered_mail_id, handoverEvidenceId: evidenceId });
      await ctx.audit.append(trx, {
        operation: 'PickUpBatch',
        outcome: 'completed',
        at,
        responsible: m.sender_enterprise_number,
        executor: by.executor,
        executorFingerprint: by.executorFingerprint,
        registeredMailId: m.registered_mail_id,
        recipient: `enterprise:${enterpriseNumber}`,
        evidenceId: evidenceId ?? undefined,
        details: { batchId, sequence: Number(batch.sequence), channel: by.channel, capacity: by.capacity, handedOverBefore: opened === 0 },
      });
    }
    return { batchId, pickedUpAt: at.toISOString(), firstPickUp: true, mails: handed };
  });
  if (result) return result;
  // Another acknowledgement won the race: answer as for a repeat, from what it stored.
  const stored = await ctx.db('batch_mails').where({ batch_id: batchId }).select('registered_mail_id', 'handover_evidence_id');
  const evidenceOf = new Map(stored.map((r: Record<string, any>) => [r.registered_mail_id, r.handover_evidence_id]));
  return repeatedPickUp(
    await ctx.db('batches').where({ id: batchId }).first(),
    mails.map((m) => ({ ...m, handover_evidence_id: evidenceOf.get(m.registered_mail_id) })),
  );
}

/** The answer to a repeated acknowledgement: the first one's, as stored with the batch. */
function repeatedPickUp(batch: Record<string, any>, mails: Array<Record<string, any>>): PickUpResult {
  return {
    batchId: batch.id,
    pickedUpAt: batch.picked_up_at,
    firstPickUp: false,
    mails: mails.map((m) => ({ registeredMailId: m.registered_mail_id, handoverEvidenceId: m.handover_evidence_id ?? null })),
  };
}

/** Enterprises on the batch channel now (a subquery). */
export function activeSubscribers(db: Database) {
  return db('batch_channel_subscriptions').whereNull('ended_at').select('enterprise_number');
}

/** The batch channel's work in waiting, for the metrics. */
export async function batchChannelBacklog(db: Database): Promise<Record<string, number>> {
  const count = async (query: ReturnType<Database>) => Number(((await query.count({ n: '*' })) as Array<{ n?: number | string }>)[0]?.n ?? 0);
  return {
    batch_channel_mails_waiting: await count(
      db('ebox_messages as m')
        .join('batch_channel_subscriptions as s', function () {
          this.on('s.enterprise_number', '=', 'm.ebox_owner_id').andOnNull('s.ended_at');
        })
        .leftJoin('batch_mails as b', 'b.registered_mail_id', 'm.registered_mail_id')
        .where('m.ebox_kind', 'enterprise')
        .whereNull('b.registered_mail_id')
        .whereNull('m.expired_at')
        .whereRaw('m.delivered_at >= s.chosen_at'),
    ),
    batches_unwritten: await count(db('batches').whereNull('written_at').whereNull('picked_up_at').whereIn('enterprise_number', activeSubscribers(db))),
    batches_awaiting_pickup: await count(db('batches').whereNull('picked_up_at')),
  };
}
