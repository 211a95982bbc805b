// GetProofOfDelivery hands the sender, with each evidence, the RFC 6962 inclusion proof of its
// processing-log record once a signed tree head covers it; the standalone checker written from
// RFC 6962 (test/audit/rfc6962_check.py, Python standard library only) accepts each.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ssinFrom } from '../../app/identifiers/index.js';
import { run } from '../helpers/run.js';
import { startTestService, testBackend, type TestService } from '../helpers/service.js';

const CHECKER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'audit', 'rfc6962_check.py');

describe(`log inclusion proofs in GetProofOfDelivery (${testBackend})`, function () {
  let service: TestService;
  before(async () => {
    service = await startTestService({ EPOST_LOG_TREE_INTERVAL: '3600' });
  });
  after(async () => service?.close());

  it('are absent until a signed tree head covers the evidence, then verify independently', async () => {
    const client = service.client();
    const sent = await client.sendRegisteredMail({
      senderReference: `inclusion-${randomUUID()}`,
      recipient: { kind: 'citizen', ssin: ssinFrom('850730033') },
      subject: 'Inclusion proofs',
      document: { fileName: 'i.txt', mimeType: 'text/plain', content: Buffer.from('inclusion') },
    });
    const before = await client.getProofOfDelivery({ registeredMailId: sent.registeredMailId });
    expect(before.inclusionProofs).to.deep.equal([]);

    await service.ctx.audit.sealNow();
    const after = await client.getProofOfDelivery({ registeredMailId: sent.registeredMailId });
    expect(after.evidence).to.have.length(2);
    expect(after.inclusionProofs).to.have.length(2);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-inclusion-'));
    for (const { evidenceId, proof } of after.inclusionProofs) {
      const file = path.join(dir, `${evidenceId}.json`);
      fs.writeFileSync(file, proof);
      const checked = await run('/usr/bin/python3', [CHECKER, file, evidenceId]);
      expect(checked.status, checked.stdout + checked.stderr).to.equal(0);
      expect(checked.stdout).to.match(/^OK/);
      // A proof for another evidence does not pass as this one's.
      const other = after.inclusionProofs.find((p) => p.evidenceId !== evidenceId)!.evidenceId;
      expect((await run('/usr/bin/python3', [CHECKER, file, other])).status).to.equal(1);
    }
  });
});
