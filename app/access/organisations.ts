// Sender organisations in full: names in the four languages, a contact, their applications (a named
// system of the organisation to which certificates are attached), their authorisations (operations,
// recipient kinds, message types), the expiry of their certificates and whether they receive a copy
// of every send-proof in their own enterprise eBox. Every change is written to
// the processing log in the same transaction, with who made it.
import { EpostError } from '../errors/index.js';
import type { RecipientKind } from '../identifiers/index.js';
import { isValidEnterpriseNumber, timeOrderedId } from '../identifiers/index.js';
import type { Database } from '../storage/index.js';
import {
  ALL_OPERATIONS,
  ALL_RECIPIENT_KINDS,
  booleanColumn,
  listSenderCertificates,
  registerSenderOrganisation,
  type SenderAdministrator,
  type SenderCertificateRecord,
  type SenderOperation,
  type SenderOrganisationRecord,
} from './index.js';

export const LANGUAGES = ['fr', 'nl', 'de', 'en'] as const;
export type OrganisationNames = Partial<Record<(typeof LANGUAGES)[number], string>>;

export interface OrganisationDetails extends SenderOrganisationRecord {
  names: Record<(typeof LANGUAGES)[number], string | null>;
  contact: { email: string | null; phone: string | null };
  /** null: any message type. */
  allowedMessageTypes: string[] | null;
  /** Whether it receives a copy of every send-proof in its own enterprise eBox. */
  sendProofCopies: boolean;
}

export interface SenderApplication {
  id: string;
  enterpriseNumber: string;
  name: string;
  registeredAt: string;
  registeredBy: string;
  revokedAt: string | null;
  revokedBy: string | null;
}

export interface OrganisationChanges {
  name?: string | undefined;
  names?: OrganisationNames | undefined;
  contactEmail?: string | undefined;
  contactPhone?: string | undefined;
  /** A copy of every send-proof in its own enterprise eBox, or not. */
  sendProofCopies?: boolean | undefined;
}

function invalid(reason: string): never {
  throw new EpostError('InvalidRequest', reason);
}

const nowOf = (by: SenderAdministrator): Date => (by.now ?? (() => new Date()))();

async function record(trx: Database, by: SenderAdministrator, responsible: string, details: Record<string, string | number | boolean | null>): Promise<void> {
  await by.log?.append(trx, { operation: 'AdministrativeChange', outcome: 'completed', at: nowOf(by), responsible, executor: by.executor, details });
}

function detailsFrom(row: Record<string, any>): OrganisationDetails {
  return {
    enterpriseNumber: row.enterprise_number,
    name: row.name,
    allowedOperations: JSON.parse(row.allowed_operations),
    allowedRecipientKinds: JSON.parse(row.allowed_recipient_kinds),
    registeredAt: row.registered_at,
    names: { fr: row.name_fr ?? null, nl: row.name_nl ?? null, de: row.name_de ?? null, en: row.name_en ?? null },
    contact: { email: row.contact_email ?? null, phone: row.contact_phone ?? null },
    allowedMessageTypes: row.allowed_message_types ? JSON.parse(row.allowed_message_types) : null,
    sendProofCopies: booleanColumn(row.send_proof_copies),
  };
}

function applicationFrom(row: Record<string, any>): SenderApplication {
  return {
    id: row.id,
    enterpriseNumber: row.enterprise_number,
    name: row.name,
    registeredAt: row.registered_at,
    registeredBy: row.registered_by,
    revokedAt: row.revoked_at ?? null,
    revokedBy: row.revoked_by ?? null,
  };
}

/** The columns names and contact map to, checked: what is not given is left out. */
function nameAndContactColumns(changes: OrganisationChanges): Record<string, string> {
  const columns: Record<string, string> = {};
  if (changes.name !== undefined) columns.name = changes.name.trim() || invalid('A sender organisation name cannot be empty');
  for (const language of LANGUAGES) {
    const value = changes.names?.[language];
    if (value === undefined) continue;
    if (!value.trim()) invalid(`The ${language} name cannot be empty`);
    if (value.length > 200) invalid(`The ${language} name is longer than 200 characters`);
    columns[`name_${language}`] = value.trim();
  }
  if (changes.contactEmail !== undefined) {
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(changes.contactEmail)) invalid(`"${changes.contactEmail}" is not an e-mail address`);
    columns.contact_email = changes.contactEmail;
  }
  if (changes.contactPhone !== undefined) {
    // E.164-like: a + and digits, spaces, dots or dashes allowed between them.
    if (!/^\+?[0-9][0-9 .\-]{5,30}$/.test(changes.contactPhone)) invalid(`"${changes.contactPhone}" is not a telephone number (e.g. +32 2 123 45 67)`);
    columns.contact_phone = changes.contactPhone;
  }
  return columns;
}

export async function organisationsDetails(db: Database): Promise<OrganisationDetails[]> {
  return (await db('sender_organisations').orderBy('enterprise_number')).map(detailsFrom);
}

/** One organisation with its applications and its certificates (revoked ones too), or InvalidRequest. */
export async function organisationDetails(
  db: Database,
  enterpriseNumber: string,
): Promise<OrganisationDetails & { applications: SenderApplication[]; certificates: SenderCertificateRecord[] }> {
  const row = await db('sender_organisations').where({ enterprise_number: enterpriseNumber }).first();
  if (!row) invalid(`No sender organisation ${enterpriseNumber} is registered`);
  return {
    ...detailsFrom(row),
    applications: await applicationsOf(db, { enterpriseNumber, includeRevoked: true }),
    certificates: await listSenderCertificates(db, { enterpriseNumber, includeRevoked: true }),
  };
}

/**
 * Registers an organisation (or registers it again: its names, contact and authorisations are then
 * replaced by those given), with its names in fr/nl/de/en and a contact. `name` defaults to the
 * first language name given.
 */
export async function registerOrganisation(
  db: Database,
  org: OrganisationChanges & { enterpriseNumber: string; allowedOperations: SenderOperation[]; allowedRecipientKinds: RecipientKind[]; allowedMessageTypes?: string[] | null },
  by: SenderAdministrator,
): Promise<OrganisationDetails> {
  if (!isValidEnterpriseNumber(org.enterpriseNumber)) invalid(`"${org.enterpriseNumber}" is not a valid enterprise number`);
  const name = org.name ?? org.names?.en ?? org.names?.fr ?? org.names?.nl ?? org.names?.de;
  if (name === undefined) invalid('A sender organisation has a name (--name, or --name-fr/-nl/-de/-en)');
  const columns = nameAndContactColumns({ ...org, name });
  checkAuthorisation(org.allowedOperations, org.allowedRecipientKinds);
  await db.transaction(async (trx) => {
    const messageTypes = org.allowedMessageTypes === undefined ? null : await knownMessageTypes(trx, org.allowedMessageTypes);
    await registerSenderOrganisation(trx, { enterpriseNumber: org.enterpriseNumber, name, allowedOperations: org.allowedOperations, allowedRecipientKinds: org.allowedRecipientKinds });
    const cleared = Object.fromEntries(['name_fr', 'name_nl', 'name_de', 'name_en', 'contact_email', 'contact_phone'].map((c) => [c, null]));
    await trx('sender_organisations')
      .where({ enterprise_number: org.enterpriseNumber })
      .update({ ...cleared, ...columns, allowed_message_types: messageTypes ? JSON.stringify(messageTypes) : null });
    await record(trx, by, org.enterpriseNumber, {
      change: 'senderOrganisation.register',
      enterpriseNumber: org.enterpriseNumber,
      ...columns,
      allowedOperations: org.allowedOperations.join(','),
      allowedRecipientKinds: org.allowedRecipientKinds.join(','),
      allowedMessageTypes: messageTypes ? messageTypes.join(',') : null,
    });
  });
  return detailsFrom(await db('sender_organisations').where({ enterprise_number: org.enterpriseNumber }).first());
}

/** Changes the names, the contact or the send-proof copies of a registered organisation; what is not given stays. */
export async function updateOrganisation(db: Database, enterpriseNumber: string, changes: OrganisationChanges, by: SenderAdministrator): Promise<OrganisationDetails> {
  const columns: Record<string, string | boolean> = nameAndContactColumns(changes);
  if (changes.sendProofCopies !== undefined) {
    if (typeof changes.sendProofCopies !== 'boolean') invalid('Send-proof copies are on or off');
    columns.send_proof_copies = changes.sendProofCopies;
  }
  if (Object.keys(columns).length === 0) invalid('Nothing to update: give --name, --name-fr/-nl/-de/-en, --contact-email, --contact-phone or --send-proof-copies');
  await db.transaction(async (trx) => {
    const updated = await trx('sender_organisations').where({ enterprise_number: enterpriseNumber }).update(columns);
    if (updated === 0) invalid(`No sender organisation ${enterpriseNumber} is registered`);
    const { send_proof_copies: copies, ...names } = columns;
    await record(trx, by, enterpriseNumber, { change: 'senderOrganisation.update', enterpriseNumber, ...names, ...(copies !== undefined ? { sendProofCopies: copies } : {}) });
  });
  return detailsFrom(await db('sender_organisations').where({ enterprise_number: enterpriseNumber }).first());
}

function checkAuthorisation(operations: string[] | undefined, kinds: string[] | undefined): void {
  for (const operation of operations ?? []) {
    if (!(ALL_OPERATIONS as string[]).includes(operation)) invalid(`"${operation}" is not an operation (${ALL_OPERATIONS.join(', ')})`);
  }
  for (const kind of kinds ?? []) {
    if (!(ALL_RECIPIENT_KINDS as string[]).includes(kind)) invalid(`"${kind}" is not a recipient kind (${ALL_RECIPIENT_KINDS.join(', ')})`);
  }
}

/** The message types named, sorted, once each; refused when one is not defined. null stays null (any). */
async function knownMessageTypes(trx: Database, ids: string[] | null): Promise<string[] | null> {
  if (ids === null) return null;
  const wanted = [...new Set(ids)].sort();
  if (wanted.length === 0) invalid('Name at least one message type, or "any"');
  const known: string[] = await trx('ebox_message_types').whereIn('id', wanted).pluck('id');
  const unknown = wanted.filter((id) => !known.includes(id));
  if (unknown.length > 0) invalid(`Unknown message type(s): ${unknown.join(', ')} (npm run admin -- ebox message-type define ...)`);
  return wanted;
}

/**
 * Sets what a registered organisation may do: operations, recipient kinds and message types (null:
 * any). What is not given stays as it was.
 */
export async function authoriseOrganisation(
  db: Database,
  enterpriseNumber: string,
  authorisation: { operations?: SenderOperation[] | undefined; recipientKinds?: RecipientKind[] | undefined; messageTypes?: string[] | null | undefined },
  by: SenderAdministrator,
): Promise<OrganisationDetails> {
  checkAuthorisation(authorisation.operations, authorisation.recipientKinds);
  if (authorisation.operations === undefined && authorisation.recipientKinds === undefined && authorisation.messageTypes === undefined) {
    invalid('Nothing to authorise: give --operations, --recipient-kinds or --message-types');
  }
  if (authorisation.operations?.length === 0 || authorisation.recipientKinds?.length === 0) invalid('Name at least one operation and one recipient kind');
  await db.transaction(async (trx) => {
    const row = await trx('sender_organisations').where({ enterprise_number: enterpriseNumber }).first();
    if (!row) invalid(`No sender organisation ${enterpriseNumber} is registered`);
    const columns: Record<string, string | null> = {};
    if (authorisation.operations) columns.allowed_operations = JSON.stringify(authorisation.operations);
    if (authorisation.recipientKinds) columns.allowed_recipient_kinds = JSON.stringify(authorisation.recipientKinds);
    if (authorisation.messageTypes !== undefined) {
      const types = await knownMessageTypes(trx, authorisation.messageTypes);
      columns.allowed_message_types = types ? JSON.stringify(types) : null;
    }
    await trx('sender_organisations').where({ enterprise_number: enterpriseNumber }).update(columns);
    const after = detailsFrom({ ...row, ...columns });
    await record(trx, by, enterpriseNumber, {
      change: 'senderOrganisation.authorise',
      enterpriseNumber,
      allowedOperations: after.allowedOperations.join(','),
      allowedRecipientKinds: after.allowedRecipientKinds.join(','),
      allowedMessageTypes: after.allowedMessageTypes ? after.allowedMessageTypes.join(',') : null,
    });
  });
  return detailsFrom(await db('sender_organisations').where({ enterprise_number: enterpriseNumber }).first());
}

export async function registerApplication(db: Database, enterpriseNumber: string, name: string, by: SenderAdministrator): Promise<SenderApplication> {
  if (!name.trim()) invalid('An application has a name');
  if (name.length > 200) invalid('An application name is at most 200 characters');
  const registeredAt = nowOf(by);
  const id = timeOrderedId(registeredAt);
  await db.transaction(async (trx) => {
    const org = await trx('sender_organisations').where({ enterprise_number: enterpriseNumber }).first('enterprise_number');
    if (!org) invalid(`No sender organisation ${enterpriseNumber} is registered`);
    const same = await trx('sender_applications').where({ enterprise_number: enterpriseNumber, name: name.trim() }).whereNull('revoked_at').first('id');
    if (same) invalid(`Organisation ${enterpriseNumber} already has an application "${name.trim()}" (${same.id})`);
    await trx('sender_applications').insert({ id, enterprise_number: enterpriseNumber, name: name.trim(), registered_at: registeredAt.toISOString(), registered_by: by.executor });
    await record(trx, by, enterpriseNumber, { change: 'senderApplication.register', enterpriseNumber, applicationId: id, name: name.trim() });
  });
  return applicationFrom(await db('sender_applications').where({ id }).first());
}

export async function applicationsOf(db: Database, filter: { enterpriseNumber?: string | undefined; includeRevoked?: boolean } = {}): Promise<SenderApplication[]> {
  let query = db('sender_applications').orderBy([{ column: 'enterprise_number' }, { column: 'registered_at' }]);
  if (filter.enterpriseNumber) query = query.where({ enterprise_number: filter.enterpriseNumber });
  if (!filter.includeRevoked) query = query.whereNull('revoked_at');
  return (await query).map(applicationFrom);
}

/**
 * Revokes an application, and with it every certificate attached to it (from this commit on, their
 * requests are refused). Final, like a certificate revocation.
 */
export async function revokeApplication(
  db: Database,
  id: string,
  by: SenderAdministrator,
  reason?: string,
): Promise<SenderApplication & { revokedCertificates: string[] }> {
  const at = nowOf(by).toISOString();
  let revokedCertificates: string[] = [];
  await db.transaction(async (trx) => {
    const row = await trx('sender_applications').where({ id }).first();
    if (!row) invalid(`No application ${id} is registered`);
    if (row.revoked_at) invalid(`The application ${id} was already revoked on ${row.revoked_at}`);
    await trx('sender_applications').where({ id }).update({ revoked_at: at, revoked_by: by.executor });
    revokedCertificates = await trx('sender_certificates').where({ application_id: id }).whereNull('revoked_at').orderBy('fingerprint_sha256').pluck('fingerprint_sha256');
    await trx('sender_certificates').where({ application_id: id }).whereNull('revoked_at').update({ revoked_at: at });
    await record(trx, by, row.enterprise_number, {
      change: 'senderApplication.revoke',
      enterpriseNumber: row.enterprise_number,
      applicationId: id,
      revokedCertificates: revokedCertificates.join(','),
      reason: reason ?? null,
    });
  });
  return { ...applicationFrom(await db('sender_applications').where({ id }).first()), revokedCertificates };
}

/**
 * Registered, unrevoked sender certificates whose validity ends within `days` days from `now` (those
 * already expired included: they still need replacing), soonest first.
 */
export async function expiringCertificates(db: Database, days: number, now: Date = new Date()): Promise<SenderCertificateRecord[]> {
  if (!Number.isFinite(days) || days < 0) invalid(`"${days}" is not a number of days`);
  const limit = now.getTime() + days * 86_400_000;
  return (await listSenderCertificates(db)).filter((c) => new Date(c.notAfter).getTime() <= limit).sort((a, b) => a.notAfter.localeCompare(b.notAfter));
}

/** How many registered, unrevoked sender certificates expire within `days` days (for /metrics). */
export async function certificatesExpiringWithin(db: Database, days: number, now: Date = new Date()): Promise<number> {
  return (await expiringCertificates(db, days, now)).length;
}
