// The PDF reproduction shows every character of the names, subjects and file names it prints: mails
// sent through the real service, their PDFs read back with pdftotext and pdffonts (poppler).
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ssinFrom } from '../../app/identifiers/index.js';
import { evidenceBundleForSender, renderReproduction, reproductionForSender } from '../../app/proofs/index.js';
import { run } from '../helpers/run.js';
import { startTestService, testBackend, type TestService } from '../helpers/service.js';

const CITIZEN = ssinFrom('850730033');
// Polish, Czech, Greek and Cyrillic, which DejaVu draws, and two CJK ideographs, which it does not.
const SUBJECT = 'Łukasz Żółć, Dvořák — Αθήνα — Москва — 東京';
const FILE_NAME = 'Łukasz Żółć — Αθήνα — Москва — 東京.pdf';

describe(`the PDF reproduction prints every character (${testBackend})`, function () {
  this.timeout(300_000);
  let service: TestService;
  let work: string;

  /** Sends a mail and returns its reproduction's pdftotext text (whitespace collapsed) and pdffonts table. */
  async function reproductionOf(subject: string, fileName: string): Promise<{ text: string; fonts: string; registeredMailId: string }> {
    const document = Buffer.from(`%PDF-1.7 ${randomUUID()}\n`);
    const sent = await service.client().sendRegisteredMail({
      senderReference: `repro-${randomUUID()}`,
      recipient: { kind: 'citizen', ssin: CITIZEN },
      subject,
      language: 'en',
      document: { fileName, mimeType: 'application/pdf', content: document },
    });
    const { pdf } = await reproductionForSender({
      db: service.ctx.db,
      sealer: service.ctx.sealer,
      senderEnterpriseNumber: service.devPki.senders[0]!.enterpriseNumber,
      registeredMailId: sent.registeredMailId,
      anchorsPem: [service.rootCaPem],
      document,
    });
    const file = path.join(work, `${sent.registeredMailId}.pdf`);
    fs.writeFileSync(file, pdf);
    const text = await run('pdftotext', ['-enc', 'UTF-8', file, '-']);
    expect(text.status, text.stderr).to.equal(0);
    const fonts = await run('pdffonts', [file]);
    expect(fonts.status, fonts.stderr).to.equal(0);
    return { text: text.stdout.replace(/\s+/g, ' '), fonts: fonts.stdout, registeredMailId: sent.registeredMailId };
  }

  before(async () => {
    service = await startTestService();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-reproduction-'));
  });

  after(async () => {
    await service?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('prints Polish, Czech, Greek and Cyrillic exactly, a character no font has as its code point, and says so', async () => {
    const { text, fonts } = await reproductionOf(SUBJECT, FILE_NAME);
    expect(text).to.contain('Subject: Łukasz Żółć, Dvořák — Αθήνα — Москва — [U+6771][U+4EAC] (language: en)');
    expect(text).to.contain('Document: "Łukasz Żółć — Αθήνα — Москва — [U+6771][U+4EAC].pdf", of type application/pdf');
    expect(text).not.to.contain('?');
    expect(text).to.contain("Some characters have no glyph in this PDF's fonts; each is printed as its Unicode code point in brackets (for instance [U+6771]).");
    // Every font is embedded (a subset), none is one of the standard fonts a reader would substitute.
    const rows = fonts.trim().split('\n').slice(2);
    expect(rows.map((r) => r.split(/\s+/)[0]).sort()).to.deep.equal(['EPOSTB+DejaVuSans-Bold', 'EPOSTM+DejaVuSansMono', 'EPOSTR+DejaVuSans']);
    for (const row of rows) expect(row, row).to.match(/\byes\s+yes\s+yes\s+\d+\s+0\s*$/);
  });

  it('has no replacement note when every character could be drawn', async () => {
    const { text, registeredMailId } = await reproductionOf('Avertissement-extrait de role 2025', 'aer-2025.pdf');
    expect(text).to.contain(`registered mail ${registeredMailId}`);
    expect(text).to.contain('Subject: Avertissement-extrait de role 2025 (language: en)');
    expect(text).not.to.contain('[U+');
    expect(text).not.to.contain('no glyph');
  });

  it('renders the same evidence verified at the same time to the same bytes', async () => {
    const { registeredMailId } = await reproductionOf(SUBJECT, FILE_NAME);
    const { bundle } = await evidenceBundleForSender({
      db: service.ctx.db,
      sealer: service.ctx.sealer,
      senderEnterpriseNumber: service.devPki.senders[0]!.enterpriseNumber,
      registeredMailId,
      anchorsPem: [service.rootCaPem],
    });
    const now = new Date();
    const first = await renderReproduction(bundle, [service.rootCaPem], { now });
    const second = await renderReproduction(bundle, [service.rootCaPem], { now });
    expect(first.equals(second)).to.equal(true);
  });
});
