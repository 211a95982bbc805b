// What the evidence tests share: the CLI scripts and the independent tools run as child processes
// without blocking the event loop (the service under test lives in the mocha process), and the
// one-byte tampering of a file inside a bundle.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import JSZip from 'jszip';
import { projectRoot } from '../../app/config/index.js';
import { run, type RunResult } from '../helpers/run.js';

const TSX = path.join(projectRoot, 'node_modules', '.bin', 'tsx');

/** `npm run verify -- <args>` without npm's own output. */
export function verifyCli(args: string[]): Promise<RunResult> {
  return run(TSX, [path.join(projectRoot, 'scripts', 'verify.ts'), ...args], { cwd: projectRoot, timeoutMs: 120_000 });
}

/** `npm run reproduce -- <args>`. */
export function reproduceCli(args: string[]): Promise<RunResult> {
  return run(TSX, [path.join(projectRoot, 'scripts', 'reproduce.ts'), ...args], { cwd: projectRoot, timeoutMs: 120_000 });
}

const EXTRACT_TIMESTAMP = `
import sys, base64
from lxml import etree
DS = 'http://www.w3.org/2000/09/xmldsig#'
XADES = 'http://uri.etsi.org/01903/v1.3.2#'
doc = etree.parse(sys.argv[1], etree.XMLParser(resolve_entities=False, no_network=True))
sv = doc.getroot().find('{%s}Signature/{%s}SignatureValue' % (DS, DS))
open(sys.argv[2], 'wb').write(etree.tostring(sv, method='c14n', exclusive=True))
token = doc.find('.//{%s}EncapsulatedTimeStamp' % XADES)
open(sys.argv[3], 'wb').write(base64.b64decode(token.text))
`;

/** xmlsec1 alone, as README.md shows a sender. */
export function xmlsec1(file: string, trustedPem: string): Promise<RunResult> {
  return run('xmlsec1', ['--verify', '--trusted-pem', trustedPem, file]);
}

/** lxml's exclusive C14N of ds:SignatureValue, then `openssl ts -verify -data` on the embedded token. */
export async function opensslTimestamp(file: string, caFile: string): Promise<RunResult> {
  const c14n = `${file}.sigvalue.c14n`;
  const token = `${file}.tst`;
  const extracted = await run('/usr/bin/python3', ['-c', EXTRACT_TIMESTAMP, file, c14n, token]);
  if (extracted.status !== 0) return extracted;
  return run('openssl', ['ts', '-verify', '-data', c14n, '-in', token, '-token_in', '-CAfile', caFile]);
}

export function scratch(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The names of the files in a bundle. */
export async function bundleFiles(bundle: Buffer): Promise<string[]> {
  const zip = await JSZip.loadAsync(bundle);
  return Object.values(zip.files)
    .filter((f) => !f.dir)
    .map((f) => f.name);
}

/** The same bundle with one byte of one file changed (XOR 0x01 at `position`, negative from the end). */
export async function withOneByteChanged(bundle: Buffer, file: string, position: number): Promise<Buffer> {
  const zip = await JSZip.loadAsync(bundle);
  const entry = zip.file(file);
  if (!entry) throw new Error(`no ${file} in the bundle`);
  const content = await entry.async('nodebuffer');
  const at = position < 0 ? content.length + position : position;
  content[at] = content[at]! ^ 0x01;
  const out = new JSZip();
  for (const f of Object.values(zip.files)) {
    if (f.dir) continue;
    out.file(f.name, f.name === file ? content : await f.async('nodebuffer'), { compression: f.name === 'mimetype' ? 'STORE' : 'DEFLATE', date: f.date });
  }
  return out.generateAsync({ type: 'nodebuffer' });
}
