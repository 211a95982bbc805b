// What the eBox needs at run time; the service context passed in from the HTTP edge satisfies it.
import type { AuditLog } from '../audit/index.js';
import type { EpostConfig } from '../config/index.js';
import type { ProofSealer } from '../proofs/index.js';
import type { Database, DataVault } from '../storage/index.js';

export interface EboxContext {
  config: EpostConfig;
  db: Database;
  vault: DataVault;
  /** Seals and timestamps evidence with the ePost sealing certificate. */
  sealer: ProofSealer;
  /** The processing log: every read, download and evidence is recorded here. */
  audit: AuditLog;
  /** The one clock of the service. */
  now(): Date;
}
