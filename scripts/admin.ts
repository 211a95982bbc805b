// npm run admin -- <noun> <verb> [options]: sender organisations, their applications and certificates.
//   organisation register|update|authorise|show|list, application register|list|revoke,
//   certificate expiring                                              (scripts/admin/organisation.ts)
//   certificate register --enterprise-number <EN> --cert <file.pem> [--application <id>]  (validated as ePost validates a signer)
//   certificate list [--enterprise-number <EN>] [--all]               (--all: revoked ones too)
//   certificate revoke <fingerprint> [--reason <text>]                (refused at once, whatever the CRL says)
//   advisor register --cert <file.pem> --name <name> [--organisation <EN or ePost>]
//   advisor list | advisor revoke <fingerprint>                       (who may read the processing log)
//   ebox ...                                                          (mandates, enterprise users, message types: scripts/admin/ebox.ts)
//   batch-channel choose|leave|list|batches ...                       (batch-channel recipients: scripts/admin/batchChannel.ts)
// Every command takes --json (machine-readable output) and --by <name> (who acts; default the OS
// user). Changes are recorded in the processing log. Reads the service's configuration (EPOST_DB /
// DATABASE_URL, EPOST_CERTS_DIR, EPOST_DATA_KEY, EPOST_REVOCATION). Exit 0 done, 1 refused, 2 usage.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { listSenderCertificates, registerSenderCertificateBy, revokeSenderCertificate, type SenderAdministrator, type SenderCertificateRecord } from '../app/access/index.js';
import { AuditLog } from '../app/audit/index.js';
import { loadConfig } from '../app/config/index.js';
import { EpostError } from '../app/errors/index.js';
import { pkiLayout, TrustStore, x509 } from '../app/pki/index.js';
import { loadDataVault, openDatabase, type Database } from '../app/storage/index.js';
import { registerSecurityAdvisor, revokeSecurityAdvisor } from '../app/access/securityAdvisors.js';
import { ORGANISATION_ADMIN_USAGE, ORGANISATION_COMMANDS, ORGANISATION_OPTIONS, runOrganisationCommand } from './admin/organisation.js';

const USAGE = [
  `usage: ${ORGANISATION_ADMIN_USAGE.trimStart()}`,
  '       npm run admin -- certificate register --enterprise-number <EN> --cert <file.pem> [--application <id>]',
  '       npm run admin -- certificate list [--enterprise-number <EN>] [--all]',
  '       npm run admin -- certificate revoke <fingerprint> [--reason <text>]',
  '       npm run admin -- advisor register --cert <file.pem> --name <name> [--organisation <EN or ePost>]',
  '       npm run admin -- advisor list | advisor revoke <fingerprint>',
  '       npm run admin -- ebox mandate|enterprise-user|message-type <verb> ...   (npm run admin -- ebox: its usage)',
  '       npm run admin -- batch-channel choose <EN> [--outbox <folder>] | leave <EN> | list | batches <EN>',
  '       (every command: [--json] [--by <name>])',
].join('\n');

class UsageError extends Error {}

function usage(message?: string): never {
  throw new UsageError(message ? `${message}\n${USAGE}` : USAGE);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function certificateLines(certificates: SenderCertificateRecord[]): string {
  if (certificates.length === 0) return 'No sender certificates.';
  return table([
    ['FINGERPRINT (SHA-256)', 'ORGANISATION', 'NOT AFTER', 'REVOKED', 'SUBJECT'],
    ...certificates.map((c) => [c.fingerprintSha256, c.enterpriseNumber, c.notAfter.slice(0, 10), c.revokedAt ?? '-', c.subject]),
  ]);
}

function executorFrom(by: string | undefined): string {
  return `admin:${by ?? os.userInfo().username}`;
}

/** Usage mistakes of the nouns handed over to other modules: they exit 2 as ours do. */
const delegatedUsageErrors: Array<new (message: string) => Error> = [];

type Delegated = (
  argv: string[],
  state: { db: Database; audit: AuditLog; config: ReturnType<typeof loadConfig>; now(): Date },
  executor: string,
) => Promise<{ json: unknown; text: string }>;

/**
 * The `ebox` and `batch-channel` nouns are other folders': handed over whole (the arguments after the
 * noun), with the database, the log, the configuration and the clock. Loaded only when asked for, as
 * each weighs as much as the rest of the command together.
 */
async function delegate(argv: string[], load: () => Promise<{ run: Delegated; usageError: new (message: string) => Error }>): Promise<{ json: unknown; text: string }> {
  const { run, usageError } = await load();
  delegatedUsageErrors.push(usageError);
  const { values } = parseArgs({ args: argv, strict: false, allowPositionals: true, options: { by: { type: 'string' } } });
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    const audit = await openLog(config, db, pkiLayout(config.certsDir).devDir);
    return await run(argv.slice(1), { db, audit, config, now: () => new Date() }, executorFrom(typeof values.by === 'string' ? values.by : undefined));
  } finally {
    await db.destroy();
  }
}

const ebox = (argv: string[]) =>
  delegate(argv, async () => {
    const m = await import('./admin/ebox.js');
    return { run: m.runEboxCommand, usageError: m.EboxUsageError };
  });
const batchChannel = (argv: string[]) =>
  delegate(argv, async () => {
    const m = await import('./admin/batchChannel.js');
    return { run: m.runBatchChannelCommand, usageError: m.BatchChannelUsageError };
  });

async function main(argv: string[]): Promise<{ json: unknown; text: string }> {
  if (argv[0] === 'ebox') return ebox(argv);
  if (argv[0] === 'batch-channel') return batchChannel(argv);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      by: { type: 'string' },
      'enterprise-number': { type: 'string' },
      name: { type: 'string' },
      operations: { type: 'string' },
      'recipient-kinds': { type: 'string' },
      cert: { type: 'string' },
      all: { type: 'boolean' },
      reason: { type: 'string' },
      organisation: { type: 'string' },
      application: { type: 'string' },
      ...ORGANISATION_OPTIONS,
    },
  });
  const [noun, verb, ...rest] = positionals;
  const known = [
    ...ORGANISATION_COMMANDS,
    'certificate register',
    'certificate list',
    'certificate revoke',
    'advisor register',
    'advisor list',
    'advisor revoke',
  ];
  if (!noun || !verb || !known.includes(`${noun} ${verb}`)) usage();

  const config = loadConfig();
  const layout = pkiLayout(config.certsDir);
  const db = await openDatabase(config);
  try {
    const needsLog = !['list', 'show', 'expiring'].includes(verb);
    const by: SenderAdministrator = {
      executor: executorFrom(values.by),
      ...(needsLog ? { log: await openLog(config, db, layout.devDir) } : {}),
    };
    if (ORGANISATION_COMMANDS.includes(`${noun} ${verb}`)) return await runOrganisationCommand(`${noun} ${verb}`, values, rest, db, by, usage);
    switch (`${noun} ${verb}`) {
      case 'certificate register': {
        const enterpriseNumber = values['enterprise-number'] ?? usage('--enterprise-number is required');
        const file = values.cert ?? usage('--cert <file.pem> is required');
        const resolved = path.resolve(process.cwd(), file);
        if (!fs.existsSync(resolved)) throw new EpostError('InvalidRequest', `${file}: no such file`);
        const pem = fs.readFileSync(resolved, 'utf8');
        // Registering a certificate the gate would refuse helps nobody: validate it as a signer now.
        let certificate: x509.X509Certificate;
        try {
          certificate = new x509.X509Certificate(pem);
        } catch (err) {
          throw new EpostError('InvalidRequest', `${file} is not a readable X.509 certificate (PEM)`, err);
        }
        try {
          await TrustStore.fromConfig(config).validateSigner(certificate, new Date());
        } catch (err) {
          if (err instanceof EpostError) throw new EpostError('InvalidRequest', `The certificate is not acceptable as a sender certificate: ${err.message}`, err);
          throw err;
        }
        const registered = await registerSenderCertificateBy(db, enterpriseNumber, pem, by, { applicationId: values.application });
        return {
          json: registered,
          text: `Registered certificate ${registered.fingerprintSha256} for organisation ${registered.enterpriseNumber}${registered.applicationId ? `, application ${registered.applicationId}` : ''} (${registered.subject}).`,
        };
      }
      case 'certificate list': {
        const certificates = await listSenderCertificates(db, {
          ...(values['enterprise-number'] ? { enterpriseNumber: values['enterprise-number'] } : {}),
          includeRevoked: values.all ?? false,
        });
        return { json: certificates, text: certificateLines(certificates) };
      }
      case 'certificate revoke': {
        const fingerprint = rest[0] ?? usage('the fingerprint of the certificate to revoke is required');
        const revoked = await revokeSenderCertificate(db, fingerprint, by, values.reason);
        return {
          json: revoked,
          text: `Revoked certificate ${revoked.fingerprintSha256} of organisation ${revoked.enterpriseNumber} at ${revoked.revokedAt}: requests signed with it are refused from now on.`,
        };
      }
      case 'advisor register': {
        const file = values.cert ?? usage('--cert <file.pem> is required');
        const resolved = path.resolve(process.cwd(), file);
        if (!fs.existsSync(resolved)) throw new EpostError('InvalidRequest', `${file}: no such file`);
        const fingerprint = await registerSecurityAdvisor(
          db,
          await openLog(config, db, layout.devDir),
          { certificatePem: fs.readFileSync(resolved, 'utf8'), name: values.name ?? usage('--name is required'), organisation: values.organisation ?? 'ePost' },
          { executor: by.executor },
        );
        return { json: { fingerprintSha256: fingerprint }, text: `Registered security advisor ${values.name} (certificate ${fingerprint}).` };
      }
      case 'advisor list': {
        const advisors = await db('security_advisors').orderBy('registered_at').select('fingerprint_sha256', 'name', 'organisation', 'registered_at', 'revoked_at', 'subject');
        const text =
          advisors.length === 0
            ? 'No security advisors.'
            : table([['FINGERPRINT (SHA-256)', 'NAME', 'ORGANISATION', 'REVOKED'], ...advisors.map((a) => [a.fingerprint_sha256, a.name, a.organisation, a.revoked_at ?? '-'])]);
        return { json: advisors, text };
      }
      case 'advisor revoke': {
        const fingerprint = rest[0] ?? usage('the fingerprint of the advisor certificate to revoke is required');
        await revokeSecurityAdvisor(db, await openLog(config, db, layout.devDir), fingerprint, { executor: by.executor });
        return { json: { fingerprintSha256: fingerprint, revoked: true }, text: `Revoked security advisor certificate ${fingerprint}: it can no longer read the log.` };
      }
      default:
        return usage();
    }
  } finally {
    await db.destroy();
  }
}

/** The processing log the changes are recorded in, as the service opens it. */
async function openLog(config: ReturnType<typeof loadConfig>, db: Database, devDir: string): Promise<AuditLog> {
  const vault = loadDataVault(config.dataKeyBase64, config.devPki ? path.join(devDir, 'data-key.b64') : undefined);
  return AuditLog.open(config, db, vault, () => new Date());
}

const argv = process.argv.slice(2);
const json = argv.includes('--json');
main(argv).then(
  (result) => {
    console.log(json ? JSON.stringify(result.json, null, 2) : result.text);
  },
  (err: unknown) => {
    const usageError =
      err instanceof UsageError ||
      delegatedUsageErrors.some((type) => err instanceof type) ||
      (err as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS');
    const message = err instanceof Error ? err.message : String(err);
    if (json) console.log(JSON.stringify({ error: { code: usageError ? 'Usage' : err instanceof EpostError ? err.code : 'Error', message } }, null, 2));
    console.error(`error: ${message}`);
    process.exit(usageError ? 2 : 1);
  },
);
