// npm run send -- --cert <sender.pem> --key <sender.key.pem> --to citizen:<SSIN> --file <doc> --subject "..."
// Sends one registered mail with a WS-Security-signed request and writes the returned send-proof.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseRecipient } from '../app/client/index.js';
import { clientFrom, connectionOptions, fail, run } from './cli.js';

const MIME_TYPES: Record<string, string> = {
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
    },
  });
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
      mimeType: values.mime ?? MIME_TYPES[path.extname(values.file).toLowerCase()] ?? 'application/octet-stream',
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
