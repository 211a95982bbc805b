// What the registered-mail service needs at run time, assembled once at start-up (app/main.ts,
// tests) and passed inward. Nothing here reads the environment.
import type { AuditLog } from '../audit/index.js';
import type { EpostConfig } from '../config/index.js';
import type { TrustStore } from '../pki/trustStore.js';
import type { ProofSealer } from '../proofs/index.js';
import type { Database, DataVault, Transactions } from '../storage/index.js';

export interface ServiceContext {
  config: EpostConfig;
  db: Database;
  /** Send transactions: grouped into shared durable commits where the database gains from it (SQLite). */
  sendTransactions: Transactions;
  vault: DataVault;
  /** Trust anchors and intermediates for sender certificates. */
  trust: TrustStore;
  /** Seals and timestamps proofs with the ePost sealing certificate. */
  sealer: ProofSealer;
  /** The processing log: every step is recorded here, in the step's own transaction. */
  audit: AuditLog;
  /** The one clock of the service (tests may pin it). */
  now(): Date;
}
