// The processing log for security advisors, over HTTPS as JSON. Only the client-certificate
// listener can serve it: the advisor's certificate, already verified by Node against the trust
// anchors, must be registered as a security advisor's, and every request must state its purpose
// (`X-Purpose` header or `purpose` query). Every consultation, granted or refused, is itself a
// processing record, committed before anything is answered.
import express, { type Request, type Response } from 'express';
import { securityAdvisorFor, type SecurityAdvisor } from '../access/securityAdvisors.js';
import type { RecordFilter, StoredRecord } from '../audit/index.js';
import type { ServiceContext } from '../registeredmail/context.js';
import { callerOf as verifiedCaller, problem } from './edge.js';

/** Where server.ts mounts the router. */
export const LOG_API_PATH = '/log';

const MAX_PURPOSE_CHARS = 500;
const MAX_RECORDS = 1000;

interface Caller {
  certificate: Buffer | undefined;
  subject: string | undefined;
  fingerprint: string | undefined;
}

export function createLogApi(ctx: ServiceContext): express.Router {
  const router = express.Router();

  router.get('/records', async (req: Request, res: Response) => {
    const access = await admit(ctx, req, res, 'ConsultLog');
    if (!access) return;
    let filter: RecordFilter;
    try {
      filter = filterFrom(req);
    } catch (err) {
      await refuse(ctx, req, res, 'ConsultLog', access.caller, access.purpose, 400, 'InvalidRequest', (err as Error).message);
      return;
    }
    const records = await ctx.audit.records({ ...filter, limit: filter.limit ?? MAX_RECORDS });
    await ctx.audit.append(ctx.db, {
      ...consultation(access, 'ConsultLog', 'accepted'),
      details: { ...filterDetails(filter), recordsReturned: records.length },
    });
    const head = await ctx.audit.latestTreeHead();
    res.json({
      purpose: access.purpose,
      count: records.length,
      records: records.map(recordJson),
      latestTreeHead: head ? { treeSize: head.treeSize, rootHash: head.rootHash.toString('hex'), signedAt: new Date(head.timestampMs).toISOString() } : null,
    });
  });

  router.get('/records/:id/payload', async (req: Request, res: Response) => {
    const access = await admit(ctx, req, res, 'ReadLogPayload');
    if (!access) return;
    const id = Number(req.params.id);
    if (!Number.isSafeInteger(id) || id < 1) {
      await refuse(ctx, req, res, 'ReadLogPayload', access.caller, access.purpose, 400, 'InvalidRequest', 'A record id is a positive integer');
      return;
    }
    const record = (await ctx.db('audit_records').where({ id }).first('registered_mail_id', 'recipient', 'payload_sha256')) as
      | { registered_mail_id: string | null; recipient: string | null; payload_sha256: string | null }
      | undefined;
    const payload = record ? await ctx.audit.payload(id) : undefined;
    await ctx.audit.append(ctx.db, {
      ...consultation(access, 'ReadLogPayload', payload ? 'accepted' : 'failed'),
      registeredMailId: record?.registered_mail_id ?? undefined,
      recipient: record?.recipient ?? undefined,
      ...(payload ? {} : { disturbance: { code: 'InvalidRequest', reason: `record ${id} has no payload (none attached, or purged)` } }),
      details: { recordId: id },
    });
    if (!payload) {
      problem(res, 404, 'No payload', `Record ${id} has no payload: none was attached, or it was purged with its document`);
      return;
    }
    res.json({ recordId: id, payloadSha256: record!.payload_sha256, storedBytes: payload.length, payload: payload.toString('base64') });
  });

  router.use((req: Request, res: Response) => problem(res, 404, 'Not found', `Nothing is served at ${req.method} ${LOG_API_PATH}${req.path}`));
  // A failure to record the consultation means no answer: the log must never be read unrecorded.
  router.use((err: unknown, _req: Request, res: Response, _next: express.NextFunction) => {
    console.error('log API failed:', err);
    problem(res, 503, 'Log unavailable', 'The processing log cannot be consulted now; retry later');
  });
  return router;
}

/** The caller's TLS client certificate, if the connection verified one (client-certificate listener). */
function callerOf(req: Request): Caller {
  return verifiedCaller(req) ?? { certificate: undefined, subject: undefined, fingerprint: undefined };
}

interface Access {
  advisor: SecurityAdvisor;
  caller: Caller;
  purpose: string;
}

/** The role and a stated purpose, or a logged refusal (403 problem+json). */
async function admit(ctx: ServiceContext, req: Request, res: Response, operation: 'ConsultLog' | 'ReadLogPayload'): Promise<Access | undefined> {
  const caller = callerOf(req);
  const purpose = purposeOf(req);
  if (!caller.certificate) {
    await refuse(ctx, req, res, operation, caller, purpose, 403, 'NotAuthorized', 'The processing log is for security advisors: connect to the client-certificate port with your advisor certificate');
    return undefined;
  }
  const advisor = await securityAdvisorFor(ctx.db, caller.certificate);
  if (!advisor) {
    await refuse(ctx, req, res, operation, caller, purpose, 403, 'NotAuthorized', 'This certificate is not registered as a security advisor\'s');
    return undefined;
  }
  if (!purpose) {
    await refuse(ctx, req, res, operation, caller, purpose, 403, 'NotAuthorized', 'State the purpose of this consultation in the X-Purpose header (or the purpose query parameter)');
    return undefined;
  }
  return { advisor, caller, purpose };
}

function purposeOf(req: Request): string | undefined {
  const header = req.get('x-purpose');
  const query = typeof req.query.purpose === 'string' ? req.query.purpose : undefined;
  const purpose = (header ?? query ?? '').trim();
  return purpose ? purpose.slice(0, MAX_PURPOSE_CHARS) : undefined;
}

async function refuse(
  ctx: ServiceContext,
  req: Request,
  res: Response,
  operation: 'ConsultLog' | 'ReadLogPayload',
  caller: Caller,
  purpose: string | undefined,
  status: number,
  code: string,
  reason: string,
): Promise<void> {
  await ctx.audit.append(ctx.db, {
    operation,
    outcome: 'refused',
    responsible: undefined,
    executor: caller.subject,
    executorFingerprint: caller.fingerprint,
    purpose,
    disturbance: { code, reason },
    details: { path: `${LOG_API_PATH}${req.path}` },
  });
  problem(res, status, status === 403 ? 'Forbidden' : 'Bad request', reason);
}

function consultation(access: Access, operation: 'ConsultLog' | 'ReadLogPayload', outcome: 'accepted' | 'failed') {
  return {
    operation,
    outcome,
    responsible: access.advisor.organisation,
    executor: access.caller.subject,
    executorFingerprint: access.caller.fingerprint,
    purpose: access.purpose,
  } as const;
}

function filterFrom(req: Request): RecordFilter {
  const q = req.query;
  const text = (name: string): string | undefined => {
    const v = q[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length > 200) throw new Error(`The ${name} filter must be given once, as text`);
    return v;
  };
  const time = (name: string): Date | undefined => {
    const v = text(name);
    if (v === undefined) return undefined;
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw new Error(`The ${name} filter must be an ISO 8601 time`);
    return d;
  };
  const limitText = text('limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > MAX_RECORDS)) throw new Error(`limit must be between 1 and ${MAX_RECORDS}`);
  return {
    from: time('from'),
    to: time('to'),
    responsible: text('organisation'),
    recipient: text('recipient'),
    operation: text('operation'),
    registeredMailId: text('registeredMailId'),
    limit,
  };
}

function filterDetails(filter: RecordFilter): Record<string, string | number | null> {
  return {
    from: filter.from?.toISOString() ?? null,
    to: filter.to?.toISOString() ?? null,
    organisation: filter.responsible ?? null,
    recipient: filter.recipient ?? null,
    operation: filter.operation ?? null,
    registeredMailId: filter.registeredMailId ?? null,
  };
}

function recordJson(r: StoredRecord): Record<string, unknown> {
  return {
    id: r.id,
    seq: r.seq,
    time: r.recordedAt,
    operation: r.operation,
    outcome: r.outcome,
    responsible: r.responsible,
    executor: r.executor,
    executorFingerprint: r.executorFingerprint,
    registeredMailId: r.registeredMailId,
    recipient: r.recipient,
    evidenceId: r.evidenceId,
    disturbance: r.disturbanceCode ? { code: r.disturbanceCode, reason: r.disturbanceReason } : null,
    purpose: r.purpose,
    details: r.details ? JSON.parse(r.details) : null,
    payload: r.payloadSha256 ? { sha256: r.payloadSha256, size: r.payloadSize } : null,
  };
}


