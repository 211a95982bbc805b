// npm run audit -- <command>
//   verify [--payloads] [--json]       recompute the tree from the records, check every signed tree head
//                                      and timestamp; exit 1 naming the first bad sequence number
//   prove <evidenceId> [--out-dir DIR] inclusion proof (JSON) of the record that produced an evidence
//   prove --seq <n> [--out-dir DIR]    … of record n; --out-dir also writes the tree head for openssl
//   consistency <oldSize> <newSize>    RFC 6962 consistency proof between two signed tree heads
//   seal                               number waiting records and sign a tree head now
//   purge                              purge the documents whose retention has ended
// Reads the same configuration as the service (EPOST_DB / DATABASE_URL, EPOST_CERTS_DIR, EPOST_DATA_KEY).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AuditLog, inclusionProofJson, treeHeadSignedBytes, verifyLog, type InclusionProof } from '../app/audit/index.js';
import { loadConfig } from '../app/config/index.js';
import { pkiLayout, readPemTexts } from '../app/pki/index.js';
import { loadDataVault, openDatabase, type Database } from '../app/storage/index.js';
import { fail, run } from './cli.js';

const USAGE = 'usage: npm run audit -- verify [--payloads] [--json] | prove <evidenceId> | prove --seq <n> [--out-dir DIR] | consistency <old> <new> | seal | purge';

run(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { json: { type: 'boolean' }, payloads: { type: 'boolean' }, seq: { type: 'string' }, 'out-dir': { type: 'string' } },
  });
  const [command, ...rest] = positionals;
  if (!command) fail(USAGE);
  const config = loadConfig();
  const layout = pkiLayout(config.certsDir);
  const db = await openDatabase(config);
  try {
    const vault = () => loadDataVault(config.dataKeyBase64, config.devPki ? path.join(layout.devDir, 'data-key.b64') : undefined);
    const openLog = () => AuditLog.open(config, db, vault(), () => new Date());
    switch (command) {
      case 'verify':
        process.exitCode = await verify(db, config.certsDir, values.payloads ? vault() : undefined, values.json ?? false);
        break;
      case 'prove': {
        const log = await openLog();
        const seq = values.seq === undefined ? undefined : Number(values.seq);
        if (seq === undefined && !rest[0]) fail(USAGE);
        if (seq !== undefined && (!Number.isSafeInteger(seq) || seq < 0)) fail('--seq takes a record sequence number');
        const proof = seq !== undefined ? await log.inclusionProofForSequence(seq) : await log.inclusionProofFor(rest[0]!);
        if (!proof) {
          console.error(`No signed tree head covers ${seq !== undefined ? `record ${seq}` : `evidence ${rest[0]}`} yet (run \`npm run audit -- seal\`, or wait for the next tree head).`);
          process.exitCode = 1;
          break;
        }
        const json = inclusionProofJson(proof, seq === undefined ? rest[0] : undefined);
        if (values['out-dir']) writeProofFiles(values['out-dir'], proof, json);
        console.log(JSON.stringify(json, null, 2));
        break;
      }
      case 'consistency': {
        const [oldSize, newSize] = rest.map(Number);
        if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize)) fail(USAGE);
        const proof = await (await openLog()).consistencyProof(oldSize!, newSize!);
        console.log(
          JSON.stringify(
            { oldSize, newSize, oldRoot: proof.oldRoot.toString('hex'), newRoot: proof.newRoot.toString('hex'), consistencyPath: proof.path.map((h) => h.toString('hex')) },
            null,
            2,
          ),
        );
        break;
      }
      case 'seal': {
        const head = await (await openLog()).sealNow();
        console.log(head ? `Signed tree head: size ${head.treeSize}, root ${head.rootHash.toString('hex')}, ${new Date(head.timestampMs).toISOString()}` : 'Nothing new to seal.');
        break;
      }
      case 'purge': {
        const purged = await (await openLog()).purgeExpiredDocuments();
        for (const p of purged) console.log(`purged ${p.registeredMailId} (sender ${p.senderEnterpriseNumber}, kept ${p.retentionDays} days, SHA-256 ${p.digestSha256})`);
        console.log(`${purged.length} document(s) purged.`);
        break;
      }
      default:
        fail(USAGE);
    }
  } finally {
    await db.destroy();
  }
});

async function verify(db: Database, certsDir: string, vault: ReturnType<typeof loadDataVault> | undefined, json: boolean): Promise<number> {
  const layout = pkiLayout(certsDir);
  const trust = { anchorsPem: readPemTexts(layout.anchorsDir), intermediatesPem: readPemTexts(layout.intermediatesDir) };
  const result = await verifyLog(db, { trust, vault });
  if (json) {
    console.log(JSON.stringify(result, null, 2));
  } else if (result.ok) {
    const head = result.latestTreeHead;
    console.log(
      `OK: ${result.records} records, ${result.treeHeads} signed tree heads` +
        (head ? ` (latest: size ${head.treeSize}, ${head.signedAt})` : '') +
        (result.waiting ? `; ${result.waiting} record(s) waiting for the sealer` : '') +
        (result.payloadsChecked ? `; ${result.payloadsChecked} payloads decrypted and checked` : ''),
    );
    if (head && head.treeSize < result.records) console.log(`Note: records ${head.treeSize} to ${result.records - 1} are not yet under a signed tree head.`);
  } else {
    console.log(`FAILED: first bad sequence number: ${result.firstBadSequence ?? 'none (see below)'}`);
    for (const problem of result.problems) console.log(`  - ${problem}`);
  }
  return result.ok ? 0 : 1;
}

/** The proof and its tree head as files, so openssl and an independent checker need nothing else. */
function writeProofFiles(dir: string, proof: InclusionProof, json: Record<string, unknown>): void {
  fs.mkdirSync(dir, { recursive: true });
  const head = proof.treeHead;
  fs.writeFileSync(path.join(dir, 'inclusion-proof.json'), JSON.stringify(json, null, 2));
  fs.writeFileSync(path.join(dir, 'tree-head.bin'), treeHeadSignedBytes(head.treeSize, head.timestampMs, head.rootHash));
  fs.writeFileSync(path.join(dir, 'tree-head.sig'), head.signature);
  fs.writeFileSync(path.join(dir, 'tree-head.tst'), head.timestampToken);
  fs.writeFileSync(path.join(dir, 'log-signer.pem'), proof.signerCertificatePem);
  console.error(
    [
      `Wrote ${dir}/inclusion-proof.json, tree-head.bin, tree-head.sig, tree-head.tst and log-signer.pem. Check with openssl alone:`,
      `  openssl x509 -in ${dir}/log-signer.pem -pubkey -noout > ${dir}/log-signer.pub`,
      `  openssl dgst -sha256 -verify ${dir}/log-signer.pub -signature ${dir}/tree-head.sig ${dir}/tree-head.bin`,
      `  openssl ts -verify -data ${dir}/tree-head.sig -in ${dir}/tree-head.tst -token_in -CAfile <root CA> -untrusted <TSA certificate>`,
    ].join('\n'),
  );
}
