// Fixtures for the PKI tests: CRL files written the way an operator drops them under certs/crls/,
// fresh CRL directories, and a refusal catcher that insists on an EpostError.
import fs from 'node:fs';
import path from 'node:path';
import { issueCrl, loadIssuer, type IssueCrlOptions, type IssuedCertificate } from '../../app/pki/index.js';
import type { TestPki } from '../wssecurity/helpers.js';

export const DAY = 86_400_000;

export async function refusalOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name?: string; code: string; message: string };
    if (e.name !== 'EpostError') throw err;
    return { code: e.code, message: e.message };
  }
  throw new Error('the certificate was accepted');
}

export function freshDir(pki: TestPki, name: string): string {
  return fs.mkdtempSync(path.join(pki.dir, `${name}-`));
}

/** Issues a CRL and writes it as PEM into `dir/<file>`. */
export async function writeCrl(dir: string, file: string, options: Partial<IssueCrlOptions> & Pick<IssueCrlOptions, 'issuer'>): Promise<void> {
  const now = Date.now();
  const crl = await issueCrl({ thisUpdate: new Date(now - 60_000), nextUpdate: new Date(now + 7 * DAY), ...options });
  fs.writeFileSync(path.join(dir, file), crl.toString('pem'));
}

export function rootCaOf(pki: TestPki): Promise<Pick<IssuedCertificate, 'certificate' | 'keys'>> {
  return loadIssuer(fs.readFileSync(pki.manifest.rootCaCert, 'utf8'), fs.readFileSync(pki.manifest.rootCaKey, 'utf8'));
}

/** A directory holding current, empty CRLs of both development CAs: every development certificate is "good". */
export async function goodCrlDir(pki: TestPki, name: string): Promise<string> {
  const dir = freshDir(pki, name);
  await writeCrl(dir, 'root.crl.pem', { issuer: await rootCaOf(pki) });
  await writeCrl(dir, 'sender-ca.crl.pem', { issuer: pki.senderCa });
  return dir;
}
