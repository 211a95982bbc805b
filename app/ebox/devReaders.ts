// Development eBox readers: a "citizen CA" under the development root (as the eID citizen CAs are
// under the Belgian root), a demo citizen and a demo enterprise user. The CA certificate goes where
// the client-certificate listener reads its intermediates and where the eBox reads its reader CAs.
import fs from 'node:fs';
import path from 'node:path';
import { enterpriseNumberFrom, ssinFrom } from '../identifiers/index.js';
import { addEnterpriseUser, type AdminContext } from '../access/enterpriseUsers.js';
import { issueCertificate, loadIssuer, pkiLayout, x509, type DevPkiManifest, type IssuedCertificate } from '../pki/index.js';

export interface DevReader {
  ssin: string;
  name: string;
  certFile: string;
  keyFile: string;
}

export interface DevEboxReaders {
  citizenCaCert: string;
  citizenCaKey: string;
  /** Reads their own citizen eBox. */
  citizen: DevReader;
  /** Holds the eboxReader role for `enterpriseNumber` once registerDevEboxReaders has run. */
  enterpriseUser: DevReader & { enterpriseNumber: string };
}

const YEAR = 365 * 24 * 3600 * 1000;
export const DEV_CITIZEN_CA_FILE = 'dev-citizen-ca.pem';

function manifestFile(certsDir: string): string {
  return path.join(pkiLayout(certsDir).devDir, 'ebox-readers.json');
}

function write(file: string, pem: string, secret: boolean): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, pem, { mode: secret ? 0o600 : 0o644 });
}

/**
 * Loads the development readers, generating them first when absent. `readerCaDir` is where the
 * configuration looks for reader CAs (EPOST_EBOX_READER_CAS; default `<certsDir>/readers`).
 */
export async function ensureDevEboxReaders(certsDir: string, readerCaDir = path.join(certsDir, 'readers')): Promise<DevEboxReaders> {
  const file = manifestFile(certsDir);
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as DevEboxReaders;

  const layout = pkiLayout(certsDir);
  const devPki = JSON.parse(fs.readFileSync(layout.devManifest, 'utf8')) as DevPkiManifest;
  const root = await loadIssuer(fs.readFileSync(devPki.rootCaCert, 'utf8'), fs.readFileSync(devPki.rootCaKey, 'utf8'));
  const now = Date.now();
  const notBefore = new Date(now - 24 * 3600 * 1000);
  const KU = x509.KeyUsageFlags;
  const ca = await issueCertificate({
    subject: 'CN=ePost Development Citizen CA, O=ePost (development only), C=BE',
    issuer: root,
    ca: { pathLength: 0 },
    keyUsages: KU.keyCertSign | KU.cRLSign,
    notBefore,
    notAfter: new Date(now + 10 * YEAR),
  });
  const manifest: DevEboxReaders = {
    citizenCaCert: path.join(layout.devDir, 'citizen-ca.pem'),
    citizenCaKey: path.join(layout.devDir, 'citizen-ca.key.pem'),
    citizen: { ssin: ssinFrom('850730033'), name: 'Alice Demo', certFile: '', keyFile: '' },
    enterpriseUser: { ssin: ssinFrom('790215105'), name: 'Bruno Demo', enterpriseNumber: enterpriseNumberFrom('04123456'), certFile: '', keyFile: '' },
  };
  write(manifest.citizenCaCert, ca.certPem, false);
  write(manifest.citizenCaKey, ca.keyPem, true);
  for (const [slug, reader] of [['citizen', manifest.citizen], ['enterprise-user', manifest.enterpriseUser]] as const) {
    const issued = await issueReaderCertificate({ certificate: ca.certificate, keys: ca.keys }, reader);
    reader.certFile = path.join(layout.devDir, `reader-${slug}.pem`);
    reader.keyFile = path.join(layout.devDir, `reader-${slug}.key.pem`);
    write(reader.certFile, issued.certPem, false);
    write(reader.keyFile, issued.keyPem, true);
  }
  write(path.join(layout.intermediatesDir, DEV_CITIZEN_CA_FILE), ca.certPem, false);
  write(path.join(readerCaDir, DEV_CITIZEN_CA_FILE), ca.certPem, false);
  // The manifest is written last: its presence means every reader exists.
  fs.writeFileSync(file, JSON.stringify(manifest, null, 2));
  return manifest;
}

/** A person's authentication certificate as an eID card carries it: SSIN in the subject serialNumber. */
export async function issueReaderCertificate(
  issuer: Pick<IssuedCertificate, 'certificate' | 'keys'>,
  person: { ssin: string; name: string },
  validity: { notBefore?: Date; notAfter?: Date } = {},
) {
  const notBefore = validity.notBefore ?? new Date(Date.now() - 3600 * 1000);
  return issueCertificate({
    subject: `CN=${person.name} (Authentication), 2.5.4.5=${person.ssin}, C=BE`,
    issuer,
    keyUsages: x509.KeyUsageFlags.digitalSignature,
    extendedKeyUsages: [x509.ExtendedKeyUsage.clientAuth],
    notBefore,
    notAfter: validity.notAfter ?? new Date(notBefore.getTime() + 2 * YEAR),
  });
}

/** A further development reader under the development citizen CA (tests, demos). */
export async function issueDevReader(certsDir: string, person: { ssin: string; name: string }): Promise<{ certPem: string; keyPem: string }> {
  const readers = await ensureDevEboxReaders(certsDir);
  const ca = await loadIssuer(fs.readFileSync(readers.citizenCaCert, 'utf8'), fs.readFileSync(readers.citizenCaKey, 'utf8'));
  const issued = await issueReaderCertificate(ca, person);
  return { certPem: issued.certPem, keyPem: issued.keyPem };
}

/** Gives the demo enterprise user its role (idempotent); development start-up only. */
export async function registerDevEboxReaders(ctx: AdminContext, readers: DevEboxReaders): Promise<void> {
  await addEnterpriseUser(ctx, { enterpriseNumber: readers.enterpriseUser.enterpriseNumber, ssin: readers.enterpriseUser.ssin }, 'ePost development set-up');
}
