// The web reader at /ebox/: server-rendered HTML in the reader's language, registered mails marked
// and unread first, the same rights and refusals as the API; and the browser test: Debian's chromium
// (playwright-core, client certificate in the browser context) logs in as a citizen, sees a
// registered mail, opens it, downloads the document, and leaves a screenshot in test-output/.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../app/config/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { run } from '../helpers/run.js';
import { readerFor, records, sendMail, startEboxService, type EboxTestBed, type SentMail } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT_DIR = path.join(projectRoot, 'test-output');

describe('eBox web reader', function () {
  let bed: EboxTestBed;
  let older: SentMail;
  let newer: SentMail;
  let forBrowser: SentMail;

  before(async () => {
    bed = await startEboxService();
    const citizen = { kind: 'citizen' as const, ssin: bed.readers.citizen.ssin };
    older = await sendMail(bed.service, citizen, { subject: 'Ancien courrier <b>important</b>' });
    newer = await sendMail(bed.service, citizen, { subject: 'Courrier déjà lu' });
    expect((await bed.citizen.get(`/ebox/citizen/messages/${newer.messageId}/document`)).status).to.equal(200);
  });
  after(async () => bed?.service.close());

  it('lists the messages unread first, registered mails marked, subjects escaped, in the language asked', async () => {
    const page = await bed.citizen.get('/ebox/citizen/?lang=nl');
    expect(page.status).to.equal(200);
    const html = page.text();
    expect(html).to.include('<html lang="nl">');
    expect(html).to.include('Aangetekend');
    expect(html.indexOf(older.messageId), 'the unread (older) mail comes first').to.be.lessThan(html.indexOf(newer.messageId));
    expect(html).to.include('Ancien courrier &lt;b&gt;important&lt;/b&gt;');
    expect(html).to.not.include('<b>important</b>');
    expect(page.headers['content-security-policy']).to.include("default-src 'none'");
    expect(page.headers['cache-control']).to.equal('no-store');
  });

  it('follows Accept-Language among fr, nl, de, en', async () => {
    for (const [accept, lang, label] of [['de-BE,de;q=0.9', 'de', 'Einschreiben'], ['fr-BE', 'fr', 'Recommandé'], ['en-GB', 'en', 'Registered mail'], ['it', 'en', 'Registered mail']]) {
      const html = (await bed.citizen.get('/ebox/citizen/', { 'accept-language': accept! })).text();
      expect(html, accept).to.include(`<html lang="${lang}">`);
      expect(html, accept).to.include(label);
    }
  });

  it('shows a message with its proofs, serves each proof and the PDF reproduction, and records it all', async () => {
    const html = (await bed.citizen.get(`/ebox/citizen/messages/${newer.messageId}?lang=en`)).text();
    expect(html).to.include('Proof of handover (first opening)');
    const proofLinks = [...html.matchAll(/href="([^"]+\/proofs\/[^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    expect(proofLinks).to.have.length(3);
    const proof = await bed.citizen.get(proofLinks[2]!);
    expect(proof.status).to.equal(200);
    expect(proof.headers['content-disposition']).to.match(/^attachment/);
    expect(proof.text()).to.include('ContentHandover');
    const pdf = await bed.citizen.get(`/ebox/citizen/messages/${newer.messageId}/reproduction.pdf`);
    expect(pdf.status, pdf.text().slice(0, 300)).to.equal(200);
    expect(pdf.body.subarray(0, 5).toString()).to.equal('%PDF-');
    const fetched = (await records(bed.service, 'FetchProof')).filter((r) => r.registered_mail_id === newer.registeredMailId);
    expect(fetched.map((r) => r.details.kind).sort()).to.deep.equal(['ContentHandover', 'reproduction']);
  });

  it("answers another citizen's message with the same page as an unknown one, and a refusal without a right", async () => {
    const stranger = await readerFor(bed.service, { ssin: ssinFrom('930303033'), name: 'Stranger Demo' });
    const foreign = await stranger.get(`/ebox/citizen/messages/${older.messageId}`);
    const unknown = await stranger.get('/ebox/citizen/messages/00000000-0000-4000-8000-000000000000');
    expect(foreign.status).to.equal(404);
    expect(foreign.text()).to.equal(unknown.text());
    expect((await stranger.get(`/ebox/citizen/messages/${older.messageId}/document`)).status).to.equal(404);
    expect((await stranger.get(`/ebox/enterprise/${bed.readers.enterpriseUser.enterpriseNumber}/`)).status).to.equal(401);
    expect((await bed.citizen.at(bed.service.baseUrl).get('/ebox/')).status, 'no certificate on the ordinary listener').to.equal(401);
  });

  describe('in a browser (Debian chromium, playwright-core)', function () {
    this.timeout(180_000);
    before(function () {
      if (!fs.existsSync(CHROMIUM)) {
        console.log(`      skipped: ${CHROMIUM} is absent (apt-get install chromium; .ci/run installs it)`);
        this.skip();
      }
    });

    it('logs in as a citizen, sees the registered mail, opens it, downloads the document, takes a screenshot', async () => {
      forBrowser = await sendMail(bed.service, { kind: 'citizen', ssin: bed.readers.citizen.ssin }, { subject: 'Décision de remboursement', fileName: 'décision.pdf' });
      fs.mkdirSync(OUTPUT_DIR, { recursive: true });
      const screenshot = path.join(OUTPUT_DIR, 'ebox-web-reader.png');
      fs.rmSync(screenshot, { force: true });
      const downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-downloads-'));
      const result = await run(
        process.execPath,
        ['--import', 'tsx', path.join(projectRoot, 'test', 'ebox', 'browser', 'citizenReader.ts'), bed.service.mtlsBaseUrl, bed.readers.citizen.certFile, bed.readers.citizen.keyFile, 'Décision de remboursement', screenshot, downloads],
        { cwd: projectRoot, env: { ...process.env, NODE_EXTRA_CA_CERTS: bed.service.devPki.rootCaCert }, timeoutMs: 150_000 },
      );
      expect(result.status, `${result.stdout}\n${result.stderr}`).to.equal(0);
      const seen = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
      expect(seen.landingStatus).to.equal(200);
      expect(seen.landingUrl).to.match(/\/ebox\/citizen\/$/);
      expect(seen.htmlLang).to.equal('fr');
      expect(seen.heading).to.equal('Mon eBox');
      expect(seen.rowText).to.include('Recommandé').and.include('Non lu');
      expect(seen.messageUrl).to.include(`/ebox/citizen/messages/${forBrowser.messageId}`);
      expect(seen.notice).to.include('vaut remise');
      expect(seen.downloadName).to.equal('décision.pdf');
      expect(seen.downloadSha256).to.equal(createHash('sha256').update(forBrowser.content).digest('hex'));
      expect(seen.proofs.join('\n')).to.include('Preuve de remise (première ouverture)');
      expect(seen.opened).to.include('Ouvert le');
      expect(fs.statSync(screenshot).size).to.be.greaterThan(1000);
      const handovers = await bed.service.ctx.db('proofs').where({ registered_mail_id: forBrowser.registeredMailId, kind: 'ContentHandover' }).count({ n: '*' });
      expect(Number(handovers[0]!.n)).to.equal(1);
    });
  });
});
