// The batch channel: large recipients (a social secretariat, a big employer) that take their
// registered mails as sealed ZIP batches into their own systems, from an outbox folder or over
// HTTPS, with a notice in their enterprise eBox; acknowledging a batch hands its mails over.
export type { BatchContext } from './context.js';
export { batchChannelOf, chooseBatchChannel, leaveBatchChannel, listBatchChannels, outboxFolder, type BatchChannelSubscription, type ChangeAuthor } from './subscriptions.js';
export {
  assembleBatch,
  assembleDueBatches,
  batchArchive,
  batchChannelBacklog,
  batchFileName,
  findBatch,
  listBatches,
  messageTypesOfBatch,
  pickUpBatch,
  type BatchSummary,
  type PickUp,
  type PickUpResult,
} from './batches.js';
export { sweepOutboxes, writeBatchToOutbox, type OutboxSweep } from './outbox.js';
export { BATCH_MEDIA_TYPE, verifyBatch, type BatchManifestJson, type BatchReport } from './archive.js';

import { describeForOperator } from '../errors/index.js';
import { assembleDueBatches } from './batches.js';
import type { BatchContext } from './context.js';
import { sweepOutboxes } from './outbox.js';

/** One round of the batch channel: assemble what waits, write what is unwritten, take acknowledgements. */
export async function runBatchChannel(ctx: BatchContext, warn: (message: string) => void = () => undefined): Promise<void> {
  try {
    await assembleDueBatches(ctx);
  } catch (err) {
    warn(`batch assembly failed: ${describeForOperator(err)}`);
  }
  const sweep = await sweepOutboxes(ctx);
  for (const failure of sweep.failures) warn(`batch outbox: ${failure}`);
}
