// Tampering with the log directly in the database, as an administrator with full rights would
// (the database guards lifted first): `npm run audit -- verify` fails and names the first bad
// sequence number for an edited, deleted, inserted or reordered record and a truncated log.
// Each case starts from its own service: after the start-up records (B of them, sealed first: the
// development set-up registers its demo readers), three sends and a refusal, seven records
// (B+0 send, B+1 delivery, B+2 send, B+3 delivery, B+4 send, B+5 delivery, B+6 refusal) under
// signed tree heads of sizes B+2, B+4, B+6 and B+7.
import { expect } from 'chai';
import { leafHash } from '../../app/audit/merkle.js';
import { leafBytes, storedRecord } from '../../app/audit/records.js';
import type { Database } from '../../app/storage/index.js';
import { startTestService, testBackend, type TestService } from '../helpers/service.js';
import { refusalOf, runAudit, submission, withoutLogGuards } from './helpers.js';

/** The number of start-up records before the seven of each case. */
let B = 0;

async function populatedService(): Promise<TestService> {
  const service = await startTestService({ EPOST_LOG_TREE_INTERVAL: '3600' });
  B = Number((await service.ctx.audit.sealNow())?.treeSize ?? 0);
  const client = service.client();
  for (let i = 0; i < 3; i++) {
    await client.sendRegisteredMail(submission());
    await service.ctx.audit.sealNow();
  }
  await client.post('<not-a-soap-envelope/>', 'SendRegisteredMail').catch(() => undefined);
  await service.ctx.audit.sealNow();
  const sizes = (await service.ctx.db('audit_tree_heads').orderBy('tree_size').select('tree_size')).map((r) => Number(r.tree_size));
  expect(sizes.slice(-4), 'the starting log').to.deep.equal([B + 2, B + 4, B + 6, B + 7]);
  return service;
}

async function expectVerifyFailsAt(service: TestService, seq: number, reason: RegExp): Promise<void> {
  const verified = await runAudit(service, ['verify']);
  expect(verified.status, verified.stdout + verified.stderr).to.equal(1);
  expect(verified.stdout).to.contain(`FAILED: first bad sequence number: ${seq}\n`);
  expect(verified.stdout).to.match(reason);
}

/** Moves records seq >= from by `by` places, in two steps so no two rows ever share a number. */
async function shift(db: Database, from: number, by: number): Promise<void> {
  await db('audit_records').where('seq', '>=', from).update({ seq: db.raw('-seq - 1') });
  await db('audit_records').where('seq', '<', 0).update({ seq: db.raw('-seq - 1 + ?', [by]) });
}

describe(`tampering with the processing log is detected (${testBackend})`, function () {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('the untouched log verifies', async () => {
    service = await populatedService();
    const verified = await runAudit(service, ['verify']);
    expect(verified.status, verified.stdout + verified.stderr).to.equal(0);
    expect(verified.stdout).to.match(new RegExp(`OK: ${B + 7} records, ${B > 0 ? 5 : 4} signed tree heads`));
  });

  it('an edited record: refused by the database, and once forced, named by audit verify', async () => {
    service = await populatedService();
    const db = service.ctx.db;
    const edit = (d: Database) => d('audit_records').where({ seq: B + 2 }).update({ executor: 'CN=someone else' });
    expect(await refusalOf(edit(db))).to.match(/append-only/);
    await withoutLogGuards(db, async (d) => void (await edit(d)));
    await expectVerifyFailsAt(service, B + 2, new RegExp(`record ${B + 2} no longer matches the leaf`));
  });

  it('a deleted record: refused by the database, and once forced, named by audit verify', async () => {
    service = await populatedService();
    const db = service.ctx.db;
    expect(await refusalOf(db('audit_records').where({ seq: B + 3 }).delete())).to.match(/append-only/);
    await withoutLogGuards(db, async (d) => void (await d('audit_records').where({ seq: B + 3 }).delete()));
    await expectVerifyFailsAt(service, B + 3, new RegExp(`record ${B + 3} is missing \\(deleted\\)`));
  });

  it('an inserted record: named by audit verify', async () => {
    service = await populatedService();
    await withoutLogGuards(service.ctx.db, async (d) => {
      await shift(d, B + 4, 1);
      await d('audit_records').insert({
        seq: B + 4,
        recorded_at: new Date().toISOString(),
        operation: 'DeliverIntoEbox',
        outcome: 'completed',
        responsible: service!.devPki.senders[0]!.enterpriseNumber,
        executor: 'ePost eBox delivery',
        recipient: 'citizen:85073003328',
      });
    });
    await expectVerifyFailsAt(service, B + 4, new RegExp(`record ${B + 4} no longer matches the leaf`));
  });

  it('reordered records: named by audit verify', async () => {
    service = await populatedService();
    await withoutLogGuards(service.ctx.db, async (d) => {
      await d('audit_records').where({ seq: B + 1 }).update({ seq: -1 });
      await d('audit_records').where({ seq: B + 3 }).update({ seq: B + 1 });
      await d('audit_records').where({ seq: -1 }).update({ seq: B + 3 });
    });
    await expectVerifyFailsAt(service, B + 1, new RegExp(`record ${B + 1} no longer matches the leaf`));
  });

  it('a truncated log: refused by the database, and once forced, named by audit verify', async () => {
    service = await populatedService();
    const db = service.ctx.db;
    expect(await refusalOf(db('audit_records').where('seq', '>=', B + 4).delete())).to.match(/append-only/);
    await withoutLogGuards(db, async (d) => {
      const ids = (await d('audit_records').where('seq', '>=', B + 4).select('id')).map((r) => r.id);
      await d('audit_payloads').whereIn('record_id', ids).delete();
      await d('audit_records').whereIn('id', ids).delete();
    });
    await expectVerifyFailsAt(service, B + 4, new RegExp(`the log is truncated: a signed tree head covers ${B + 6} records but the log has ${B + 4}`));
  });

  it('an edited record whose stored leaf was rewritten to match: the signed tree heads still name the place', async () => {
    service = await populatedService();
    await withoutLogGuards(service.ctx.db, async (d) => {
      await d('audit_records').where({ seq: B + 3 }).update({ outcome: 'failed' });
      const record = storedRecord(await d('audit_records').where({ seq: B + 3 }).first());
      await d('audit_tree_nodes').where({ level: 0, idx: B + 3 }).update({ hash: leafHash(leafBytes(B + 3, record)).toString('hex') });
    });
    // Heads of sizes B+2 and B+4 bracket the change: the first size that no longer matches is B+4.
    await expectVerifyFailsAt(
      service,
      B + 2,
      new RegExp(`do not produce the root of the signed tree head of size ${B + 4}: the first bad sequence number is between ${B + 2} and ${B + 3}`),
    );
  });
});
