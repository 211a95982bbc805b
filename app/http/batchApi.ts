// The batch channel over HTTPS, for an enterprise's users and its mandataries (client certificate of
// a person on the client-certificate listener, as for the eBox): choose or leave the channel, list
// the batches, download one (ETag and Range, so an interrupted download resumes), and acknowledge
// its pick-up with the SHA-256 of what was received, which hands its mails over with evidence.
// Every call is recorded in the processing log, refusals included; answers are JSON or problem+json.
import express, { type Request, type Response } from 'express';
import type { ProcessingStep } from '../audit/index.js';
import {
  batchArchive,
  BATCH_MEDIA_TYPE,
  batchChannelOf,
  chooseBatchChannel,
  findBatch,
  leaveBatchChannel,
  listBatches,
  messageTypesOfBatch,
  pickUpBatch,
  type BatchChannelSubscription,
  type BatchContext,
  type BatchSummary,
} from '../batch/index.js';
import { ReaderAuthorities, rightOn, scopeOf, type EboxReader, type ReadingRight } from '../ebox/index.js';
import { EpostError } from '../errors/index.js';
import { readBody } from './body.js';
import { callerOf, problemFromError } from './edge.js';

export const BATCH_API_PATH = '/batches/v1';

/** Who calls, in which capacity, for which enterprise. */
interface BatchCaller {
  reader: EboxReader;
  right: ReadingRight;
  capacity: string;
}

function capacityOf(right: ReadingRight): string {
  return right.capacity === 'mandatary' ? `mandatary (mandates ${right.mandates.map((m) => m.id).join(',')})` : right.capacity;
}

function subscriptionJson(s: BatchChannelSubscription | undefined, enterpriseNumber: string) {
  return { enterpriseNumber, batchChannel: s !== undefined, ...(s ? { chosenAt: s.chosenAt, chosenBy: s.chosenBy } : {}) };
}

function batchJson(b: BatchSummary) {
  return {
    batchId: b.batchId,
    sequence: b.sequence,
    createdAt: b.createdAt,
    mailCount: b.mailCount,
    fileName: b.fileName,
    archiveSha256: b.archiveSha256,
    archiveSize: b.archiveSize,
    pickedUpAt: b.pickedUpAt,
    href: `${BATCH_API_PATH}/enterprises/${b.enterpriseNumber}/batches/${b.batchId}`,
  };
}

/** A single `bytes=` range of a resource of `size` bytes; undefined: serve it whole; null: unsatisfiable. */
function rangeOf(header: string | undefined, size: number): { start: number; end: number } | undefined | null {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // absent, several ranges or another unit: the whole file
  if (m[1] === '') {
    const suffix = Number(m[2]);
    return suffix === 0 ? null : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start >= size || end < start ? null : { start, end };
}

export function createBatchApi(ctx: BatchContext): express.Router {
  const router = express.Router();
  const authorities = ReaderAuthorities.fromDirectory(ctx.config.eboxReaderCaDir);

  /** Runs a route with the caller's right on the enterprise eBox; refusals are logged and answered as problem+json. */
  const withRight =
    (operation: ProcessingStep['operation'], route: (req: Request, res: Response, caller: BatchCaller, enterpriseNumber: string) => Promise<void>) =>
    async (req: Request, res: Response) => {
      const enterpriseNumber = String(req.params.enterpriseNumber);
      const presented = callerOf(req);
      let reader: EboxReader | undefined;
      try {
        if (!presented) throw new EpostError('FailedAuthentication', 'Connect to the client-certificate port with your personal certificate');
        reader = await authorities.identify(presented.certificate, ctx.now());
        const right = await rightOn(ctx.db, reader, { kind: 'enterprise', enterpriseNumber }, ctx.now());
        if (!right) throw new EpostError('NotAuthorized', `You are neither a user nor a mandatary of enterprise ${enterpriseNumber}`);
        await route(req, res, { reader, right, capacity: capacityOf(right) }, enterpriseNumber);
      } catch (err) {
        const refusal = err instanceof EpostError ? err : new EpostError('ServiceUnavailable', 'The batch channel could not answer; retry later', err);
        await ctx.audit
          .append(ctx.db, {
            operation,
            outcome: 'refused',
            responsible: enterpriseNumber,
            executor: reader?.certificateSubject ?? presented?.subject,
            executorFingerprint: reader?.certificateFingerprint ?? presented?.fingerprint,
            recipient: `enterprise:${enterpriseNumber}`,
            disturbance: { code: refusal.code, reason: refusal.message },
            details: { batchChannel: `${req.method} ${req.path}` },
          })
          .catch(() => undefined);
        problemFromError(res, refusal);
      }
    };

  /** A mandatary takes a batch only when its mandates cover every mail in it. */
  const batchFor = async (caller: BatchCaller, enterpriseNumber: string, batchId: string): Promise<BatchSummary> => {
    const batch = await findBatch(ctx, enterpriseNumber, batchId);
    if (!batch) throw new EpostError('UnknownRegisteredMail', 'No batch of this enterprise has that identifier');
    const scope = scopeOf(caller.right);
    if (scope && (await messageTypesOfBatch(ctx, batchId)).some((t) => !scope.includes(t))) {
      throw new EpostError('NotAuthorized', 'Your mandate does not cover every registered mail of this batch');
    }
    return batch;
  };

  const author = (caller: BatchCaller) => ({ executor: caller.reader.certificateSubject, executorFingerprint: caller.reader.certificateFingerprint, capacity: caller.capacity });

  const base = '/enterprises/:enterpriseNumber';
  router.get(
    `${base}/subscription`,
    withRight('ChooseBatchChannel', async (_req, res, _caller, enterpriseNumber) => {
      res.json(subscriptionJson(await batchChannelOf(ctx, enterpriseNumber), enterpriseNumber));
    }),
  );
  router.put(
    `${base}/subscription`,
    withRight('ChooseBatchChannel', async (_req, res, caller, enterpriseNumber) => {
      const { subscription, changed } = await chooseBatchChannel(ctx, enterpriseNumber, author(caller));
      res.status(changed ? 201 : 200).json(subscriptionJson(subscription, enterpriseNumber));
    }),
  );
  router.delete(
    `${base}/subscription`,
    withRight('ChooseBatchChannel', async (_req, res, caller, enterpriseNumber) => {
      if (!(await leaveBatchChannel(ctx, enterpriseNumber, author(caller)))) throw new EpostError('UnknownRegisteredMail', 'This enterprise does not take its registered mail through the batch channel');
      res.status(204).end();
    }),
  );
  router.get(
    `${base}/batches`,
    withRight('ListEboxMessages', async (_req, res, caller, enterpriseNumber) => {
      const batches = await listBatches(ctx, enterpriseNumber);
      await ctx.audit.append(ctx.db, {
        operation: 'ListEboxMessages',
        outcome: 'completed',
        responsible: enterpriseNumber,
        executor: caller.reader.certificateSubject,
        executorFingerprint: caller.reader.certificateFingerprint,
        recipient: `enterprise:${enterpriseNumber}`,
        details: { batchChannel: 'list', capacity: caller.capacity, batches: batches.length },
      });
      res.json({ items: batches.map(batchJson) });
    }),
  );
  router.get(
    `${base}/batches/:batchId`,
    withRight('DownloadDocument', async (req, res, caller, enterpriseNumber) => {
      const batch = await batchFor(caller, enterpriseNumber, String(req.params.batchId));
      const archive = await batchArchive(ctx, batch.batchId);
      const etag = `"${batch.archiveSha256}"`;
      const ifRange = req.headers['if-range'];
      const range = ifRange === undefined || ifRange === etag ? rangeOf(req.headers.range, archive.length) : undefined;
      await ctx.audit.append(ctx.db, {
        operation: 'DownloadDocument',
        outcome: range === null ? 'refused' : 'completed',
        responsible: enterpriseNumber,
        executor: caller.reader.certificateSubject,
        executorFingerprint: caller.reader.certificateFingerprint,
        recipient: `enterprise:${enterpriseNumber}`,
        details: { batchChannel: 'download', batchId: batch.batchId, capacity: caller.capacity, range: range ? `${range.start}-${range.end}` : null },
      });
      res.set({ ETag: etag, 'Accept-Ranges': 'bytes', 'Content-Disposition': `attachment; filename="${batch.fileName}"` }).type(BATCH_MEDIA_TYPE);
      if (range === null) {
        res.status(416).set('Content-Range', `bytes */${archive.length}`).end();
      } else if (range) {
        res.status(206).set('Content-Range', `bytes ${range.start}-${range.end}/${archive.length}`).send(archive.subarray(range.start, range.end + 1));
      } else {
        res.send(archive);
      }
    }),
  );
  router.post(
    `${base}/batches/:batchId/pickup`,
    withRight('PickUpBatch', async (req, res, caller, enterpriseNumber) => {
      const batch = await batchFor(caller, enterpriseNumber, String(req.params.batchId));
      const { body, refusal } = await readBody(req, 4096);
      if (refusal) throw refusal;
      let archiveSha256: unknown;
      try {
        archiveSha256 = (JSON.parse(body.toString('utf8')) as { archiveSha256?: unknown }).archiveSha256;
      } catch {
        throw new EpostError('InvalidRequest', 'The body must be JSON: {"archiveSha256": "<hex SHA-256 of the batch file received>"}');
      }
      if (typeof archiveSha256 !== 'string') throw new EpostError('InvalidRequest', 'archiveSha256 (the hex SHA-256 of the batch file received) is required');
      const result = await pickUpBatch(ctx, enterpriseNumber, batch.batchId, { ...author(caller), channel: 'https', archiveSha256: archiveSha256.toLowerCase() });
      res.status(result.firstPickUp ? 201 : 200).json(result);
    }),
  );
  return router;
}
