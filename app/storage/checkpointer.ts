// WAL checkpoints on a thread of their own. SQLite's automatic checkpoint runs inside the COMMIT of
// whichever writer crosses the threshold: with synchronous=FULL it copies the WAL into the database
// file and fsyncs both, and better-sqlite3 runs all of it on the event loop, so every request of
// that worker waited 10–40 ms behind it (measured under the bench's load). Here a thread with its
// own connection runs a PASSIVE checkpoint every few tens of milliseconds: it never blocks a writer
// or a reader, and writers restart the WAL from the beginning once it is all copied. Durability is
// unchanged: each COMMIT still fsyncs the WAL before it returns. The WAL file's high-water mark
// under a steady load is what it was with the writers' checkpoint (10.7 MB against 10.3 MB after a
// minute at 64 in flight).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const require = createRequire(import.meta.url);

/** Pause between checkpoints: at a few hundred sends a second, a few hundred WAL pages each time. */
const CHECKPOINT_INTERVAL_MS = 50;

/**
 * The writers' own automatic checkpoint, in pages: only a fallback, should the thread fall behind
 * or stop, so that the WAL cannot grow without bound (about 40 MB with 4 KiB pages).
 */
export const WRITER_AUTOCHECKPOINT_PAGES = 10_000;

export interface WalCheckpointer {
  stop(): Promise<void>;
}

// CommonJS run by the worker as it is (no TypeScript loader in a worker thread). A second process
// on the same file runs its own thread: one of two concurrent checkpoints answers busy, harmlessly.
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 0');
let failing = '';
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failing = '';
  } catch (err) {
    // Busy: another process's thread is checkpointing; its work is as good as ours.
    if (err.code === 'SQLITE_BUSY') return;
    // Any other failure is reported once, not every interval, until a checkpoint succeeds again.
    const failure = err.code + ': ' + err.message;
    if (failure !== failing) parentPort.postMessage(failure);
    failing = failure;
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Starts the checkpoint thread of an SQLite file in WAL mode. `onDisturbance` hears of a checkpoint
 * that failed (a full disk, a read-only file): the WAL then keeps the data and the writers'
 * fallback checkpoint takes over.
 */
export function startWalCheckpointer(file: string, onDisturbance: (message: string) => void): WalCheckpointer {
  const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { file, driver: require.resolve('better-sqlite3'), intervalMs: CHECKPOINT_INTERVAL_MS } });
  worker.unref();
  worker.on('message', (failure: string) => onDisturbance(`WAL checkpoint failed: ${failure}`));
  worker.on('error', (err) => onDisturbance(`The WAL checkpoint thread stopped: ${err.message}`));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      worker.postMessage('stop');
      await exited;
    },
  };
}
