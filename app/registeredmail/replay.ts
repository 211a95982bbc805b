// Replay protection: a signature is accepted once within its Timestamp's lifetime. The key is kept
// in the database, so a restart (or another instance) does not forget it.
import { EpostError } from '../errors/index.js';
import { insertRows, isUniqueViolation, statementsOf, type Database, type Statements } from '../storage/index.js';
import type { VerifiedRequest } from '../wssecurity/index.js';

export async function refuseReplay(db: Database, verified: VerifiedRequest): Promise<void> {
  // Plain SQL: every request asks.
  const seen = await statementsOf(db).rows('select 1 from replay_cache where signature_sha256 = ? limit 1', [verified.signatureValueSha256]);
  if (seen.length > 0) throw replayError();
}

/** Records the signature inside the caller's transaction; a concurrent twin fails on the primary key. */
export async function recordReplayKey(tx: Statements, verified: VerifiedRequest): Promise<void> {
  try {
    await insertRows(tx, 'replay_cache', [{ signature_sha256: verified.signatureValueSha256, expires_at: verified.timestamp.expires.toISOString() }]);
  } catch (err) {
    if (isUniqueViolation(err, 'replay_cache')) throw replayError();
    throw err;
  }
}

/** Forgets signatures whose Timestamp has expired: the gate refuses those messages anyway. */
export async function purgeExpiredReplayKeys(db: Database, now: Date): Promise<number> {
  return db('replay_cache').where('expires_at', '<', now.toISOString()).delete();
}

function replayError(): EpostError {
  return new EpostError('InvalidSecurity', 'This message was already received (replay): sign every request anew');
}

export { isUniqueViolation };
