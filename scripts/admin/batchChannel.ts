// The `batch-channel` noun of `npm run admin`: which enterprises take their registered mail as batches.
//   batch-channel choose <EN> [--outbox <absolute folder>]   (the enterprise's request, made by the operator)
//   batch-channel leave <EN>
//   batch-channel list
//   batch-channel batches <EN>                               (its batches: sequence, mails, file, pick-up)
// Choices are written to the processing log with who made them (--by), in their transaction.
import { parseArgs } from 'node:util';
import { chooseBatchChannel, leaveBatchChannel, listBatchChannels, listBatches, type BatchContext } from '../../app/batch/index.js';

export const BATCH_CHANNEL_ADMIN_USAGE = [
  '       npm run admin -- batch-channel choose <EN> [--outbox <absolute folder>]',
  '       npm run admin -- batch-channel leave <EN> | batch-channel list | batch-channel batches <EN>',
].join('\n');

/** A usage mistake (exit 2 in the admin command), as opposed to a refusal by the service (exit 1). */
export class BatchChannelUsageError extends Error {}

function usage(message: string): never {
  throw new BatchChannelUsageError(`${message}\n${BATCH_CHANNEL_ADMIN_USAGE}`);
}

export async function runBatchChannelCommand(
  argv: string[],
  ctx: Pick<BatchContext, 'db' | 'audit' | 'config' | 'now'>,
  executor: string,
): Promise<{ json: unknown; text: string }> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { outbox: { type: 'string' }, json: { type: 'boolean' }, by: { type: 'string' } } });
  const [verb, enterpriseNumber] = positionals;
  const by = { executor, capacity: 'operator (admin command)' };
  const enterprise = () => enterpriseNumber ?? usage(`batch-channel ${verb} needs the enterprise number`);
  switch (verb) {
    case 'choose': {
      const { subscription, changed } = await chooseBatchChannel(ctx, enterprise(), by, { outboxDir: values.outbox });
      return {
        json: { ...subscription, changed },
        text: `${changed ? 'Enterprise' : 'Unchanged: enterprise'} ${subscription.enterpriseNumber} takes its registered mail through the batch channel (outbox ${subscription.outboxDir}, since ${subscription.chosenAt}).`,
      };
    }
    case 'leave': {
      const left = await leaveBatchChannel(ctx, enterprise(), by);
      return { json: { enterpriseNumber, left }, text: left ? `Enterprise ${enterpriseNumber} left the batch channel: its registered mail stays in its eBox only.` : `Enterprise ${enterpriseNumber} was not on the batch channel.` };
    }
    case 'list': {
      const channels = await listBatchChannels(ctx as BatchContext);
      const text = channels.length === 0 ? 'No enterprise takes the batch channel.' : channels.map((c) => `${c.enterpriseNumber}  since ${c.chosenAt}  outbox ${c.outboxDir}  (chosen by ${c.chosenBy})`).join('\n');
      return { json: channels, text };
    }
    case 'batches': {
      const batches = await listBatches(ctx, enterprise());
      const text =
        batches.length === 0
          ? `No batch for enterprise ${enterpriseNumber}.`
          : batches.map((b) => `#${b.sequence}  ${b.batchId}  ${b.mailCount} mail(s)  ${b.createdAt}  ${b.pickedUpAt ? `picked up ${b.pickedUpAt}` : 'not picked up'}  ${b.writtenTo ?? '(not written yet)'}`).join('\n');
      return { json: batches, text };
    }
    default:
      return usage('batch-channel choose|leave|list|batches');
  }
}
