// Who takes registered mail through the batch channel. An enterprise (or its mandatary) chooses it;
// from then on, every registered mail delivered into its enterprise eBox is also put into a batch.
// Choosing again changes nothing; leaving ends it (batches already made stay available).
import path from 'node:path';
import { EpostError } from '../errors/index.js';
import { isValidEnterpriseNumber } from '../identifiers/index.js';
import type { Database } from '../storage/index.js';
import type { BatchContext } from './context.js';

export interface BatchChannelSubscription {
  enterpriseNumber: string;
  /** The folder its batches are written to. */
  outboxDir: string;
  /** True when the folder is the configured default one. */
  defaultOutbox: boolean;
  chosenAt: string;
  chosenBy: string;
}

/** Who made a change: recorded with it. */
export interface ChangeAuthor {
  executor: string;
  executorFingerprint?: string | undefined;
  /** The capacity in which a person acted (enterprise user, mandatary with mandate ids), or the admin command. */
  capacity: string;
}

function fromRow(ctx: Pick<BatchContext, 'config'>, row: Record<string, any>): BatchChannelSubscription {
  return {
    enterpriseNumber: row.enterprise_number,
    outboxDir: outboxFolder(ctx, row.enterprise_number, row.outbox_dir),
    defaultOutbox: row.outbox_dir === null || row.outbox_dir === undefined,
    chosenAt: row.chosen_at,
    chosenBy: row.chosen_by,
  };
}

/** The enterprise's own folder under the configured outbox, unless its subscription names one. */
export function outboxFolder(ctx: Pick<BatchContext, 'config'>, enterpriseNumber: string, chosen: string | null | undefined): string {
  return chosen ? chosen : path.join(ctx.config.outboxDir, enterpriseNumber);
}

function checkEnterprise(enterpriseNumber: string): void {
  if (!isValidEnterpriseNumber(enterpriseNumber)) throw new EpostError('InvalidRequest', `"${enterpriseNumber}" is not a valid enterprise number`);
}

/** The subscription in force, or undefined. */
export async function batchChannelOf(ctx: Pick<BatchContext, 'db' | 'config'>, enterpriseNumber: string, db: Database = ctx.db): Promise<BatchChannelSubscription | undefined> {
  const row = await db('batch_channel_subscriptions').where({ enterprise_number: enterpriseNumber }).whereNull('ended_at').first();
  return row ? fromRow(ctx, row) : undefined;
}

export async function listBatchChannels(ctx: Pick<BatchContext, 'db' | 'config'>): Promise<BatchChannelSubscription[]> {
  const rows = await ctx.db('batch_channel_subscriptions').whereNull('ended_at').orderBy('enterprise_number');
  return rows.map((r: Record<string, any>) => fromRow(ctx, r));
}

/**
 * Chooses the batch channel for an enterprise. `outboxDir` (an absolute folder on the service's
 * side) is for the operator only: readers over HTTPS cannot name one. Idempotent: choosing it again
 * keeps the first choice and its time.
 */
export async function chooseBatchChannel(
  ctx: Pick<BatchContext, 'db' | 'audit' | 'config' | 'now'>,
  enterpriseNumber: string,
  by: ChangeAuthor,
  options: { outboxDir?: string | undefined } = {},
): Promise<{ subscription: BatchChannelSubscription; changed: boolean }> {
  checkEnterprise(enterpriseNumber);
  if (options.outboxDir !== undefined && !path.isAbsolute(options.outboxDir)) throw new EpostError('InvalidRequest', 'The outbox folder must be an absolute path');
  const at = ctx.now().toISOString();
  const changed = await ctx.db.transaction(async (trx) => {
    const current = await trx('batch_channel_subscriptions').where({ enterprise_number: enterpriseNumber }).first();
    if (current && current.ended_at === null && (options.outboxDir === undefined || options.outboxDir === current.outbox_dir)) return false;
    const values = { outbox_dir: options.outboxDir ?? current?.outbox_dir ?? null, chosen_at: current?.ended_at === null ? current.chosen_at : at, chosen_by: by.executor, ended_at: null, ended_by: null };
    if (current) await trx('batch_channel_subscriptions').where({ enterprise_number: enterpriseNumber }).update(values);
    else await trx('batch_channel_subscriptions').insert({ enterprise_number: enterpriseNumber, ...values });
    await ctx.audit.append(trx, changeRecord(enterpriseNumber, by, 'choose', { outboxDir: options.outboxDir ?? null }));
    return true;
  });
  return { subscription: (await batchChannelOf(ctx, enterpriseNumber))!, changed };
}

/** Ends the batch channel of an enterprise; its registered mails stay in its eBox alone. */
export async function leaveBatchChannel(ctx: Pick<BatchContext, 'db' | 'audit' | 'now'>, enterpriseNumber: string, by: ChangeAuthor): Promise<boolean> {
  checkEnterprise(enterpriseNumber);
  return ctx.db.transaction(async (trx) => {
    const ended = await trx('batch_channel_subscriptions')
      .where({ enterprise_number: enterpriseNumber })
      .whereNull('ended_at')
      .update({ ended_at: ctx.now().toISOString(), ended_by: by.executor });
    if (ended === 0) return false;
    await ctx.audit.append(trx, changeRecord(enterpriseNumber, by, 'leave', {}));
    return true;
  });
}

function changeRecord(enterpriseNumber: string, by: ChangeAuthor, change: 'choose' | 'leave', details: Record<string, string | null>) {
  return {
    operation: 'ChooseBatchChannel' as const,
    outcome: 'completed' as const,
    responsible: enterpriseNumber,
    executor: by.executor,
    executorFingerprint: by.executorFingerprint,
    recipient: `enterprise:${enterpriseNumber}`,
    details: { change, capacity: by.capacity, ...details },
  };
}
