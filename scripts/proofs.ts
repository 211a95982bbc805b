// npm run proofs -- <RegisteredMailId> [--reference <SenderReference>] [--cert ... --key ...] [--out-dir .]
// Fetches the proofs of one registered mail (only its sender may) and writes them as files.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { clientFrom, connectionOptions, fail, run } from './cli.js';

run(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { ...connectionOptions, reference: { type: 'string' }, 'out-dir': { type: 'string' } },
  });
  const id = positionals[0];
  if (!id && !values.reference) fail('usage: npm run proofs -- <RegisteredMailId> | --reference <SenderReference>');
  const client = clientFrom(values);
  const proofs = await client.getProofOfDelivery(id ? { registeredMailId: id } : { senderReference: values.reference! });
  const dir = values['out-dir'] ?? '.';
  fs.mkdirSync(dir, { recursive: true });
  const name = id ?? values.reference!.replace(/[^\w.-]/g, '_');
  const sendFile = path.join(dir, `${name}.send-proof.xml`);
  fs.writeFileSync(sendFile, proofs.sendProof);
  console.log(`Status:         ${proofs.status}`);
  console.log(`Send-proof:     ${sendFile}`);
  if (proofs.deliveryProof) {
    const deliveryFile = path.join(dir, `${name}.delivery-proof.xml`);
    fs.writeFileSync(deliveryFile, proofs.deliveryProof);
    console.log(`Delivery proof: ${deliveryFile}`);
  }
});
