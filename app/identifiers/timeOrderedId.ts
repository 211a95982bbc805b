// Identifiers of stored records that grow with time: UUID version 7 (RFC 9562, section 5.7), a
// 48-bit Unix time in milliseconds followed by 74 random bits. A database index on such ids takes
// each new one at its end, in the page it took the previous one in, where a random UUID (version 4)
// lands on a leaf of its own: one page more to write at every commit per index, and, once an index
// is larger than memory, one page more to read. The random bits keep ids unguessable; they are
// names, never credentials (who may read a record is decided by its owner, see access/ and ebox/).
import { pooledRandomBytes } from './random.js';

/**
 * A new UUID version 7 in its lower-case text form (xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx), of the
 * moment `at`: callers pass the time of the event the record is about, from the service's one clock.
 */
export function timeOrderedId(at: Date): string {
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeUIntBE(at.getTime(), 0, 6);
  pooledRandomBytes(10).copy(bytes, 6);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f); // version 7
  bytes[8] = 0x80 | (bytes[8]! & 0x3f); // variant 10
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
