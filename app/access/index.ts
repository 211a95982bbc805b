// Access management: which organisations may send, with which certificates, which operations and
// to which kinds of recipients. A certificate authenticates only once it is registered here.
import { createHash, X509Certificate as NodeX509 } from 'node:crypto';
import type { AuditLog } from '../audit/index.js';
import { EpostError } from '../errors/index.js';
import { x509 } from '../pki/index.js';
import type { RecipientKind } from '../identifiers/index.js';
import { isValidEnterpriseNumber } from '../identifiers/index.js';
import { statementsOf, type Database } from '../storage/index.js';

export type SenderOperation = 'SendRegisteredMail' | 'GetProofOfDelivery';
export const ALL_OPERATIONS: SenderOperation[] = ['SendRegisteredMail', 'GetProofOfDelivery'];
export const ALL_RECIPIENT_KINDS: RecipientKind[] = ['citizen', 'enterprise'];

export interface SenderOrganisation {
  enterpriseNumber: string;
  name: string;
  allowedOperations: SenderOperation[];
  allowedRecipientKinds: RecipientKind[];
  /** The message types it may send; absent or null: not restricted. */
  allowedMessageTypes?: string[] | null;
  /** Whether it receives a copy of every send-proof in its own enterprise eBox (absent: no). */
  sendProofCopies?: boolean;
}

export interface AuthenticatedSender extends SenderOrganisation {
  certificateSubject: string;
  certificateFingerprintSha256: string;
}

export function certificateFingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

export async function registerSenderOrganisation(db: Database, org: SenderOrganisation): Promise<void> {
  if (!isValidEnterpriseNumber(org.enterpriseNumber)) {
    throw new EpostError('InvalidRequest', `"${org.enterpriseNumber}" is not a valid enterprise number`);
  }
  const row = {
    enterprise_number: org.enterpriseNumber,
    name: org.name,
    allowed_operations: JSON.stringify(org.allowedOperations),
    allowed_recipient_kinds: JSON.stringify(org.allowedRecipientKinds),
    registered_at: new Date().toISOString(),
  };
  await db('sender_organisations').insert(row).onConflict('enterprise_number').merge(['name', 'allowed_operations', 'allowed_recipient_kinds']);
}

/** Registers a certificate (PEM) for an organisation; returns its SHA-256 fingerprint. Idempotent. */
export async function registerSenderCertificate(db: Database, enterpriseNumber: string, certificatePem: string): Promise<string> {
  const cert = new NodeX509(certificatePem);
  const fingerprint = certificateFingerprint(cert.raw);
  const org = await db('sender_organisations').where({ enterprise_number: enterpriseNumber }).first();
  if (!org) throw new EpostError('InvalidRequest', `no sender organisation ${enterpriseNumber} is registered`);
  await db('sender_certificates')
    .insert({
      fingerprint_sha256: fingerprint,
      enterprise_number: enterpriseNumber,
      subject: cert.subject.replace(/\n/g, ', '),
      not_after: new Date(cert.validTo).toISOString(),
      registered_at: new Date().toISOString(),
      revoked_at: null,
    })
    .onConflict('fingerprint_sha256')
    .ignore();
  return fingerprint;
}

/** The organisation a validated signing certificate belongs to, or FailedAuthentication. */
export async function senderForCertificate(db: Database, fingerprint: string, subject: string): Promise<AuthenticatedSender> {
  // Plain SQL: every request asks.
  const [row] = await statementsOf(db).rows<SenderOrganisationRow>(
    `select ${SENDER_COLUMNS} from sender_certificates c join sender_organisations o on o.enterprise_number = c.enterprise_number
      where c.fingerprint_sha256 = ? and c.revoked_at is null limit 1`,
    [fingerprint],
  );
  if (!row) {
    throw new EpostError('FailedAuthentication', 'The signing certificate is not registered for any sender organisation');
  }
  // A registration cannot make one organisation's certificate speak for another.
  return authenticatedSender(row, subject, fingerprint, 'signing certificate', ' but is registered for');
}

/**
 * The sender organisation a trusted STS's SAML assertion names (holder-of-key): authorisation goes by
 * the organisation, not by a certificate registration. `subject` and `fingerprint` are those of the
 * certificate the assertion confirms (who executed the request). An organisation that is not
 * registered is NotAuthorized; a certificate naming another organisation (organizationIdentifier)
 * cannot speak for this one.
 */
export async function senderForOrganisation(db: Database, enterpriseNumber: string, subject: string, fingerprint: string): Promise<AuthenticatedSender> {
  const [row] = await statementsOf(db).rows<SenderOrganisationRow>(`select ${SENDER_COLUMNS} from sender_organisations o where o.enterprise_number = ? limit 1`, [enterpriseNumber]);
  if (!row) throw new EpostError('NotAuthorized', `Organisation ${enterpriseNumber} is not registered as a sender`);
  return authenticatedSender(row, subject, fingerprint, 'confirmed certificate', ', not to');
}

const SENDER_COLUMNS = 'o.enterprise_number, o.name, o.allowed_operations, o.allowed_recipient_kinds, o.allowed_message_types, o.send_proof_copies';

interface SenderOrganisationRow {
  enterprise_number: string;
  name: string;
  allowed_operations: string;
  allowed_recipient_kinds: string;
  allowed_message_types: string | null;
  /** A boolean column: SQLite answers 0 or 1. */
  send_proof_copies: boolean | number | null;
}

/** A boolean column as read back (SQLite stores 0 and 1). */
export function booleanColumn(value: unknown): boolean {
  return value === true || value === 1 || value === '1';
}

/**
 * The authenticated sender of an organisation row, refused when the certificate names another
 * organisation (organizationIdentifier): one organisation's certificate never speaks for another.
 */
function authenticatedSender(row: SenderOrganisationRow, subject: string, fingerprint: string, certificate: string, relation: string): AuthenticatedSender {
  const named = enterpriseNumbersNamedBy(subject);
  if (named.length > 0 && !named.includes(row.enterprise_number)) {
    throw new EpostError(
      'FailedAuthentication',
      `The ${certificate} belongs to organisation ${named.join(', ')} (organizationIdentifier)${relation} ${row.enterprise_number}`,
    );
  }
  return {
    enterpriseNumber: row.enterprise_number,
    name: row.name,
    allowedOperations: JSON.parse(row.allowed_operations),
    allowedRecipientKinds: JSON.parse(row.allowed_recipient_kinds),
    allowedMessageTypes: row.allowed_message_types ? JSON.parse(row.allowed_message_types) : null,
    sendProofCopies: booleanColumn(row.send_proof_copies),
    certificateSubject: subject,
    certificateFingerprintSha256: fingerprint,
  };
}

/** `messageType` is checked only where a request carries one (SOAP sends carry none today). */
export function authorise(sender: SenderOrganisation, operation: SenderOperation, recipientKind?: RecipientKind, messageType?: string): void {
  if (!sender.allowedOperations.includes(operation)) {
    throw new EpostError('NotAuthorized', `${sender.name} (${sender.enterpriseNumber}) may not use ${operation}`);
  }
  if (recipientKind && !sender.allowedRecipientKinds.includes(recipientKind)) {
    throw new EpostError('NotAuthorized', `${sender.name} (${sender.enterpriseNumber}) may not send to ${recipientKind} eBoxes`);
  }
  if (messageType !== undefined && sender.allowedMessageTypes && !sender.allowedMessageTypes.includes(messageType)) {
    throw new EpostError('NotAuthorized', `${sender.name} (${sender.enterpriseNumber}) may not send messages of type ${messageType}`);
  }
}

// --- Sender certificate lifecycle: register, list, revoke (npm run admin). Every change is recorded
// in the processing log, in the same transaction, with who made it.

export interface SenderOrganisationRecord extends SenderOrganisation {
  registeredAt: string;
}

export interface SenderCertificateRecord {
  fingerprintSha256: string;
  enterpriseNumber: string;
  subject: string;
  notAfter: string;
  registeredAt: string;
  revokedAt: string | null;
  /** The application of the organisation it is attached to, if any. */
  applicationId: string | null;
}

/** Who makes an access-management change, and the log it is recorded in (none in tests of this module alone). */
export interface SenderAdministrator {
  executor: string;
  log?: Pick<AuditLog, 'append'>;
  now?: () => Date;
}

/**
 * The enterprise numbers a certificate subject names in organizationIdentifier (ETSI EN 319 412-1:
 * "NTRBE-" or "VATBE-" followed by the number). Empty when the subject names none or cannot be read.
 */
export function enterpriseNumbersNamedBy(subject: string): string[] {
  let named = namedBySubject.get(subject);
  if (!named) {
    named = parseEnterpriseNumbers(subject);
    // Every request names its certificate's subject, and the senders' subjects are few: parsed once each.
    if (namedBySubject.size >= 1000) namedBySubject.clear();
    namedBySubject.set(subject, named);
  }
  return [...named];
}

const namedBySubject = new Map<string, readonly string[]>();

function parseEnterpriseNumbers(subject: string): string[] {
  let values: string[];
  try {
    values = new x509.Name(subject).getField('2.5.4.97');
  } catch {
    return [];
  }
  return values.map((value) => {
    const match = /^(?:NTR|VAT)BE-?([0-9.\s]+)$/i.exec(value.trim());
    return match ? match[1]!.replace(/\D/g, '') : value.trim();
  });
}

function certificateFrom(row: Record<string, unknown>): SenderCertificateRecord {
  return {
    fingerprintSha256: String(row.fingerprint_sha256),
    enterpriseNumber: String(row.enterprise_number),
    subject: String(row.subject),
    notAfter: String(row.not_after),
    registeredAt: String(row.registered_at),
    revokedAt: (row.revoked_at as string | null) ?? null,
    applicationId: (row.application_id as string | null) ?? null,
  };
}

async function recordChange(trx: Database, by: SenderAdministrator, responsible: string, details: Record<string, string | number | boolean | null>): Promise<void> {
  await by.log?.append(trx, { operation: 'AdministrativeChange', outcome: 'completed', responsible, executor: by.executor, details });
}

export async function listSenderOrganisations(db: Database): Promise<SenderOrganisationRecord[]> {
  const rows = await db('sender_organisations').orderBy('enterprise_number');
  return rows.map((row) => ({
    enterpriseNumber: row.enterprise_number,
    name: row.name,
    allowedOperations: JSON.parse(row.allowed_operations),
    allowedRecipientKinds: JSON.parse(row.allowed_recipient_kinds),
    registeredAt: row.registered_at,
  }));
}

/** Registers or updates an organisation, recording the change. */
export async function registerSenderOrganisationBy(db: Database, org: SenderOrganisation, by: SenderAdministrator): Promise<SenderOrganisationRecord> {
  for (const operation of org.allowedOperations) {
    if (!ALL_OPERATIONS.includes(operation)) throw new EpostError('InvalidRequest', `"${operation}" is not an operation (${ALL_OPERATIONS.join(', ')})`);
  }
  for (const kind of org.allowedRecipientKinds) {
    if (!ALL_RECIPIENT_KINDS.includes(kind)) throw new EpostError('InvalidRequest', `"${kind}" is not a recipient kind (${ALL_RECIPIENT_KINDS.join(', ')})`);
  }
  if (!org.name.trim()) throw new EpostError('InvalidRequest', 'A sender organisation has a name');
  await db.transaction(async (trx) => {
    await registerSenderOrganisation(trx, org);
    await recordChange(trx, by, org.enterpriseNumber, {
      change: 'senderOrganisation.register',
      enterpriseNumber: org.enterpriseNumber,
      name: org.name,
      allowedOperations: org.allowedOperations.join(','),
      allowedRecipientKinds: org.allowedRecipientKinds.join(','),
    });
  });
  return (await listSenderOrganisations(db)).find((o) => o.enterpriseNumber === org.enterpriseNumber)!;
}

export async function listSenderCertificates(db: Database, filter: { enterpriseNumber?: string; includeRevoked?: boolean } = {}): Promise<SenderCertificateRecord[]> {
  let query = db('sender_certificates').orderBy([{ column: 'enterprise_number' }, { column: 'registered_at' }]);
  if (filter.enterpriseNumber) query = query.where({ enterprise_number: filter.enterpriseNumber });
  if (!filter.includeRevoked) query = query.whereNull('revoked_at');
  return (await query).map(certificateFrom);
}

/**
 * Registers a sender certificate (PEM) for an organisation, with the checks the lenient start-up
 * registration lacks: a readable, unexpired certificate; an organisation that exists; a subject that
 * names no other organisation; not registered to another organisation; and never re-registering a
 * revoked one (a revocation is final: register a new certificate). Registering it again for the same
 * organisation changes nothing.
 */
export async function registerSenderCertificateBy(
  db: Database,
  enterpriseNumber: string,
  certificatePem: string,
  by: SenderAdministrator,
  options: { applicationId?: string | undefined } = {},
): Promise<SenderCertificateRecord> {
  let cert: NodeX509;
  try {
    cert = new NodeX509(certificatePem);
  } catch (err) {
    throw new EpostError('InvalidRequest', 'The sender certificate is not a readable X.509 certificate (PEM)', err);
  }
  const now = (by.now ?? (() => new Date()))();
  if (new Date(cert.validTo).getTime() < now.getTime()) throw new EpostError('InvalidRequest', `The certificate expired on ${new Date(cert.validTo).toISOString()}`);
  const fingerprint = certificateFingerprint(cert.raw);
  const subject = new x509.X509Certificate(cert.raw).subject;
  const named = enterpriseNumbersNamedBy(subject);
  if (named.length > 0 && !named.includes(enterpriseNumber)) {
    throw new EpostError('InvalidRequest', `The certificate names organisation ${named.join(', ')} (organizationIdentifier), not ${enterpriseNumber}`);
  }
  await db.transaction(async (trx) => {
    const org = await trx('sender_organisations').where({ enterprise_number: enterpriseNumber }).first('enterprise_number');
    if (!org) throw new EpostError('InvalidRequest', `No sender organisation ${enterpriseNumber} is registered (npm run admin -- organisation register ...)`);
    const existing = await trx('sender_certificates').where({ fingerprint_sha256: fingerprint }).first();
    if (existing && existing.enterprise_number !== enterpriseNumber) {
      throw new EpostError('InvalidRequest', `The certificate ${fingerprint} is already registered for organisation ${existing.enterprise_number}`);
    }
    if (existing?.revoked_at) throw new EpostError('InvalidRequest', `The certificate ${fingerprint} was revoked on ${existing.revoked_at}; a revocation is final, register a new certificate`);
    if (options.applicationId !== undefined) {
      const application = await trx('sender_applications').where({ id: options.applicationId }).first();
      if (!application || application.enterprise_number !== enterpriseNumber) {
        throw new EpostError('InvalidRequest', `No application ${options.applicationId} of organisation ${enterpriseNumber} is registered`);
      }
      if (application.revoked_at) throw new EpostError('InvalidRequest', `The application ${options.applicationId} was revoked on ${application.revoked_at}`);
      if (existing && existing.application_id !== options.applicationId) {
        throw new EpostError('InvalidRequest', `The certificate ${fingerprint} is already registered${existing.application_id ? ` for application ${existing.application_id}` : ' without an application'}`);
      }
    }
    if (existing) return;
    await trx('sender_certificates').insert({
      fingerprint_sha256: fingerprint,
      enterprise_number: enterpriseNumber,
      subject,
      not_after: new Date(cert.validTo).toISOString(),
      registered_at: now.toISOString(),
      revoked_at: null,
      application_id: options.applicationId ?? null,
    });
    await recordChange(trx, by, enterpriseNumber, { change: 'senderCertificate.register', enterpriseNumber, fingerprint, subject, applicationId: options.applicationId ?? null });
  });
  return certificateFrom(await db('sender_certificates').where({ fingerprint_sha256: fingerprint }).first());
}

/**
 * Revokes a sender certificate registration by its SHA-256 fingerprint (a unique prefix of at least
 * 16 hex digits is enough). From the moment this commits, every request signed with it is refused,
 * whatever its CA's CRL says. Revoking it again is refused, so the first revocation time stands.
 */
export async function revokeSenderCertificate(db: Database, fingerprint: string, by: SenderAdministrator, reason?: string): Promise<SenderCertificateRecord> {
  const wanted = fingerprint.trim().toLowerCase().replace(/:/g, '');
  if (!/^[0-9a-f]{16,64}$/.test(wanted)) throw new EpostError('InvalidRequest', `"${fingerprint}" is not a SHA-256 fingerprint (64 hex digits, or a unique prefix of at least 16)`);
  const now = (by.now ?? (() => new Date()))();
  let revoked: string | undefined;
  await db.transaction(async (trx) => {
    const rows = await trx('sender_certificates').where('fingerprint_sha256', 'like', `${wanted}%`).limit(2);
    if (rows.length === 0) throw new EpostError('InvalidRequest', `No sender certificate ${wanted} is registered`);
    if (rows.length > 1) throw new EpostError('InvalidRequest', `The prefix ${wanted} matches several certificates; give more of the fingerprint`);
    const row = rows[0]!;
    if (row.revoked_at) throw new EpostError('InvalidRequest', `The certificate ${row.fingerprint_sha256} was already revoked on ${row.revoked_at}`);
    await trx('sender_certificates').where({ fingerprint_sha256: row.fingerprint_sha256 }).whereNull('revoked_at').update({ revoked_at: now.toISOString() });
    await recordChange(trx, by, row.enterprise_number, {
      change: 'senderCertificate.revoke',
      enterpriseNumber: row.enterprise_number,
      fingerprint: row.fingerprint_sha256,
      reason: reason ?? null,
    });
    revoked = row.fingerprint_sha256;
  });
  return certificateFrom(await db('sender_certificates').where({ fingerprint_sha256: revoked! }).first());
}

export {
  applicationsOf,
  authoriseOrganisation,
  certificatesExpiringWithin,
  expiringCertificates,
  organisationDetails,
  organisationsDetails,
  registerApplication,
  registerOrganisation,
  revokeApplication,
  updateOrganisation,
  type OrganisationDetails,
  type OrganisationNames,
  type OrganisationChanges,
  type SenderApplication,
} from './organisations.js';
