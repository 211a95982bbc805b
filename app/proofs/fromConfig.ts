// The sealer the configuration names: the sealing certificate of certs/service with its key file, or
// with a key in a PKCS#11 token when EPOST_SEALING_PKCS11_MODULE is set; the certificate's chain up
// to its anchor (from certs/intermediates and certs/anchors) is published in every seal's KeyInfo.
import fs from 'node:fs';
import type { EpostConfig } from '../config/index.js';
import { EpostError } from '../errors/index.js';
import { parsePemCertificates, pkiLayout, readPemDirectory, validateCertificatePath } from '../pki/index.js';
import type { TimestampAuthority } from '../timestamp/index.js';
import { ProofSealer } from './seal.js';
import { fileSealingKey, pkcs11SealingKey, type SealingKey } from './sealingKey.js';

export function sealingKeyFromConfig(config: EpostConfig): SealingKey {
  if (!config.sealingPkcs11Module) return fileSealingKey(fs.readFileSync(pkiLayout(config.certsDir).sealingKey, 'utf8'));
  if (!config.sealingPkcs11Pin) throw new EpostError('InvalidRequest', 'EPOST_SEALING_PKCS11_MODULE is set but EPOST_SEALING_PKCS11_PIN is not');
  return pkcs11SealingKey({
    module: config.sealingPkcs11Module,
    tokenLabel: config.sealingPkcs11Token,
    keyLabel: config.sealingPkcs11KeyLabel,
    pin: config.sealingPkcs11Pin,
  });
}

export async function sealerFromConfig(config: EpostConfig, tsa: TimestampAuthority): Promise<ProofSealer> {
  const layout = pkiLayout(config.certsDir);
  const sealingCertPem = fs.readFileSync(layout.sealingCert, 'utf8');
  const [certificate] = parsePemCertificates([sealingCertPem], 'sealing certificate');
  if (!certificate) throw new EpostError('InvalidSecurityToken', 'No sealing certificate was found');
  const path = await validateCertificatePath(certificate, {
    anchors: readPemDirectory(layout.anchorsDir),
    intermediates: readPemDirectory(layout.intermediatesDir),
    at: new Date(),
    purpose: 'sealing',
    what: 'sealing',
    errorCode: 'InvalidSecurityToken',
  });
  return ProofSealer.withKey({
    sealingCertPem,
    key: sealingKeyFromConfig(config),
    chainPems: path.slice(1).map((c) => c.toString('pem')),
    tsa,
  });
}
