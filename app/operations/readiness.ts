// Readiness: the service can take registered mail only if its database answers, its sealing key
// seals and its timestamping authority stamps. Each check is bounded in time.
import { createHash } from 'node:crypto';
import type { Database } from '../storage/index.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; ms: number; error?: string }>;
}

export interface ReadinessProbes {
  db: Database;
  /** Seals a tiny document with the sealing key (and its timestamp): proves key and TSA together. */
  sealProbe(): Promise<unknown>;
  timestampProbe(imprint: Buffer): Promise<unknown>;
}

async function timed(check: () => Promise<unknown>, timeoutMs: number): Promise<{ ok: boolean; ms: number; error?: string }> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, ms: Math.round(performance.now() - start) };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - start), error: (err as Error).message.slice(0, 200) };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkReadiness(probes: ReadinessProbes, timeoutMs = 3000): Promise<Readiness> {
  const [database, timestamping, sealing] = await Promise.all([
    timed(() => probes.db.raw('select 1'), timeoutMs),
    timed(() => probes.timestampProbe(createHash('sha256').update('epost readiness').digest()), timeoutMs),
    timed(() => probes.sealProbe(), timeoutMs),
  ]);
  const checks = { database, timestamping, sealing };
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}
