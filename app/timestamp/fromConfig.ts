// The timestamping authority the configuration names: an external RFC 3161 authority when
// EPOST_TSA_URL is set, otherwise the built-in one (certs/service/tsa.pem and its key).
import fs from 'node:fs';
import type { EpostConfig } from '../config/index.js';
import { EpostError } from '../errors/index.js';
import { pemFilesIn, pkiLayout, readPemTexts } from '../pki/index.js';
import { BuiltInTimestampAuthority, type TimestampAuthority } from './authority.js';
import { ExternalTimestampAuthority } from './external.js';

export async function timestampAuthorityFromConfig(config: EpostConfig): Promise<TimestampAuthority> {
  const layout = pkiLayout(config.certsDir);
  if (!config.tsaUrl) {
    return BuiltInTimestampAuthority.fromPem(fs.readFileSync(layout.tsaCert, 'utf8'), fs.readFileSync(layout.tsaKey, 'utf8'));
  }
  const anchorFiles = config.tsaAnchorFiles ?? pemFilesIn(layout.anchorsDir);
  if (anchorFiles.length === 0) throw new EpostError('InvalidRequest', 'EPOST_TSA_URL is set but no anchor for the timestamping authority is configured (EPOST_TSA_ANCHORS)');
  return new ExternalTimestampAuthority({
    url: config.tsaUrl,
    anchorsPem: anchorFiles.map((f) => fs.readFileSync(f, 'utf8')),
    intermediatesPem: readPemTexts(layout.intermediatesDir),
    ...(config.tsaPolicy ? { policy: config.tsaPolicy } : {}),
    timeoutMs: config.tsaTimeoutMs,
    toleranceSeconds: config.tsaToleranceSeconds,
    ...(config.tsaTlsCaFile ? { tlsCaPem: [fs.readFileSync(config.tsaTlsCaFile, 'utf8')] } : {}),
  });
}
