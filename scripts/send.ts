// npm run send -- --cert <sender.pem> --key <sender.key.pem> --to citizen:<SSIN> --file <doc> --subject "..."
// Sends one registered mail with a WS-Security-signed request and writes the returned send-proof.
// npm run send -- --batch <manifest.csv | directory> [--out <dir>] [--concurrency 4] [--subject "..."]
// Sends many, resumably: re-running the same command after an interruption sends only what is left.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { mimeTypeOf, progressPrinter, readManifest, sendBulk } from '../app/client/bulk.js';
import { parseRecipient } from '../app/client/index.js';
import { clientFrom, connectionOptions, fail, run } from './cli.js';

run(async () => {
  const { values } = parseArgs({
    options: {
      ...connectionOptions,
      to: { type: 'string' },
      file: { type: 'string' },
      subject: { type: 'string' },
      reference: { type: 'string' },
      mime: { type: 'string' },
      language: { type: 'string' },
      out: { type: 'string' },
      batch: { type: 'string' },
      concurrency: { type: 'string' },
    },
  });
  if (values.batch) {
    if (!fs.existsSync(values.batch)) fail(`${values.batch}: no such file or directory`);
    const items = readManifest(values.batch, values.subject);
    const outDir = values.out ?? `${values.batch.replace(/\/$/, '')}.epost`;
    const { progress } = await sendBulk(clientFrom(values), items, {
      outDir,
      concurrency: Number(values.concurrency ?? 4),
      onProgress: progressPrinter(),
    });
    console.log(`Sent ${progress.sent} of ${progress.total} (${progress.failed} failed); report: ${path.join(outDir, 'report.csv')}, proofs: ${path.join(outDir, 'proofs')}`);
    if (progress.failed > 0) process.exitCode = 1;
    return;
  }
  if (!values.to || !values.file || !values.subject) fail('--to, --file and --subject are required');
  if (!fs.existsSync(values.file)) fail(`${values.file}: no such file`);
  const language = values.language as 'fr' | 'nl' | 'de' | 'en' | undefined;
  const client = clientFrom(values);
  const senderReference = values.reference ?? `cli-${randomUUID()}`;
  const result = await client.sendRegisteredMail({
    senderReference,
    recipient: parseRecipient(values.to),
    subject: values.subject,
    ...(language ? { language } : {}),
    document: {
      fileName: path.basename(values.file),
      mimeType: values.mime ?? mimeTypeOf(values.file),
      content: fs.readFileSync(values.file),
    },
  });
  const out = values.out ?? `${result.registeredMailId}.send-proof.xml`;
  fs.writeFileSync(out, result.sendProof);
  console.log(`RegisteredMailId: ${result.registeredMailId}`);
  console.log(`SenderReference:  ${senderReference}`);
  console.log(`SubmissionTime:   ${result.submissionTime.toISOString()}`);
  console.log(`Send-proof:       ${out}`);
});
