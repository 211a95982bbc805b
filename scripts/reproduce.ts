// npm run reproduce -- <bundle.zip> [--out <file.pdf>] [--anchor <root.pem>]... [--intermediate <ca.pem>]...
// Verifies an evidence bundle offline and renders its readable reproduction: a PDF stating who sent
// what to whom and when, delivery and opening, digests and the verification result, with the evidence
// XML and the bundle attached. Refuses (exit 1) a bundle that does not verify. Anchors default to
// certs/anchors.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../app/config/index.js';
import { pkiLayout } from '../app/pki/index.js';
import { isBundle, renderReproduction } from '../app/proofs/index.js';
import { fail, readFile } from './cli.js';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, anchor: { type: 'string', multiple: true }, intermediate: { type: 'string', multiple: true } },
  });
  if (positionals.length !== 1) fail('usage: npm run reproduce -- <bundle.zip> [--out <file.pdf>] [--anchor <root.pem>]...');
  const file = positionals[0]!;
  if (!fs.existsSync(file)) fail(`${file}: no such file`);
  const bundle = fs.readFileSync(file);
  if (!isBundle(bundle)) fail(`${file}: not an evidence bundle (a ZIP file)`);
  let anchors = (values.anchor ?? []).map(readFile);
  if (anchors.length === 0) {
    const dir = pkiLayout(loadConfig().certsDir).anchorsDir;
    anchors = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.pem')).sort().map((f) => fs.readFileSync(path.join(dir, f), 'utf8')) : [];
    if (anchors.length === 0) fail(`no trust anchor: give --anchor <root.pem> (none under ${dir})`);
  }
  let pdf: Buffer;
  try {
    pdf = await renderReproduction(bundle, anchors, { intermediatesPem: (values.intermediate ?? []).map(readFile) });
  } catch (err) {
    console.log(`INVALID: ${(err as Error).message}`);
    return 1;
  }
  const out = values.out ?? path.join(path.dirname(file), `${path.basename(file).replace(/\.zip$/i, '')}.pdf`);
  fs.writeFileSync(out, pdf);
  console.log(`Reproduction: ${out}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`error: ${(err as Error)?.message ?? String(err)}`);
    process.exit(2);
  },
);
