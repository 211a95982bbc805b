// `npm run audit -- verify`: recomputes the tree from the records alone and checks it against every
// signed tree head (signature, certificate path, RFC 3161 timestamp). It names the first bad
// sequence number: a record whose content no longer matches the leaf the tree committed to (edited,
// inserted, moved), a hole in the numbering (deleted), a signed head larger than the log (truncated),
// or, when the stored leaves were rewritten too, the range between the last head that still matches
// and the first that does not.
import { createHash } from 'node:crypto';
import type { Database, DataVault } from '../storage/index.js';
import { Frontier, leafHash } from './merkle.js';
import { treeHeadFrom } from './log.js';
import { leafBytes, payloadAssociatedData, storedRecord } from './records.js';
import { checkTreeHead, type SignedTreeHead, type TreeHeadTrust } from './treeHead.js';

export interface LogVerification {
  ok: boolean;
  /** Numbered records checked. */
  records: number;
  /** Records committed but not yet numbered by the sealer (not yet protected by the tree). */
  waiting: number;
  treeHeads: number;
  latestTreeHead: { treeSize: number; signedAt: string } | undefined;
  /** The first sequence number at which the log is not what the signed tree heads committed to. */
  firstBadSequence: number | undefined;
  /** What is wrong, in log order. */
  problems: string[];
  /** Payloads whose decryption and digest were checked (with a data vault). */
  payloadsChecked: number;
}

export interface VerifyOptions {
  trust: TreeHeadTrust;
  /** With the data key: also decrypt every kept payload and compare it with the record's digest. */
  vault?: DataVault | undefined;
}

const PAGE = 5000;

export async function verifyLog(db: Database, options: VerifyOptions): Promise<LogVerification> {
  const problems: Array<{ seq: number | undefined; message: string }> = [];
  let firstBad: number | undefined;
  const problem = (seq: number | undefined, message: string) => {
    problems.push({ seq, message });
    if (seq !== undefined && (firstBad === undefined || seq < firstBad)) firstBad = seq;
  };

  const heads = new TreeHeadCursor(db);
  const signers = new Map<string, string | undefined>();
  const frontier = new Frontier();
  let treeIntact = true; // false after a hole: roots of later heads cannot be recomputed
  let lastMatchingHead = 0;
  // A record already named precisely since the last matching head makes a range report redundant.
  let namedSinceLastMatch = false;
  let previousHead: SignedTreeHead | undefined;
  let headCount = 0;

  const checkHead = async (head: SignedTreeHead, rootComparable: boolean) => {
    headCount += 1;
    if (!signers.has(head.signerFingerprint)) {
      const row = await db('audit_signers').where({ fingerprint_sha256: head.signerFingerprint }).first('certificate_pem');
      signers.set(head.signerFingerprint, row?.certificate_pem);
    }
    const reason = await checkTreeHead(head, signers.get(head.signerFingerprint), options.trust);
    if (reason) problem(Math.max(0, head.treeSize - 1), `signed tree head of size ${head.treeSize} is not authentic: ${reason}`);
    if (previousHead && head.timestampMs + 2000 < previousHead.timestampMs) {
      problem(previousHead.treeSize, `signed tree head of size ${head.treeSize} is dated before the smaller head of size ${previousHead.treeSize}`);
    }
    previousHead = head;
    if (!rootComparable) return;
    if (frontier.root().equals(head.rootHash)) {
      lastMatchingHead = head.treeSize;
      namedSinceLastMatch = false;
    } else {
      problem(
        namedSinceLastMatch ? undefined : lastMatchingHead,
        `the records do not produce the root of the signed tree head of size ${head.treeSize}: ` +
          `the first bad sequence number is between ${lastMatchingHead} and ${head.treeSize - 1}`,
      );
      treeIntact = false;
    }
  };

  let expected = 0;
  for (;;) {
    const rows = await db('audit_records as r')
      .leftJoin('audit_tree_nodes as n', function () {
        this.on('n.idx', '=', 'r.seq').andOn('n.level', '=', db.raw('0'));
      })
      .whereNotNull('r.seq')
      .where('r.seq', '>=', expected)
      .orderBy('r.seq')
      .limit(PAGE)
      .select('r.*', 'n.hash as stored_leaf_hash');
    if (rows.length === 0) break;
    for (const row of rows) {
      const record = storedRecord(row);
      const seq = record.seq!;
      if (seq > expected) {
        problem(expected, seq - expected === 1 ? `record ${expected} is missing (deleted)` : `records ${expected} to ${seq - 1} are missing (deleted)`);
        treeIntact = false;
        expected = seq;
      }
      const leaf = leafHash(leafBytes(seq, record));
      if (!row.stored_leaf_hash) {
        problem(seq, `record ${seq} is not in the tree (inserted behind the sealer's back)`);
        namedSinceLastMatch = true;
      } else if (!Buffer.from(row.stored_leaf_hash, 'hex').equals(leaf)) {
        problem(seq, `record ${seq} no longer matches the leaf the tree committed to (edited, inserted or moved)`);
        namedSinceLastMatch = true;
      }
      if (treeIntact) frontier.append(leaf);
      expected = seq + 1;
      for (let head = await heads.peek(); head && head.treeSize <= expected; head = await heads.peek()) {
        await heads.next();
        await checkHead(head, treeIntact && head.treeSize === frontier.size);
      }
    }
  }

  // Heads larger than the log: records were removed from its end.
  let truncatedReported = false;
  for (let head = await heads.next(); head; head = await heads.next()) {
    if (!truncatedReported) {
      problem(expected, `the log is truncated: a signed tree head covers ${head.treeSize} records but the log has ${expected} (first missing: ${expected})`);
      truncatedReported = true;
    }
    await checkHead(head, false);
  }
  const logHead = await db('audit_log_head').where({ id: 1 }).first('tree_size');
  if (!truncatedReported && logHead && Number(logHead.tree_size) > expected) {
    problem(expected, `the log is truncated: the sealer numbered ${Number(logHead.tree_size)} records but the log has ${expected} (first missing: ${expected})`);
  }

  const waiting = Number((await db('audit_records').whereNull('seq').count({ n: '*' }))[0]!.n);
  const payloadsChecked = options.vault ? await checkPayloads(db, options.vault, problem) : 0;
  const latest = previousHead as SignedTreeHead | undefined;
  problems.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
  return {
    ok: problems.length === 0,
    records: expected,
    waiting,
    treeHeads: headCount,
    latestTreeHead: latest ? { treeSize: latest.treeSize, signedAt: new Date(latest.timestampMs).toISOString() } : undefined,
    firstBadSequence: firstBad,
    problems: problems.map((p) => p.message),
    payloadsChecked,
  };
}

/** Every kept payload opens under its record's identity and, when kept whole, has the record's digest. */
async function checkPayloads(db: Database, vault: DataVault, problem: (seq: number | undefined, message: string) => void): Promise<number> {
  let checked = 0;
  let after = -1;
  for (;;) {
    const rows = await db('audit_payloads as p')
      .join('audit_records as r', 'r.id', 'p.record_id')
      .where('p.record_id', '>', after)
      .orderBy('p.record_id')
      .limit(200)
      .select('p.*', 'r.seq', 'r.payload_sha256', 'r.payload_size');
    if (rows.length === 0) return checked;
    for (const row of rows) {
      after = Number(row.record_id);
      const seq = row.seq === null ? undefined : Number(row.seq);
      const where = seq === undefined ? `the payload of waiting record id ${after}` : `the payload of record ${seq}`;
      try {
        const plain = vault.decrypt(
          { keyId: row.key_id, iv: Buffer.from(row.iv), ciphertext: Buffer.from(row.ciphertext), authTag: Buffer.from(row.auth_tag) },
          payloadAssociatedData(after, row.payload_sha256),
        );
        if (Number(row.stored_size) === Number(row.payload_size) && createHash('sha256').update(plain).digest('hex') !== row.payload_sha256) {
          problem(seq, `${where} does not have the digest its record states`);
        }
      } catch {
        problem(seq, `${where} does not decrypt under its record's identity (altered or moved)`);
      }
      checked += 1;
    }
  }
}

/** Signed tree heads in size order, a page at a time. */
class TreeHeadCursor {
  #buffer: SignedTreeHead[] = [];
  #after = -1;
  #done = false;
  constructor(private readonly db: Database) {}

  async peek(): Promise<SignedTreeHead | undefined> {
    if (this.#buffer.length === 0 && !this.#done) {
      const rows = await this.db('audit_tree_heads').where('tree_size', '>', this.#after).orderBy('tree_size').limit(500);
      if (rows.length === 0) this.#done = true;
      this.#buffer = rows.map(treeHeadFrom);
      if (rows.length) this.#after = this.#buffer[this.#buffer.length - 1]!.treeSize;
    }
    return this.#buffer[0];
  }

  async next(): Promise<SignedTreeHead | undefined> {
    const head = await this.peek();
    this.#buffer.shift();
    return head;
  }
}
