// The outbox folder of a batch-channel enterprise: each batch is written there once assembled (to a
// hidden temporary name, synced, then renamed, so a reader never sees half a file), and rewritten
// from the database if an interruption left it unwritten. The recipient's system acknowledges a
// batch it took by writing the file's hex SHA-256 into `<file>.ack` beside it.
import fs from 'node:fs';
import path from 'node:path';
import { describeForOperator, EpostError } from '../errors/index.js';
import { activeSubscribers, batchArchive, pickUpBatch, type BatchSummary } from './batches.js';
import type { BatchContext } from './context.js';
import { batchChannelOf } from './subscriptions.js';

function writeDurably(dir: string, fileName: string, bytes: Buffer): string {
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, fileName);
  const partial = path.join(dir, `.${fileName}.part`);
  const fd = fs.openSync(partial, 'w', 0o640);
  try {
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(partial, target);
  const dirFd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
  return target;
}

/** Writes one batch into its enterprise's outbox and records where. */
export async function writeBatchToOutbox(ctx: BatchContext, batch: Pick<BatchSummary, 'batchId' | 'enterpriseNumber' | 'fileName'>): Promise<string | undefined> {
  const subscription = await batchChannelOf(ctx, batch.enterpriseNumber);
  if (!subscription) return undefined; // the enterprise left the channel: its batches stay available over HTTPS
  const bytes = await batchArchive(ctx, batch.batchId);
  const target = writeDurably(subscription.outboxDir, batch.fileName, bytes);
  await ctx.db('batches').where({ id: batch.batchId }).update({ written_at: ctx.now().toISOString(), written_to: target });
  return target;
}

export interface OutboxSweep {
  written: string[];
  pickedUp: string[];
  failures: string[];
}

/**
 * Writes every batch not yet written, then takes the acknowledgement files of written batches not yet
 * picked up. Failures are reported, never thrown: the next sweep tries again.
 */
export async function sweepOutboxes(ctx: BatchContext): Promise<OutboxSweep> {
  const sweep: OutboxSweep = { written: [], pickedUp: [], failures: [] };
  // Batches of an enterprise that left the channel stay available over HTTPS only.
  const unwritten = await ctx.db('batches')
    .whereNull('written_at')
    .whereNull('picked_up_at')
    .whereIn('enterprise_number', activeSubscribers(ctx.db))
    .orderBy(['enterprise_number', 'sequence'])
    .select('id', 'enterprise_number', 'file_name');
  for (const b of unwritten) {
    try {
      const target = await writeBatchToOutbox(ctx, { batchId: b.id, enterpriseNumber: b.enterprise_number, fileName: b.file_name });
      if (target) sweep.written.push(target);
    } catch (err) {
      sweep.failures.push(`batch ${b.id}: ${describeForOperator(err)}`);
    }
  }
  const awaiting = await ctx.db('batches').whereNotNull('written_to').whereNull('picked_up_at').select('id', 'enterprise_number', 'written_to');
  for (const b of awaiting) {
    const ackFile = `${b.written_to}.ack`;
    let acknowledged: string;
    try {
      acknowledged = fs.readFileSync(ackFile, 'utf8').trim().toLowerCase();
    } catch {
      continue; // not acknowledged yet
    }
    try {
      await pickUpBatch(ctx, b.enterprise_number, b.id, { executor: `outbox acknowledgement ${ackFile}`, channel: 'outbox', capacity: 'outbox', archiveSha256: acknowledged });
      sweep.pickedUp.push(b.id);
    } catch (err) {
      // A wrong acknowledgement is set aside (renamed), so it is reported once, not at every sweep.
      if (err instanceof EpostError && err.code === 'InvalidRequest') fs.renameSync(ackFile, `${ackFile}.refused`);
      sweep.failures.push(`acknowledgement of batch ${b.id}: ${describeForOperator(err)}`);
    }
  }
  return sweep;
}
