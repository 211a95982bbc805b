// Bulk sending for institutions: many registered mails from a manifest, with bounded concurrency,
// retries of retryable faults under the same SenderReference (so ePost's idempotency makes a retry
// safe), a state file that makes an interrupted run resumable, and a summary report with every
// send-proof saved beside it.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseRecipient, SoapFault, type RegisteredMailSubmission, type SenderClient } from './index.js';

export interface BulkItem {
  /** SenderReference: given in the manifest, or derived from the item so a re-run reuses it. */
  senderReference: string;
  recipient: string;
  subject: string;
  file: string;
  mimeType: string;
  language?: 'fr' | 'nl' | 'de' | 'en';
}

export interface BulkOutcome {
  senderReference: string;
  recipient: string;
  file: string;
  status: 'sent' | 'failed';
  registeredMailId?: string;
  submissionTime?: string;
  proofFile?: string;
  faultCode?: string;
  reason?: string;
  attempts: number;
}

export interface BulkProgress {
  total: number;
  done: number;
  sent: number;
  failed: number;
  retried: number;
  resumed: number;
}

export interface BulkOptions {
  /** Directory for the state file, the reports and the proofs. */
  outDir: string;
  concurrency?: number;
  maxAttempts?: number;
  onProgress?(progress: BulkProgress): void;
}

const MIME_BY_EXTENSION: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.xml': 'application/xml',
  '.html': 'text/html',
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.odt': 'application/vnd.oasis.opendocument.text',
};

export function mimeTypeOf(file: string): string {
  return MIME_BY_EXTENSION[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** A reference that is the same on every run for the same item, so a resumed run cannot send twice. */
function derivedReference(recipient: string, subject: string, file: string, content: Buffer): string {
  const digest = createHash('sha256').update(JSON.stringify([recipient, subject, path.basename(file)])).update(content).digest('hex');
  return `bulk-${digest.slice(0, 40)}`;
}

/** Splits one CSV line (RFC 4180 quoting). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

function csvLine(values: (string | number | undefined)[]): string {
  return values.map((v) => (v === undefined ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v))).join(',');
}

/**
 * Reads a manifest: a CSV file with the header `recipient,subject,file` and optional columns
 * `reference`, `mime`, `language` (files relative to the CSV); or a directory whose files are
 * named `<citizen|enterprise>-<identifier>[_anything].<ext>`, all sent with `defaultSubject`.
 * Every problem is reported at once, before anything is sent.
 */
export function readManifest(source: string, defaultSubject?: string): BulkItem[] {
  const problems: string[] = [];
  const items: BulkItem[] = [];
  const add = (where: string, recipient: string, subject: string | undefined, file: string, reference?: string, mime?: string, language?: string) => {
    try {
      parseRecipient(recipient);
    } catch (err) {
      problems.push(`${where}: ${(err as Error).message}`);
      return;
    }
    if (!subject) return void problems.push(`${where}: no subject`);
    if (!fs.existsSync(file)) return void problems.push(`${where}: ${file}: no such file`);
    if (language && !['fr', 'nl', 'de', 'en'].includes(language)) return void problems.push(`${where}: language must be fr, nl, de or en`);
    items.push({
      senderReference: reference || derivedReference(recipient, subject, file, fs.readFileSync(file)),
      recipient,
      subject,
      file,
      mimeType: mime || mimeTypeOf(file),
      ...(language ? { language: language as BulkItem['language'] } : {}),
    });
  };

  if (fs.statSync(source).isDirectory()) {
    for (const name of fs.readdirSync(source).sort()) {
      const m = /^(citizen|enterprise)-(\d+)/.exec(name);
      if (!m) {
        problems.push(`${name}: file names must start with citizen-<SSIN> or enterprise-<number>`);
        continue;
      }
      add(name, `${m[1]}:${m[2]}`, defaultSubject, path.join(source, name));
    }
  } else {
    const lines = fs.readFileSync(source, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
    const header = csvFields(lines[0] ?? '').map((h) => h.trim().toLowerCase());
    for (const required of ['recipient', 'subject', 'file']) {
      if (!header.includes(required)) problems.push(`${source}: the header has no "${required}" column`);
    }
    if (problems.length === 0) {
      const base = path.dirname(source);
      lines.slice(1).forEach((line, index) => {
        const row = Object.fromEntries(csvFields(line).map((v, i) => [header[i], v.trim()]));
        add(`${source} line ${index + 2}`, row.recipient ?? '', row.subject || defaultSubject, path.resolve(base, row.file ?? ''), row.reference, row.mime, row.language);
      });
    }
  }
  const references = new Set<string>();
  for (const item of items) {
    if (references.has(item.senderReference)) problems.push(`SenderReference ${item.senderReference} appears twice`);
    references.add(item.senderReference);
  }
  if (problems.length > 0) throw new Error(`the manifest has ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  return items;
}

/** A network failure or a retryable fault: the same submission may be sent again. */
function isRetryable(err: unknown): boolean {
  if (err instanceof SoapFault) return err.retryable;
  const code = (err as NodeJS.ErrnoException)?.code;
  return ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET'].includes(code ?? '');
}

/**
 * Sends every item not yet recorded in the state file, and writes report.csv and report.json.
 * The state file gets one JSON line per finished item, so an interruption loses at most the
 * items in flight, which are sent again under the same SenderReference.
 */
export async function sendBulk(client: SenderClient, items: BulkItem[], options: BulkOptions): Promise<{ outcomes: BulkOutcome[]; progress: BulkProgress }> {
  const proofsDir = path.join(options.outDir, 'proofs');
  fs.mkdirSync(proofsDir, { recursive: true });
  const stateFile = path.join(options.outDir, 'state.jsonl');
  const finished = new Map<string, BulkOutcome>();
  if (fs.existsSync(stateFile)) {
    for (const line of fs.readFileSync(stateFile, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const outcome = JSON.parse(line) as BulkOutcome;
        if (outcome.status === 'sent') finished.set(outcome.senderReference, outcome);
      } catch {
        // the last line of an interrupted run may be cut short: that item is simply sent again
      }
    }
  }
  const state = fs.openSync(stateFile, 'a');
  const progress: BulkProgress = { total: items.length, done: 0, sent: 0, failed: 0, retried: 0, resumed: 0 };
  for (const item of items) {
    if (finished.has(item.senderReference)) {
      progress.done++;
      progress.sent++;
      progress.resumed++;
    }
  }
  options.onProgress?.(progress);
  const queue = items.filter((item) => !finished.has(item.senderReference));
  const maxAttempts = options.maxAttempts ?? 5;

  const sendOne = async (item: BulkItem): Promise<BulkOutcome> => {
    const submission: RegisteredMailSubmission = {
      senderReference: item.senderReference,
      recipient: parseRecipient(item.recipient),
      subject: item.subject,
      ...(item.language ? { language: item.language } : {}),
      document: { fileName: path.basename(item.file), mimeType: item.mimeType, content: fs.readFileSync(item.file) },
    };
    const base = { senderReference: item.senderReference, recipient: item.recipient, file: item.file };
    for (let attempt = 1; ; attempt++) {
      try {
        const sent = await client.sendRegisteredMail(submission);
        const proofFile = path.join(proofsDir, `${sent.registeredMailId}.send-proof.xml`);
        fs.writeFileSync(proofFile, sent.sendProof);
        return { ...base, status: 'sent', registeredMailId: sent.registeredMailId, submissionTime: sent.submissionTime.toISOString(), proofFile, attempts: attempt };
      } catch (err) {
        if (isRetryable(err) && attempt < maxAttempts) {
          progress.retried++;
          await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
          continue;
        }
        const fault = err instanceof SoapFault ? err : undefined;
        return { ...base, status: 'failed', faultCode: fault?.faultCode ?? (err as NodeJS.ErrnoException).code ?? 'Error', reason: fault?.reason ?? (err as Error).message, attempts: attempt };
      }
    }
  };

  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const outcome = await sendOne(item);
      fs.writeSync(state, JSON.stringify(outcome) + '\n');
      finished.set(outcome.senderReference, outcome);
      progress.done++;
      if (outcome.status === 'sent') progress.sent++;
      else progress.failed++;
      options.onProgress?.(progress);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  } finally {
    fs.closeSync(state);
  }

  const outcomes = items.map((item) => finished.get(item.senderReference)!);
  fs.writeFileSync(path.join(options.outDir, 'report.json'), JSON.stringify({ progress, outcomes }, null, 2));
  const columns = ['senderReference', 'recipient', 'file', 'status', 'registeredMailId', 'submissionTime', 'proofFile', 'faultCode', 'reason', 'attempts'] as const;
  fs.writeFileSync(
    path.join(options.outDir, 'report.csv'),
    [columns.join(','), ...outcomes.map((o) => csvLine(columns.map((c) => o[c])))].join('\n') + '\n',
  );
  return { outcomes, progress };
}

/** A one-line progress display: a bar on a terminal, a line every 10% otherwise. */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): (p: BulkProgress) => void {
  let lastTenth = -1;
  return (p) => {
    const ratio = p.total === 0 ? 1 : p.done / p.total;
    const text = `${p.done}/${p.total} done: ${p.sent} sent${p.resumed ? ` (${p.resumed} from an earlier run)` : ''}, ${p.failed} failed, ${p.retried} retries`;
    if (stream.isTTY) {
      const width = 30;
      const filled = Math.round(ratio * width);
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`);
      if (p.done === p.total) stream.write('\n');
    } else if (Math.floor(ratio * 10) !== lastTenth || p.done === p.total) {
      lastTenth = Math.floor(ratio * 10);
      stream.write(`progress ${Math.round(ratio * 100)}%: ${text}\n`);
    }
  };
}
