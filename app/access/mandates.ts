// Mandates: a mandator enterprise lets a mandatary read its eBox for a period and a scope (message
// types). The mandatary is a person (by SSIN) or an organisation (by enterprise number), whose
// enterprise users then act for it. A mandate is never deleted: ending it records when and by whom,
// and every change is written to the processing log in the same transaction.
import { EpostError } from '../errors/index.js';
import { isValidEnterpriseNumber, isValidSsin, timeOrderedId } from '../identifiers/index.js';
import { logAdministrativeChange, type AdminContext } from './enterpriseUsers.js';

export type Mandatary = { kind: 'person'; ssin: string } | { kind: 'organisation'; enterpriseNumber: string };

export interface Mandate {
  id: string;
  mandatorEnterpriseNumber: string;
  mandatary: Mandatary;
  /** The scope: which message types the mandatary may read. */
  messageTypeIds: string[];
  validFrom: string;
  /** Exclusive end of the period; null: until ended. */
  validUntil: string | null;
  createdAt: string;
  createdBy: string;
  endedAt: string | null;
  endedBy: string | null;
}

export interface NewMandate {
  mandatorEnterpriseNumber: string;
  mandatary: Mandatary;
  messageTypeIds: string[];
  validFrom: Date;
  validUntil?: Date | undefined;
}

function mandataryId(m: Mandatary): string {
  return m.kind === 'person' ? m.ssin : m.enterpriseNumber;
}

function fromRow(r: Record<string, unknown>): Mandate {
  const id = String(r.mandatary_id);
  return {
    id: String(r.id),
    mandatorEnterpriseNumber: String(r.mandator_enterprise_number),
    mandatary: r.mandatary_kind === 'person' ? { kind: 'person', ssin: id } : { kind: 'organisation', enterpriseNumber: id },
    messageTypeIds: JSON.parse(String(r.message_type_ids)) as string[],
    validFrom: String(r.valid_from),
    validUntil: (r.valid_until as string | null) ?? null,
    createdAt: String(r.created_at),
    createdBy: String(r.created_by),
    endedAt: (r.ended_at as string | null) ?? null,
    endedBy: (r.ended_by as string | null) ?? null,
  };
}

function invalid(reason: string): never {
  throw new EpostError('InvalidRequest', reason);
}

export async function createMandate(ctx: AdminContext, mandate: NewMandate, actor: string): Promise<Mandate> {
  if (!isValidEnterpriseNumber(mandate.mandatorEnterpriseNumber)) invalid(`"${mandate.mandatorEnterpriseNumber}" is not a valid enterprise number`);
  const m = mandate.mandatary;
  if (m.kind === 'person' ? !isValidSsin(m.ssin) : m.kind === 'organisation' ? !isValidEnterpriseNumber(m.enterpriseNumber) : true) {
    invalid('the mandatary must be a person with a valid SSIN or an organisation with a valid enterprise number');
  }
  if (m.kind === 'organisation' && m.enterpriseNumber === mandate.mandatorEnterpriseNumber) invalid('an enterprise cannot be its own mandatary');
  const scope = [...new Set(mandate.messageTypeIds)].sort();
  if (scope.length === 0) invalid('a mandate names at least one message type');
  if (!(mandate.validFrom instanceof Date) || Number.isNaN(mandate.validFrom.getTime())) invalid('the mandate needs a valid start');
  if (mandate.validUntil !== undefined && (Number.isNaN(mandate.validUntil.getTime()) || mandate.validUntil <= mandate.validFrom)) {
    invalid('the end of the mandate must come after its start');
  }
  return ctx.db.transaction(async (trx) => {
    const known = await trx('ebox_message_types').whereIn('id', scope).pluck('id');
    const unknown = scope.filter((id) => !known.includes(id));
    if (unknown.length > 0) invalid(`unknown message type(s): ${unknown.join(', ')}`);
    const createdAt = ctx.now();
    const row = {
      id: timeOrderedId(createdAt),
      mandator_enterprise_number: mandate.mandatorEnterpriseNumber,
      mandatary_kind: m.kind,
      mandatary_id: mandataryId(m),
      message_type_ids: JSON.stringify(scope),
      valid_from: mandate.validFrom.toISOString(),
      valid_until: mandate.validUntil ? mandate.validUntil.toISOString() : null,
      created_at: createdAt.toISOString(),
      created_by: actor,
      ended_at: null,
      ended_by: null,
    };
    await trx('mandates').insert(row);
    await logAdministrativeChange(trx, ctx, actor, {
      noun: 'mandate',
      verb: 'create',
      mandateId: row.id,
      mandator: row.mandator_enterprise_number,
      mandatary: `${row.mandatary_kind}:${row.mandatary_id}`,
      messageTypeIds: row.message_type_ids,
      validFrom: row.valid_from,
      validUntil: row.valid_until,
    });
    return fromRow(row);
  });
}

/** Ends a mandate now; ending an ended or unknown mandate is refused. */
export async function endMandate(ctx: AdminContext, mandateId: string, actor: string): Promise<Mandate> {
  return ctx.db.transaction(async (trx) => {
    const endedAt = ctx.now().toISOString();
    const updated = await trx('mandates').where({ id: mandateId }).whereNull('ended_at').update({ ended_at: endedAt, ended_by: actor });
    if (updated === 0) invalid(`no mandate ${mandateId} is in force`);
    await logAdministrativeChange(trx, ctx, actor, { noun: 'mandate', verb: 'end', mandateId, endedAt });
    return fromRow(await trx('mandates').where({ id: mandateId }).first());
  });
}

export async function listMandates(
  ctx: Pick<AdminContext, 'db'>,
  filter: { mandatorEnterpriseNumber?: string | undefined; mandatary?: Mandatary | undefined } = {},
): Promise<Mandate[]> {
  const query = ctx.db('mandates').orderBy([{ column: 'created_at' }, { column: 'id' }]);
  if (filter.mandatorEnterpriseNumber) query.where({ mandator_enterprise_number: filter.mandatorEnterpriseNumber });
  if (filter.mandatary) query.where({ mandatary_kind: filter.mandatary.kind, mandatary_id: mandataryId(filter.mandatary) });
  return (await query).map(fromRow);
}

/**
 * The mandates in force at `at` that a person may use: those given to them and those given to an
 * organisation they hold a role for.
 */
export async function mandatesInForce(
  ctx: Pick<AdminContext, 'db'>,
  holder: { ssin: string; organisations: readonly string[] },
  at: Date,
): Promise<Mandate[]> {
  const when = at.toISOString();
  const rows = await ctx
    .db('mandates')
    .where((q) => {
      q.where({ mandatary_kind: 'person', mandatary_id: holder.ssin });
      if (holder.organisations.length > 0) q.orWhere((o) => o.where({ mandatary_kind: 'organisation' }).whereIn('mandatary_id', [...holder.organisations]));
    })
    .andWhere('valid_from', '<=', when)
    .andWhere((q) => q.whereNull('valid_until').orWhere('valid_until', '>', when))
    .andWhere((q) => q.whereNull('ended_at').orWhere('ended_at', '>', when))
    .orderBy([{ column: 'created_at' }, { column: 'id' }]);
  return rows.map(fromRow);
}
