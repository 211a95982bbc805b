// Documents at rest: what is stored is checked against the digest the sender signed every time it
// leaves (app/storage/documents.ts, the one reader behind the eBox, the sender's bundle export and
// the batch channel; exercised here through the eBox). A document replaced in the database, even by
// a validly encrypted other document, is never handed out.
import { expect } from 'chai';
import { sealForStorage } from '../../app/storage/index.js';
import { ENTERPRISE_BASE, sendMail, startEboxService, type EboxTestBed } from '../ebox/helpers.js';

describe('documents at rest', function () {
  let bed: EboxTestBed;
  before(async () => {
    bed = await startEboxService();
  });
  after(async () => bed?.service.close());

  it('a stored document that no longer matches the signed digest is refused on the way out, not handed out', async () => {
    const employer = bed.readers.enterpriseUser.enterpriseNumber;
    const mail = await sendMail(bed.service, { kind: 'enterprise', enterpriseNumber: employer });
    const headers = { 'ebox-enterprise-number': employer };
    const url = `${ENTERPRISE_BASE}/ebox/messages/${mail.messageId}/attachments/document/content`;
    const { ctx } = bed.service;

    // Another document, encrypted as ePost encrypts this mail's: only the digest check can tell.
    const forged = sealForStorage(ctx.vault, Buffer.from('%PDF-1.7 forged'), `document:${mail.registeredMailId}`);
    const original = await ctx.db('documents').where({ registered_mail_id: mail.registeredMailId }).first();
    await ctx.db('documents').where({ registered_mail_id: mail.registeredMailId }).update(forged);
    const refused = await bed.enterpriseUser.get(url, headers);
    expect(refused.status).to.equal(503);
    expect(refused.text()).to.not.contain('forged');
    // Nothing was handed over: no handover evidence, the mail is still only delivered.
    expect(await ctx.db('proofs').where({ registered_mail_id: mail.registeredMailId, kind: 'ContentHandover' }).first()).to.equal(undefined);

    await ctx.db('documents').where({ registered_mail_id: mail.registeredMailId }).update({ key_id: original.key_id, iv: original.iv, ciphertext: original.ciphertext, auth_tag: original.auth_tag });
    const served = await bed.enterpriseUser.get(url, headers);
    expect(served.status).to.equal(200);
    expect(served.body.equals(mail.content)).to.equal(true);
  });
});
