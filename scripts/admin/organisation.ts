// The `organisation` and `application` nouns of `npm run admin`, and `certificate expiring`:
//   organisation register --enterprise-number <EN> (--name <name> | --name-fr/-nl/-de/-en <name>)...
//                         [--contact-email <e-mail>] [--contact-phone <phone>]
//                         [--operations A,B] [--recipient-kinds citizen,enterprise] [--message-types A,B|any]
//   organisation update <EN> [--name ..] [--name-fr/-nl/-de/-en ..] [--contact-email ..] [--contact-phone ..]
//                       [--send-proof-copies on|off]
//   organisation authorise <EN> [--operations A,B] [--recipient-kinds ..] [--message-types A,B|any]
//   organisation show <EN> | organisation list
//   application register --enterprise-number <EN> --name <name>
//   application list [--enterprise-number <EN>] [--all] | application revoke <id> [--reason <text>]
//   certificate expiring [--days 30]
// Mounted by scripts/admin.ts with its parsed options; the functions called record every change.
import {
  ALL_OPERATIONS,
  ALL_RECIPIENT_KINDS,
  applicationsOf,
  authoriseOrganisation,
  expiringCertificates,
  organisationDetails,
  organisationsDetails,
  registerApplication,
  registerOrganisation,
  revokeApplication,
  updateOrganisation,
  type OrganisationDetails,
  type OrganisationNames,
  type SenderAdministrator,
  type SenderApplication,
  type SenderOperation,
} from '../../app/access/index.js';
import type { RecipientKind } from '../../app/identifiers/index.js';
import type { Database } from '../../app/storage/index.js';

export const ORGANISATION_ADMIN_USAGE = [
  '       npm run admin -- organisation register --enterprise-number <EN> (--name <name> | --name-fr/-nl/-de/-en <name>) [--contact-email <e-mail>] [--contact-phone <phone>]',
  '                        [--operations A,B] [--recipient-kinds citizen,enterprise] [--message-types A,B|any]',
  '       npm run admin -- organisation update <EN> [--name <name>] [--name-fr/-nl/-de/-en <name>] [--contact-email <e-mail>] [--contact-phone <phone>]',
  '                        [--send-proof-copies on|off]',
  '       npm run admin -- organisation authorise <EN> [--operations A,B] [--recipient-kinds citizen,enterprise] [--message-types A,B|any]',
  '       npm run admin -- organisation show <EN> | organisation list',
  '       npm run admin -- application register --enterprise-number <EN> --name <name>',
  '       npm run admin -- application list [--enterprise-number <EN>] [--all] | application revoke <id> [--reason <text>]',
  '       npm run admin -- certificate expiring [--days 30]',
].join('\n');

export const ORGANISATION_COMMANDS = [
  'organisation register',
  'organisation update',
  'organisation authorise',
  'organisation show',
  'organisation list',
  'application register',
  'application list',
  'application revoke',
  'certificate expiring',
];

/** The options these commands read (scripts/admin.ts parses them). */
export const ORGANISATION_OPTIONS = {
  'name-fr': { type: 'string' },
  'name-nl': { type: 'string' },
  'name-de': { type: 'string' },
  'name-en': { type: 'string' },
  'contact-email': { type: 'string' },
  'contact-phone': { type: 'string' },
  'send-proof-copies': { type: 'string' },
  'message-types': { type: 'string' },
  days: { type: 'string' },
} as const;

export type OrganisationValues = Partial<Record<keyof typeof ORGANISATION_OPTIONS | 'enterprise-number' | 'name' | 'operations' | 'recipient-kinds' | 'reason', string>> & {
  all?: boolean | undefined;
};

type Usage = (message: string) => never;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function names(values: OrganisationValues): OrganisationNames {
  const result: OrganisationNames = {};
  for (const language of ['fr', 'nl', 'de', 'en'] as const) {
    const name = values[`name-${language}`];
    if (name !== undefined) result[language] = name;
  }
  return result;
}

function items<T extends string>(value: string | undefined, allowed: readonly T[], what: string, usage: Usage): T[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
  for (const item of list) if (!(allowed as readonly string[]).includes(item)) usage(`"${item}" is not one of the ${what}: ${allowed.join(', ')}`);
  return list as T[];
}

/** --send-proof-copies on|off (a copy of every send-proof in the organisation's own enterprise eBox). */
function onOff(value: string | undefined, option: string, usage: Usage): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'on') return true;
  if (value === 'off') return false;
  return usage(`--${option} must be on or off, not "${value}"`);
}

/** --message-types A,B, or "any" for no restriction. */
function messageTypes(value: string | undefined): string[] | null | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === 'any') return null;
  return value.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
}

function organisationText(o: OrganisationDetails): string {
  const languageNames = Object.entries(o.names).filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v}`).join('; ');
  return [
    `Organisation ${o.enterpriseNumber} "${o.name}"${languageNames ? ` (${languageNames})` : ''}`,
    `  contact: ${o.contact.email ?? '-'} / ${o.contact.phone ?? '-'}`,
    `  may use ${o.allowedOperations.join(', ')}; to ${o.allowedRecipientKinds.join(', ')}; message types: ${o.allowedMessageTypes?.join(', ') ?? 'any'}`,
    `  send-proof copies in its enterprise eBox: ${o.sendProofCopies ? 'on' : 'off'}`,
  ].join('\n');
}

function applicationLines(applications: SenderApplication[]): string {
  if (applications.length === 0) return 'No applications.';
  return table([['ID', 'ORGANISATION', 'NAME', 'REGISTERED', 'REVOKED'], ...applications.map((a) => [a.id, a.enterpriseNumber, a.name, a.registeredAt, a.revokedAt ?? '-'])]);
}

/** Runs one of ORGANISATION_COMMANDS. */
export async function runOrganisationCommand(
  command: string,
  values: OrganisationValues,
  rest: string[],
  db: Database,
  by: SenderAdministrator,
  usage: Usage,
): Promise<{ json: unknown; text: string }> {
  const enterpriseNumber = (): string => rest[0] ?? values['enterprise-number'] ?? usage('the enterprise number is required (<EN> or --enterprise-number)');
  switch (command) {
    case 'organisation register': {
      const org = await registerOrganisation(
        db,
        {
          enterpriseNumber: values['enterprise-number'] ?? usage('--enterprise-number is required'),
          name: values.name,
          names: names(values),
          contactEmail: values['contact-email'],
          contactPhone: values['contact-phone'],
          allowedOperations: items<SenderOperation>(values.operations, ALL_OPERATIONS, 'operations', usage) ?? [...ALL_OPERATIONS],
          allowedRecipientKinds: items<RecipientKind>(values['recipient-kinds'], ALL_RECIPIENT_KINDS, 'recipient kinds', usage) ?? [...ALL_RECIPIENT_KINDS],
          allowedMessageTypes: messageTypes(values['message-types']) ?? null,
        },
        by,
      );
      return { json: org, text: `Registered:\n${organisationText(org)}` };
    }
    case 'organisation update': {
      const org = await updateOrganisation(
        db,
        enterpriseNumber(),
        {
          name: values.name,
          names: names(values),
          contactEmail: values['contact-email'],
          contactPhone: values['contact-phone'],
          sendProofCopies: onOff(values['send-proof-copies'], 'send-proof-copies', usage),
        },
        by,
      );
      return { json: org, text: `Updated:\n${organisationText(org)}` };
    }
    case 'organisation authorise': {
      const org = await authoriseOrganisation(
        db,
        enterpriseNumber(),
        {
          operations: items<SenderOperation>(values.operations, ALL_OPERATIONS, 'operations', usage),
          recipientKinds: items<RecipientKind>(values['recipient-kinds'], ALL_RECIPIENT_KINDS, 'recipient kinds', usage),
          messageTypes: messageTypes(values['message-types']),
        },
        by,
      );
      return { json: org, text: `Authorised:\n${organisationText(org)}` };
    }
    case 'organisation show': {
      const org = await organisationDetails(db, enterpriseNumber());
      return {
        json: org,
        text: [
          organisationText(org),
          applicationLines(org.applications),
          org.certificates.length === 0 ? 'No certificates.' : table([['FINGERPRINT (SHA-256)', 'APPLICATION', 'NOT AFTER', 'REVOKED'], ...org.certificates.map((c) => [c.fingerprintSha256, c.applicationId ?? '-', c.notAfter.slice(0, 10), c.revokedAt ?? '-'])]),
        ].join('\n'),
      };
    }
    case 'organisation list': {
      const orgs = await organisationsDetails(db);
      const text =
        orgs.length === 0
          ? 'No sender organisations.'
          : table([
              ['ENTERPRISE NUMBER', 'NAME', 'OPERATIONS', 'RECIPIENT KINDS', 'MESSAGE TYPES', 'CONTACT'],
              ...orgs.map((o) => [o.enterpriseNumber, o.name, o.allowedOperations.join(','), o.allowedRecipientKinds.join(','), o.allowedMessageTypes?.join(',') ?? 'any', o.contact.email ?? o.contact.phone ?? '-']),
            ]);
      return { json: orgs, text };
    }
    case 'application register': {
      const application = await registerApplication(db, values['enterprise-number'] ?? usage('--enterprise-number is required'), values.name ?? usage('--name is required'), by);
      return { json: application, text: `Registered application ${application.id} "${application.name}" of organisation ${application.enterpriseNumber}.` };
    }
    case 'application list': {
      const applications = await applicationsOf(db, { enterpriseNumber: values['enterprise-number'], includeRevoked: values.all ?? false });
      return { json: applications, text: applicationLines(applications) };
    }
    case 'application revoke': {
      const revoked = await revokeApplication(db, rest[0] ?? usage('the id of the application to revoke is required'), by, values.reason);
      return {
        json: revoked,
        text: `Revoked application ${revoked.id} of organisation ${revoked.enterpriseNumber} at ${revoked.revokedAt}, and ${revoked.revokedCertificates.length} certificate(s) attached to it.`,
      };
    }
    case 'certificate expiring': {
      const days = values.days ?? '30';
      if (!/^\d+$/.test(days)) usage('--days must be a whole number of days');
      const now = new Date();
      const certificates = await expiringCertificates(db, Number(days), now);
      const text =
        certificates.length === 0
          ? `No registered sender certificate expires within ${days} days.`
          : table([
              ['FINGERPRINT (SHA-256)', 'ORGANISATION', 'APPLICATION', 'NOT AFTER', 'DAYS LEFT'],
              ...certificates.map((c) => [c.fingerprintSha256, c.enterpriseNumber, c.applicationId ?? '-', c.notAfter, String(Math.floor((new Date(c.notAfter).getTime() - now.getTime()) / 86_400_000))]),
            ]);
      return { json: certificates, text };
    }
    default:
      return usage(`unknown command "${command}"`);
  }
}
