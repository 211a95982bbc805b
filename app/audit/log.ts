// The processing log. Appending is one multi-row INSERT (plus one for the payloads, if any) in the
// caller's transaction and takes no lock: records arrive without a sequence number. A sealer step, under a row lock on the
// one log-head row, numbers the committed records in order, stores their leaf hashes and the
// completed perfect subtrees, and advances the head; then, every interval or batch of records, a
// tree head is signed with the sealing key and timestamped once for the whole batch (X-Road style).
//
// Why a sealer rather than numbering at append time: a counter row locked by the send transaction
// would serialise every send (on every instance) behind that one row for the whole transaction; a
// database sequence would leave holes on rollback and let a late commit land after records numbered
// later, which the tree cannot tell from a deletion. The sealer only ever sees committed records,
// numbers them under a row lock on audit_log_head (one sealer at a time across instances) and never
// leaves a hole; a record committed late simply gets the next number.
import fs from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { EpostConfig } from '../config/index.js';
import { EpostError } from '../errors/index.js';
import { pkiLayout } from '../pki/index.js';
import { statementsOf, type Database, type DataVault, type Statements } from '../storage/index.js';
import { BuiltInTimestampAuthority, type TimestampAuthority } from '../timestamp/index.js';
import { consistencyPath, Frontier, inclusionPath, leafHash, rootHash, verifyConsistency, verifyInclusion, type Hash, type NodeAddress, type NodeReader } from './merkle.js';
import { purgeExpiredDocuments, type PurgedDocument } from './retention.js';
import { insertRecords, leafBytes, payloadAssociatedData, storedRecord, type ProcessingStep, type StoredRecord } from './records.js';
import { timestampImprint, treeHeadSignedBytes, treeHeadSignerFromPem, type SignedTreeHead, type TreeHeadSigner } from './treeHead.js';

export interface AuditLogOptions {
  db: Database;
  vault: DataVault;
  /** The service's one clock. */
  now: () => Date;
  signer: TreeHeadSigner;
  tsa: TimestampAuthority;
  treeIntervalMs: number;
  treeBatchRecords: number;
  retentionYears: number;
  /** Documents of senders without their own retention period are kept this many days. */
  documentRetentionDays: number;
  /** How often expired documents are purged. */
  retentionSweepMs: number;
}

/** An inclusion proof of one record against a signed tree head, ready to print or hand out. */
export interface InclusionProof {
  leafIndex: number;
  treeSize: number;
  /** The record's leaf bytes (JSON); its leaf hash is SHA-256(0x00 || leaf). */
  leaf: Buffer;
  leafHash: Hash;
  /** RFC 6962 audit path, from the leaf's sibling up. */
  auditPath: Hash[];
  treeHead: SignedTreeHead;
  signerCertificatePem: string;
}

export interface ConsistencyProof {
  oldSize: number;
  newSize: number;
  oldRoot: Hash;
  newRoot: Hash;
  path: Hash[];
}

export interface RecordFilter {
  /** Inclusive lower and exclusive upper bound on the record time. */
  from?: Date | undefined;
  to?: Date | undefined;
  responsible?: string | undefined;
  recipient?: string | undefined;
  operation?: string | undefined;
  registeredMailId?: string | undefined;
  limit?: number | undefined;
}

/**
 * Records numbered per sealer transaction: bounds how long one transaction holds the database (and,
 * on SQLite, whose statements run on the event loop, the process). With 2 000, a seal under load held
 * both workers' sends long enough to show in the p99 (bench, 16 in flight: 87–103 ms, 74–85 with 250).
 */
const SEQUENCE_BATCH = 250;
/** Rows per multi-row statement: well under SQLite's and PostgreSQL's bound-parameter limits. */
const ROWS_PER_STATEMENT = 400;

export class AuditLog {
  readonly #o: AuditLogOptions;
  #timer: NodeJS.Timeout | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #appendedSinceSeal = 0;
  #soon: NodeJS.Timeout | undefined;

  constructor(options: AuditLogOptions) {
    this.#o = options;
  }

  /** The log as the service runs it: signed with the sealing key under certs/service, timestamped by `tsa` (default: the built-in TSA). */
  static async open(config: EpostConfig, db: Database, vault: DataVault, now: () => Date, tsa?: TimestampAuthority): Promise<AuditLog> {
    const layout = pkiLayout(config.certsDir);
    const signer = treeHeadSignerFromPem(fs.readFileSync(layout.sealingCert, 'utf8'), fs.readFileSync(layout.sealingKey, 'utf8'));
    const authority = tsa ?? (await BuiltInTimestampAuthority.fromPem(fs.readFileSync(layout.tsaCert, 'utf8'), fs.readFileSync(layout.tsaKey, 'utf8')));
    const log = new AuditLog({
      db,
      vault,
      now,
      signer,
      tsa: authority,
      treeIntervalMs: config.logTreeIntervalSeconds * 1000,
      treeBatchRecords: config.logTreeBatchRecords,
      retentionYears: config.logRetentionYears,
      documentRetentionDays: config.documentRetentionDays,
      retentionSweepMs: config.retentionSweepSeconds * 1000,
    });
    await log.#applyRetention();
    return log;
  }

  get now(): () => Date {
    return this.#o.now;
  }

  /** The configured retention reaches the database guards (which never accept less than ten years). */
  async #applyRetention(): Promise<void> {
    const years = Math.max(10, this.#o.retentionYears);
    await this.#o.db('audit_log_head').where({ id: 1 }).update({ retention_years: years });
  }

  /**
   * Appends processing records with the caller's handle — pass the transaction of the step being
   * recorded, so the record commits (or rolls back) with it. Returns the records' insertion ids.
   */
  async append(db: Database, steps: ProcessingStep | ProcessingStep[]): Promise<number[]> {
    // Outside a transaction, one of our own: a record and its payload are written together or not at all.
    if (!db.isTransaction) return db.transaction((trx) => this.append(trx, steps));
    return this.appendIn(statementsOf(db), steps);
  }

  /** As append, in a transaction given by its statements (the send transaction's). */
  async appendIn(tx: Statements, steps: ProcessingStep | ProcessingStep[]): Promise<number[]> {
    const list = Array.isArray(steps) ? steps : [steps];
    const ids = await insertRecords(tx, this.#o.vault, list, this.#o.now);
    this.#appendedSinceSeal += list.length;
    if (this.#timer && this.#appendedSinceSeal >= this.#o.treeBatchRecords && !this.#soon) {
      // A full batch: seal now rather than at the next tick (after the caller has committed).
      this.#soon = setTimeout(() => {
        this.#soon = undefined;
        void this.sealNow().catch((err) => console.error('processing log: sealing failed:', err));
      }, 0);
    }
    return ids;
  }

  /** Starts the periodic sealer (numbering, tree head signing) and the document retention sweep. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.sealNow().catch((err) => console.error('processing log: sealing failed:', err)), this.#o.treeIntervalMs);
    this.#timer.unref();
    this.#sweep = setInterval(
      () => void this.purgeExpiredDocuments().catch((err) => console.error('document retention: purge failed:', err)),
      this.#o.retentionSweepMs,
    );
    this.#sweep.unref();
  }

  /** Purges the documents whose retention period has ended (logged, digests kept). */
  purgeExpiredDocuments(): Promise<PurgedDocument[]> {
    return purgeExpiredDocuments(this.#o.db, this, this.#o.documentRetentionDays);
  }

  /** Stops the sealer after sealing what is committed, so a clean shutdown leaves nothing unsigned. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#sweep) clearInterval(this.#sweep);
    if (this.#soon) clearTimeout(this.#soon);
    this.#timer = undefined;
    this.#sweep = undefined;
    this.#soon = undefined;
    await this.sealNow().catch((err) => console.error('processing log: final sealing failed:', err));
  }

  /**
   * Numbers every committed record and, if the tree grew, signs and timestamps a new tree head.
   * Returns the new head, or undefined when nothing was waiting. Runs one at a time per instance.
   */
  sealNow(): Promise<SignedTreeHead | undefined> {
    const run = this.#running.then(async () => {
      this.#appendedSinceSeal = 0;
      // Requests waiting for the event loop (and the other instances, for the database) go between batches.
      while ((await this.#sequencePending()) === SEQUENCE_BATCH) await nextTurn();
      return this.#signTreeHead();
    });
    this.#running = run.catch(() => undefined);
    return run;
  }

  async #sequencePending(): Promise<number> {
    const { db } = this.#o;
    return db.transaction(async (trx) => {
      // The row lock on the log head: one sealer at a time across instances. A no-op UPDATE rather
      // than SELECT … FOR UPDATE, which SQLite does not have (there the transaction already holds the
      // write lock from its BEGIN IMMEDIATE).
      await trx('audit_log_head').where({ id: 1 }).update({ tree_size: trx.raw('??', ['tree_size']) });
      const head = await trx('audit_log_head').where({ id: 1 }).first('tree_size');
      if (!head) throw new Error('the processing log head row is missing');
      const pending = await trx('audit_records').whereNull('seq').orderBy('id').limit(SEQUENCE_BATCH).select('*');
      if (pending.length === 0) return 0;
      const frontier = await loadFrontier(trx, Number(head.tree_size));
      const numbered: Array<{ id: number; seq: number }> = [];
      const nodes: Array<NodeAddress & { hash: Hash }> = [];
      for (const row of pending) {
        const record = storedRecord(row);
        const seq = frontier.size;
        nodes.push(...frontier.append(leafHash(leafBytes(seq, record))));
        numbered.push({ id: record.id, seq });
      }
      for (const chunk of chunks(numbered, ROWS_PER_STATEMENT)) {
        const values = chunk.map(() => 'SELECT CAST(? AS BIGINT) AS id, CAST(? AS BIGINT) AS seq').join(' UNION ALL ');
        await trx.raw(`UPDATE audit_records SET seq = v.seq FROM (${values}) AS v WHERE audit_records.id = v.id`, chunk.flatMap((n) => [n.id, n.seq]));
      }
      for (const chunk of chunks(nodes, ROWS_PER_STATEMENT)) {
        await trx('audit_tree_nodes').insert(chunk.map((n) => ({ level: n.level, idx: n.index, hash: n.hash.toString('hex') })));
      }
      await trx('audit_log_head').where({ id: 1 }).update({ tree_size: frontier.size });
      return pending.length;
    });
  }

  async #signTreeHead(): Promise<SignedTreeHead | undefined> {
    const { db, signer, tsa } = this.#o;
    const head = await db('audit_log_head').where({ id: 1 }).first('tree_size');
    const treeSize = Number(head?.tree_size ?? 0);
    const latest = await this.latestTreeHead();
    if (treeSize === 0 || (latest && latest.treeSize >= treeSize)) return undefined;
    const root = await rootHash(nodeReader(db), treeSize);
    const timestampMs = this.#o.now().getTime();
    const signature = signer.sign(treeHeadSignedBytes(treeSize, timestampMs, root));
    const timestampToken = await tsa.timestamp(timestampImprint(signature));
    await db('audit_signers')
      .insert({ fingerprint_sha256: signer.fingerprint, certificate_pem: signer.certificatePem, registered_at: new Date(timestampMs).toISOString() })
      .onConflict('fingerprint_sha256')
      .ignore();
    // Another instance may have signed the same size meanwhile: either head is as good.
    await db('audit_tree_heads')
      .insert({
        tree_size: treeSize,
        root_hash: root.toString('hex'),
        timestamp_ms: timestampMs,
        signed_at: new Date(timestampMs).toISOString(),
        signature,
        signer_fingerprint: signer.fingerprint,
        timestamp_token: timestampToken,
      })
      .onConflict('tree_size')
      .ignore();
    return this.treeHead(treeSize);
  }

  async latestTreeHead(): Promise<SignedTreeHead | undefined> {
    const row = await this.#o.db('audit_tree_heads').orderBy('tree_size', 'desc').first();
    return row ? treeHeadFrom(row) : undefined;
  }

  async treeHead(treeSize: number): Promise<SignedTreeHead | undefined> {
    const row = await this.#o.db('audit_tree_heads').where({ tree_size: treeSize }).first();
    return row ? treeHeadFrom(row) : undefined;
  }

  async signerCertificate(fingerprint: string): Promise<string | undefined> {
    const row = await this.#o.db('audit_signers').where({ fingerprint_sha256: fingerprint }).first('certificate_pem');
    return row?.certificate_pem;
  }

  /**
   * The inclusion proof of the record that produced an evidence document (the first record naming
   * it) against the latest signed tree head; undefined until a signed head covers that record.
   */
  async inclusionProofFor(evidenceId: string): Promise<InclusionProof | undefined> {
    const row = await this.#o.db('audit_records').where({ evidence_id: evidenceId }).whereNotNull('seq').orderBy('seq').first();
    return row ? this.#inclusionProofOf(storedRecord(row)) : undefined;
  }

  /** The inclusion proof of record `seq` against the latest signed tree head that covers it. */
  async inclusionProofForSequence(seq: number): Promise<InclusionProof | undefined> {
    const row = await this.#o.db('audit_records').where({ seq }).first();
    return row ? this.#inclusionProofOf(storedRecord(row)) : undefined;
  }

  async #inclusionProofOf(record: StoredRecord): Promise<InclusionProof | undefined> {
    const seq = record.seq;
    if (seq === null) return undefined;
    const treeHead = await this.latestTreeHead();
    if (!treeHead || treeHead.treeSize <= seq) return undefined;
    const leaf = leafBytes(seq, record);
    const hash = leafHash(leaf);
    const auditPath = await inclusionPath(nodeReader(this.#o.db), seq, treeHead.treeSize);
    // Never hand out a proof that does not hold: the record or the stored tree would have been altered.
    if (!verifyInclusion(hash, seq, treeHead.treeSize, auditPath, treeHead.rootHash)) {
      throw new EpostError('ServiceUnavailable', `The processing log does not prove record ${seq}: run \`npm run audit -- verify\``);
    }
    const signerCertificatePem = (await this.signerCertificate(treeHead.signerFingerprint)) ?? '';
    return { leafIndex: seq, treeSize: treeHead.treeSize, leaf, leafHash: hash, auditPath, treeHead, signerCertificatePem };
  }

  /** RFC 6962 consistency proof between two signed tree heads (by size). */
  async consistencyProof(oldSize: number, newSize: number): Promise<ConsistencyProof> {
    const [oldHead, newHead] = await Promise.all([this.treeHead(oldSize), this.treeHead(newSize)]);
    if (!oldHead || !newHead) throw new EpostError('InvalidRequest', `There is no signed tree head of size ${!oldHead ? oldSize : newSize}`);
    const path = await consistencyPath(nodeReader(this.#o.db), oldSize, newSize);
    if (!verifyConsistency(oldSize, newSize, oldHead.rootHash, newHead.rootHash, path)) {
      throw new EpostError('ServiceUnavailable', `The signed tree heads of sizes ${oldSize} and ${newSize} are not consistent: run \`npm run audit -- verify\``);
    }
    return { oldSize, newSize, oldRoot: oldHead.rootHash, newRoot: newHead.rootHash, path };
  }

  /** Records matching a filter, oldest first (numbered or still waiting for the sealer). */
  async records(filter: RecordFilter): Promise<StoredRecord[]> {
    const q = this.#o.db('audit_records').orderBy('recorded_at').orderBy('id');
    if (filter.from) q.where('recorded_at', '>=', filter.from.toISOString());
    if (filter.to) q.where('recorded_at', '<', filter.to.toISOString());
    if (filter.responsible) q.where({ responsible: filter.responsible });
    if (filter.recipient) {
      // A bare SSIN or enterprise number matches the recipient of either kind.
      q.whereIn('recipient', filter.recipient.includes(':') ? [filter.recipient] : [`citizen:${filter.recipient}`, `enterprise:${filter.recipient}`]);
    }
    if (filter.operation) q.where({ operation: filter.operation });
    if (filter.registeredMailId) q.where({ registered_mail_id: filter.registeredMailId });
    q.limit(Math.min(Math.max(filter.limit ?? 1000, 1), 10_000));
    return (await q.select('*')).map(storedRecord);
  }

  /** The attached payload of a record, decrypted (as kept: refused requests are capped); undefined if none or purged. */
  async payload(recordId: number): Promise<Buffer | undefined> {
    const row = await this.#o.db('audit_payloads as p').join('audit_records as r', 'r.id', 'p.record_id').where('p.record_id', recordId).first('p.*', 'r.payload_sha256');
    if (!row) return undefined;
    return this.#o.vault.decrypt(
      { keyId: row.key_id, iv: Buffer.from(row.iv), ciphertext: Buffer.from(row.ciphertext), authTag: Buffer.from(row.auth_tag) },
      payloadAssociatedData(recordId, row.payload_sha256),
    );
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function nodeReader(db: Database): NodeReader {
  return async ({ level, index }) => {
    const row = await db('audit_tree_nodes').where({ level, idx: index }).first('hash');
    if (!row) throw new EpostError('ServiceUnavailable', `The processing log misses tree node ${level}/${index}: run \`npm run audit -- verify\``);
    return Buffer.from(row.hash, 'hex');
  };
}

async function loadFrontier(db: Database, size: number): Promise<Frontier> {
  const read = nodeReader(db);
  const edge: Array<[number, Hash]> = [];
  for (const address of Frontier.addressesFor(size)) edge.push([address.level, await read(address)]);
  return new Frontier(size, edge);
}

export function treeHeadFrom(row: Record<string, unknown>): SignedTreeHead {
  return {
    treeSize: Number(row.tree_size),
    rootHash: Buffer.from(String(row.root_hash), 'hex'),
    timestampMs: Number(row.timestamp_ms),
    signature: Buffer.from(row.signature as Buffer),
    signerFingerprint: String(row.signer_fingerprint),
    timestampToken: Buffer.from(row.timestamp_token as Buffer),
  };
}

/** The JSON form of an inclusion proof (what `npm run audit -- prove` prints and an independent checker reads). */
export function inclusionProofJson(proof: InclusionProof, evidenceId?: string): Record<string, unknown> {
  const head = proof.treeHead;
  return {
    ...(evidenceId ? { evidenceId } : {}),
    hashAlgorithm: 'SHA-256 (RFC 6962: leaf 0x00, node 0x01)',
    leafIndex: proof.leafIndex,
    treeSize: proof.treeSize,
    leaf: proof.leaf.toString('base64'),
    leafHash: proof.leafHash.toString('hex'),
    auditPath: proof.auditPath.map((h) => h.toString('hex')),
    treeHead: {
      treeSize: head.treeSize,
      rootHash: head.rootHash.toString('hex'),
      timestamp: head.timestampMs,
      signedAt: new Date(head.timestampMs).toISOString(),
      signedBytes: treeHeadSignedBytes(head.treeSize, head.timestampMs, head.rootHash).toString('base64'),
      signature: head.signature.toString('base64'),
      signatureAlgorithm: 'SHA-256 with the ePost sealing key (RSA PKCS#1 v1.5 or ECDSA)',
      signerCertificate: proof.signerCertificatePem,
      timestampToken: head.timestampToken.toString('base64'),
      timestampImprint: 'SHA-256 of the signature',
    },
  };
}
