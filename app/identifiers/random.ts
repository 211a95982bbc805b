// Random bytes from the system's generator, fetched in bulk: one call per 4 KiB instead of one per
// value. Node's randomBytes() costs about 12 µs a call here whatever the size (a crypto job each),
// and a send drew some twenty values: GCM nonces, token serials, ids. Each byte is handed out once.
import { randomFillSync } from 'node:crypto';

const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;

/** `size` fresh random bytes (at most 256), a Buffer of their own. */
export function pooledRandomBytes(size: number): Buffer {
  if (!Number.isInteger(size) || size < 1 || size > 256) throw new RangeError('pooledRandomBytes takes 1 to 256 bytes');
  if (poolOffset + size > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const bytes = Buffer.from(POOL.subarray(poolOffset, poolOffset + size));
  poolOffset += size;
  return bytes;
}
