// Access management: which organisations may send, with which certificates, which operations and
// to which kinds of recipients. A certificate authenticates only once it is registered here.
import { createHash, X509Certificate as NodeX509 } from 'node:crypto';
import { EpostError } from '../errors/index.js';
import type { RecipientKind } from '../identifiers/index.js';
import { isValidEnterpriseNumber } from '../identifiers/index.js';
import type { Database } from '../storage/index.js';

export type SenderOperation = 'SendRegisteredMail' | 'GetProofOfDelivery';
export const ALL_OPERATIONS: SenderOperation[] = ['SendRegisteredMail', 'GetProofOfDelivery'];
export const ALL_RECIPIENT_KINDS: RecipientKind[] = ['citizen', 'enterprise'];

export interface SenderOrganisation {
  enterpriseNumber: string;
  name: string;
  allowedOperations: SenderOperation[];
  allowedRecipientKinds: RecipientKind[];
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
  const row = await db('sender_certificates as c')
    .join('sender_organisations as o', 'o.enterprise_number', 'c.enterprise_number')
    .where('c.fingerprint_sha256', fingerprint)
    .whereNull('c.revoked_at')
    .first('o.enterprise_number', 'o.name', 'o.allowed_operations', 'o.allowed_recipient_kinds');
  if (!row) {
    throw new EpostError('FailedAuthentication', 'The signing certificate is not registered for any sender organisation');
  }
  return {
    enterpriseNumber: row.enterprise_number,
    name: row.name,
    allowedOperations: JSON.parse(row.allowed_operations),
    allowedRecipientKinds: JSON.parse(row.allowed_recipient_kinds),
    certificateSubject: subject,
    certificateFingerprintSha256: fingerprint,
  };
}

export function authorise(sender: SenderOrganisation, operation: SenderOperation, recipientKind?: RecipientKind): void {
  if (!sender.allowedOperations.includes(operation)) {
    throw new EpostError('NotAuthorized', `${sender.name} (${sender.enterpriseNumber}) may not use ${operation}`);
  }
  if (recipientKind && !sender.allowedRecipientKinds.includes(recipientKind)) {
    throw new EpostError('NotAuthorized', `${sender.name} (${sender.enterpriseNumber}) may not send to ${recipientKind} eBoxes`);
  }
}
