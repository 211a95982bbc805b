// The `ebox` noun of `npm run admin`: who may read which eBox.
//   ebox mandate create --mandator <EN> (--mandatary-ssin <SSIN> | --mandatary-enterprise <EN>)
//                       --message-types A,B --from <date|datetime> [--until <date|datetime>]
//   ebox mandate list [--mandator <EN>] [--mandatary-ssin <SSIN> | --mandatary-enterprise <EN>]
//   ebox mandate end <mandate id>
//   ebox enterprise-user add --enterprise-number <EN> --ssin <SSIN> [--role eboxReader]
//   ebox enterprise-user remove --enterprise-number <EN> --ssin <SSIN> [--role eboxReader]
//   ebox enterprise-user list [--enterprise-number <EN>]
//   ebox message-type define --id <id> --name-fr .. --name-nl .. --name-de .. --name-en .. [--sender <EN>] [--retention-days <n>]
//   ebox message-type list
// Every change is written to the processing log (by the functions called, in their transaction).
// Mounted by scripts/admin.ts: `runEboxCommand(argv after "ebox", { db, audit, now }, executor)`.
import { parseArgs } from 'node:util';
import { addEnterpriseUser, listEnterpriseUsers, removeEnterpriseUser, type AdminContext } from '../../app/access/enterpriseUsers.js';
import { createMandate, endMandate, listMandates, type Mandatary, type Mandate } from '../../app/access/mandates.js';
import { defineMessageType, listMessageTypes, type TranslatedText } from '../../app/ebox/index.js';

export const EBOX_ADMIN_USAGE = [
  '       npm run admin -- ebox mandate create --mandator <EN> (--mandatary-ssin <SSIN> | --mandatary-enterprise <EN>) --message-types A,B --from <date> [--until <date>]',
  '       npm run admin -- ebox mandate list [--mandator <EN>] [--mandatary-ssin <SSIN> | --mandatary-enterprise <EN>]',
  '       npm run admin -- ebox mandate end <mandate id>',
  '       npm run admin -- ebox enterprise-user add|remove --enterprise-number <EN> --ssin <SSIN> [--role eboxReader]',
  '       npm run admin -- ebox enterprise-user list [--enterprise-number <EN>]',
  '       npm run admin -- ebox message-type define --id <id> --name-en <text> [--name-fr/-nl/-de <text>] [--sender <EN>] [--retention-days <n>]',
  '       npm run admin -- ebox message-type list',
].join('\n');

/** A usage mistake (exit 2 in the admin command), as opposed to a refusal by the service (exit 1). */
export class EboxUsageError extends Error {}

function usage(message: string): never {
  throw new EboxUsageError(`${message}\n${EBOX_ADMIN_USAGE}`);
}

function instant(value: string | undefined, what: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : new Date(value);
  if (Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(value)) usage(`${what} must be a date (yyyy-mm-dd, UTC midnight) or an ISO 8601 date-time`);
  return date;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function mandatary(values: { 'mandatary-ssin'?: string | undefined; 'mandatary-enterprise'?: string | undefined }): Mandatary | undefined {
  if (values['mandatary-ssin'] && values['mandatary-enterprise']) usage('give --mandatary-ssin or --mandatary-enterprise, not both');
  if (values['mandatary-ssin']) return { kind: 'person', ssin: values['mandatary-ssin'] };
  if (values['mandatary-enterprise']) return { kind: 'organisation', enterpriseNumber: values['mandatary-enterprise'] };
  return undefined;
}

function mandateLines(mandates: Mandate[]): string {
  if (mandates.length === 0) return 'No mandates.';
  return table([
    ['ID', 'MANDATOR', 'MANDATARY', 'MESSAGE TYPES', 'FROM', 'UNTIL', 'ENDED'],
    ...mandates.map((m) => [
      m.id,
      m.mandatorEnterpriseNumber,
      m.mandatary.kind === 'person' ? `person:${m.mandatary.ssin}` : `organisation:${m.mandatary.enterpriseNumber}`,
      m.messageTypeIds.join(','),
      m.validFrom,
      m.validUntil ?? '-',
      m.endedAt ?? '-',
    ]),
  ]);
}

/** Runs one `ebox` command; `argv` is what follows the noun. */
export async function runEboxCommand(argv: string[], ctx: AdminContext, executor: string): Promise<{ json: unknown; text: string }> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      by: { type: 'string' },
      mandator: { type: 'string' },
      'mandatary-ssin': { type: 'string' },
      'mandatary-enterprise': { type: 'string' },
      'message-types': { type: 'string' },
      from: { type: 'string' },
      until: { type: 'string' },
      'enterprise-number': { type: 'string' },
      ssin: { type: 'string' },
      role: { type: 'string' },
      id: { type: 'string' },
      sender: { type: 'string' },
      'retention-days': { type: 'string' },
      'name-fr': { type: 'string' },
      'name-nl': { type: 'string' },
      'name-de': { type: 'string' },
      'name-en': { type: 'string' },
    },
  });
  const [subject, verb, ...rest] = positionals;
  switch (`${subject} ${verb}`) {
    case 'mandate create': {
      const who = mandatary(values) ?? usage('--mandatary-ssin or --mandatary-enterprise is required');
      const mandate = await createMandate(
        ctx,
        {
          mandatorEnterpriseNumber: values.mandator ?? usage('--mandator is required'),
          mandatary: who,
          messageTypeIds: (values['message-types'] ?? usage('--message-types is required')).split(',').map((s) => s.trim()).filter(Boolean),
          validFrom: instant(values.from ?? usage('--from is required'), '--from')!,
          validUntil: instant(values.until, '--until'),
        },
        executor,
      );
      return { json: mandate, text: `Created mandate ${mandate.id}.\n${mandateLines([mandate])}` };
    }
    case 'mandate list': {
      const mandates = await listMandates(ctx, { mandatorEnterpriseNumber: values.mandator, mandatary: mandatary(values) });
      return { json: mandates, text: mandateLines(mandates) };
    }
    case 'mandate end': {
      const id = rest[0] ?? values.id ?? usage('the mandate id is required');
      const mandate = await endMandate(ctx, id, executor);
      return { json: mandate, text: `Ended mandate ${mandate.id} at ${mandate.endedAt}.` };
    }
    case 'enterprise-user add': {
      const user = await addEnterpriseUser(
        ctx,
        {
          enterpriseNumber: values['enterprise-number'] ?? usage('--enterprise-number is required'),
          ssin: values.ssin ?? usage('--ssin is required'),
          ...(values.role ? { role: values.role } : {}),
        },
        executor,
      );
      return { json: user, text: `${user.ssin} holds ${user.role} for ${user.enterpriseNumber} since ${user.grantedAt}.` };
    }
    case 'enterprise-user remove': {
      const user = {
        enterpriseNumber: values['enterprise-number'] ?? usage('--enterprise-number is required'),
        ssin: values.ssin ?? usage('--ssin is required'),
        ...(values.role ? { role: values.role } : {}),
      };
      const removed = await removeEnterpriseUser(ctx, user, executor);
      return { json: { removed }, text: removed ? `Revoked the role(s) of ${user.ssin} for ${user.enterpriseNumber}.` : `${user.ssin} held no such role for ${user.enterpriseNumber}.` };
    }
    case 'enterprise-user list': {
      const users = await listEnterpriseUsers(ctx, values['enterprise-number']);
      const text =
        users.length === 0
          ? 'No enterprise users.'
          : table([['ENTERPRISE', 'SSIN', 'ROLE', 'GRANTED', 'BY', 'REVOKED'], ...users.map((u) => [u.enterpriseNumber, u.ssin, u.role, u.grantedAt, u.grantedBy, u.revokedAt ?? '-'])]);
      return { json: users, text };
    }
    case 'message-type define': {
      const name: TranslatedText = {};
      for (const lang of ['fr', 'nl', 'de', 'en'] as const) {
        const text = values[`name-${lang}`];
        if (text) name[lang] = text;
      }
      const days = values['retention-days'];
      if (days !== undefined && !/^\d+$/.test(days)) usage('--retention-days must be a whole number of days');
      const type = await defineMessageType(
        ctx,
        { id: values.id ?? usage('--id is required'), senderEnterpriseNumber: values.sender ?? null, name, retentionDays: days === undefined ? null : Number(days) },
        executor,
      );
      return { json: type, text: `Defined message type ${type.id}${type.senderEnterpriseNumber ? ` for sender ${type.senderEnterpriseNumber}` : ''}.` };
    }
    case 'message-type list': {
      const { items } = await listMessageTypes(ctx.db);
      const text = table([
        ['ID', 'SENDER', 'RETENTION DAYS', 'NAME'],
        ...items.map((t) => [t.id, t.senderEnterpriseNumber ?? '-', t.retentionDays === null ? 'default' : String(t.retentionDays), Object.values(t.name)[0] ?? '']),
      ]);
      return { json: items, text };
    }
    default:
      usage(`unknown ebox command "${[subject, verb].filter(Boolean).join(' ')}"`);
  }
}
