// Security advisors: the only people who may read the processing log through the service. An advisor
// is a certificate (by SHA-256 fingerprint) registered here with a name and an organisation; they
// authenticate with it as a TLS client certificate. Registrations are revoked, never deleted, and
// every change is written to the processing log in the same transaction.
import { createHash, X509Certificate as NodeX509 } from 'node:crypto';
import type { AuditLog } from '../audit/index.js';
import { EpostError } from '../errors/index.js';
import type { Database } from '../storage/index.js';

export interface SecurityAdvisor {
  fingerprintSha256: string;
  subject: string;
  name: string;
  /** The organisation the advisor acts for (enterprise number, or "ePost"). */
  organisation: string;
}

/** Who makes an administrative change, as the log records it. */
export interface AdministrativeActor {
  executor: string;
  executorFingerprint?: string | undefined;
  responsible?: string | undefined;
}

type LogAppender = Pick<AuditLog, 'append' | 'now'>;

function fingerprintOf(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

/** Registers a certificate (PEM) as a security advisor's; returns its fingerprint. Re-registering a revoked one is refused. */
export async function registerSecurityAdvisor(
  db: Database,
  log: LogAppender,
  advisor: { certificatePem: string; name: string; organisation: string },
  by: AdministrativeActor,
): Promise<string> {
  let cert: NodeX509;
  try {
    cert = new NodeX509(advisor.certificatePem);
  } catch (err) {
    throw new EpostError('InvalidRequest', 'The security advisor certificate is not a readable X.509 certificate', err);
  }
  if (!advisor.name.trim()) throw new EpostError('InvalidRequest', 'A security advisor has a name');
  const fingerprint = fingerprintOf(cert.raw);
  await db.transaction(async (trx) => {
    const existing = await trx('security_advisors').where({ fingerprint_sha256: fingerprint }).first('revoked_at');
    if (existing?.revoked_at) throw new EpostError('InvalidRequest', `The certificate ${fingerprint} was revoked as a security advisor's; register a new one`);
    if (existing) return;
    await trx('security_advisors').insert({
      fingerprint_sha256: fingerprint,
      subject: cert.subject.replace(/\n/g, ', '),
      name: advisor.name,
      organisation: advisor.organisation,
      registered_at: log.now().toISOString(),
      revoked_at: null,
    });
    await log.append(trx, {
      operation: 'AdministrativeChange',
      outcome: 'completed',
      responsible: by.responsible ?? 'ePost',
      executor: by.executor,
      executorFingerprint: by.executorFingerprint,
      details: { change: 'securityAdvisor.register', fingerprint, name: advisor.name, organisation: advisor.organisation },
    });
  });
  return fingerprint;
}

export async function revokeSecurityAdvisor(db: Database, log: LogAppender, fingerprint: string, by: AdministrativeActor): Promise<void> {
  await db.transaction(async (trx) => {
    const revoked = await trx('security_advisors').where({ fingerprint_sha256: fingerprint }).whereNull('revoked_at').update({ revoked_at: log.now().toISOString() });
    if (revoked === 0) throw new EpostError('InvalidRequest', `No active security advisor has the certificate ${fingerprint}`);
    await log.append(trx, {
      operation: 'AdministrativeChange',
      outcome: 'completed',
      responsible: by.responsible ?? 'ePost',
      executor: by.executor,
      executorFingerprint: by.executorFingerprint,
      details: { change: 'securityAdvisor.revoke', fingerprint },
    });
  });
}

/** The active security advisor a (TLS-verified) certificate belongs to, if any. */
export async function securityAdvisorFor(db: Database, certificateDer: Buffer): Promise<SecurityAdvisor | undefined> {
  const row = await db('security_advisors').where({ fingerprint_sha256: fingerprintOf(certificateDer) }).whereNull('revoked_at').first();
  if (!row) return undefined;
  return { fingerprintSha256: row.fingerprint_sha256, subject: row.subject, name: row.name, organisation: row.organisation };
}
