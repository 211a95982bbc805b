// Enterprise users: a person (by SSIN, as their eID certificate names them) linked to an enterprise
// by a role. The role lets them read that enterprise's eBox and, when the enterprise is a mandatary,
// the eBoxes of its mandators within the mandates' scope. Grants are never deleted, only revoked, and
// every change is written to the processing log in the same transaction.
import type { AuditLog } from '../audit/index.js';
import { EpostError } from '../errors/index.js';
import { isValidEnterpriseNumber, isValidSsin } from '../identifiers/index.js';
import type { Database } from '../storage/index.js';

/** What access administration needs: the database, the processing log and the service's clock. */
export interface AdminContext {
  db: Database;
  audit: AuditLog;
  now(): Date;
}

/** Writes one access-management change to the processing log with the caller's transaction (mandates.ts too). */
export async function logAdministrativeChange(
  trx: Database,
  ctx: AdminContext,
  actor: string,
  details: Record<string, string | number | boolean | null>,
): Promise<void> {
  await ctx.audit.append(trx, { operation: 'AdministrativeChange', outcome: 'completed', at: ctx.now(), responsible: 'ePost', executor: actor, details });
}

/** eboxReader: reads the enterprise's eBox (and its mandators' within scope) and sets message visibility. */
export const ENTERPRISE_ROLES = ['eboxReader'] as const;
export type EnterpriseRole = (typeof ENTERPRISE_ROLES)[number];

export interface EnterpriseUser {
  enterpriseNumber: string;
  ssin: string;
  role: EnterpriseRole;
  grantedAt: string;
  grantedBy: string;
  revokedAt: string | null;
  revokedBy: string | null;
}

function checkUser(enterpriseNumber: string, ssin: string, role: string): asserts role is EnterpriseRole {
  if (!isValidEnterpriseNumber(enterpriseNumber)) throw new EpostError('InvalidRequest', `"${enterpriseNumber}" is not a valid enterprise number`);
  if (!isValidSsin(ssin)) throw new EpostError('InvalidRequest', `"${ssin}" is not a valid SSIN`);
  if (!(ENTERPRISE_ROLES as readonly string[]).includes(role)) {
    throw new EpostError('InvalidRequest', `"${role}" is not an enterprise role (${ENTERPRISE_ROLES.join(', ')})`);
  }
}

function fromRow(r: Record<string, unknown>): EnterpriseUser {
  return {
    enterpriseNumber: String(r.enterprise_number),
    ssin: String(r.ssin),
    role: r.role as EnterpriseRole,
    grantedAt: String(r.granted_at),
    grantedBy: String(r.granted_by),
    revokedAt: (r.revoked_at as string | null) ?? null,
    revokedBy: (r.revoked_by as string | null) ?? null,
  };
}

/** Grants a role; granting a role the person already holds changes nothing and logs nothing. */
export async function addEnterpriseUser(
  ctx: AdminContext,
  user: { enterpriseNumber: string; ssin: string; role?: string },
  actor: string,
): Promise<EnterpriseUser> {
  const role = user.role ?? 'eboxReader';
  checkUser(user.enterpriseNumber, user.ssin, role);
  return ctx.db.transaction(async (trx) => {
    const active = await trx('enterprise_users')
      .where({ enterprise_number: user.enterpriseNumber, ssin: user.ssin, role })
      .whereNull('revoked_at')
      .first();
    if (active) return fromRow(active);
    const row = {
      enterprise_number: user.enterpriseNumber,
      ssin: user.ssin,
      role,
      granted_at: ctx.now().toISOString(),
      granted_by: actor,
      revoked_at: null,
      revoked_by: null,
    };
    await trx('enterprise_users').insert(row);
    await logAdministrativeChange(trx, ctx, actor, {
      noun: 'enterprise-user',
      verb: 'add',
      enterpriseNumber: user.enterpriseNumber,
      ssin: user.ssin,
      role,
    });
    return fromRow(row);
  });
}

/** Revokes a role (every role of the person for the enterprise when none is named); false when none was held. */
export async function removeEnterpriseUser(
  ctx: AdminContext,
  user: { enterpriseNumber: string; ssin: string; role?: string },
  actor: string,
): Promise<boolean> {
  checkUser(user.enterpriseNumber, user.ssin, user.role ?? 'eboxReader');
  return ctx.db.transaction(async (trx) => {
    const query = trx('enterprise_users').where({ enterprise_number: user.enterpriseNumber, ssin: user.ssin }).whereNull('revoked_at');
    if (user.role) query.andWhere({ role: user.role });
    const revoked = await query.update({ revoked_at: ctx.now().toISOString(), revoked_by: actor });
    if (revoked === 0) return false;
    await logAdministrativeChange(trx, ctx, actor, {
      noun: 'enterprise-user',
      verb: 'remove',
      enterpriseNumber: user.enterpriseNumber,
      ssin: user.ssin,
      role: user.role ?? null,
    });
    return true;
  });
}

/** Every grant (revoked ones too, for the record), optionally of one enterprise. */
export async function listEnterpriseUsers(ctx: Pick<AdminContext, 'db'>, enterpriseNumber?: string): Promise<EnterpriseUser[]> {
  const query = ctx.db('enterprise_users').orderBy([{ column: 'enterprise_number' }, { column: 'granted_at' }, { column: 'id' }]);
  if (enterpriseNumber) query.where({ enterprise_number: enterpriseNumber });
  return (await query).map(fromRow);
}

/** The enterprises a person holds a role for now. */
export async function enterprisesOfPerson(ctx: Pick<AdminContext, 'db'>, ssin: string): Promise<string[]> {
  const rows = await ctx.db('enterprise_users').where({ ssin }).whereNull('revoked_at').distinct('enterprise_number');
  return rows.map((r: { enterprise_number: string }) => r.enterprise_number).sort();
}
