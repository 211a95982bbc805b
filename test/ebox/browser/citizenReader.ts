// The browser half of the web reader test, run as its own process by test/ebox/web.test.ts: Debian's
// chromium driven by playwright-core, the citizen's certificate given to the browser context
// (clientCertificates). Playwright presents it from its own TLS proxy, which verifies the server with
// Node's trust store: the parent passes NODE_EXTRA_CA_CERTS=<development root>, so the server
// certificate is verified, never ignored. Prints one JSON line with what it saw.
//   tsx citizenReader.ts <mtls base url> <cert.pem> <key.pem> <subject> <screenshot.png> <download dir>
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { chromium } from 'playwright-core';

const [baseUrl, certPath, keyPath, subject, screenshot, downloadDir] = process.argv.slice(2) as [string, string, string, string, string, string];

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  clientCertificates: [{ origin: baseUrl, certPath, keyPath }],
  acceptDownloads: true,
  locale: 'fr-BE',
  viewport: { width: 1100, height: 800 },
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  // Logging in is presenting the certificate: /ebox/ sends a reader with one eBox straight to it.
  const landing = await page.goto(`${baseUrl}/ebox/`);
  const landingStatus = landing?.status();
  const heading = await page.getByRole('heading', { level: 1 }).textContent();
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: subject }) });
  const rowText = (await row.textContent()) ?? '';
  const htmlLang = await page.locator('html').getAttribute('lang');

  await row.getByRole('link', { name: subject }).click();
  await page.getByRole('heading', { level: 1, name: subject }).waitFor();
  const messageUrl = page.url();
  const notice = await page.locator('#handover-notice').textContent();

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Télécharger le document/ }).click()]);
  const saved = path.join(downloadDir, download.suggestedFilename());
  await download.saveAs(saved);
  const downloaded = fs.readFileSync(saved);

  await page.reload();
  const proofs = await page.getByRole('region', { name: 'Preuves' }).getByRole('listitem').allTextContents();
  const opened = await page.locator('dl.facts').first().textContent();
  await page.screenshot({ path: screenshot, fullPage: true });

  console.log(
    JSON.stringify({
      landingStatus,
      landingUrl: landing?.url(),
      heading,
      htmlLang,
      rowText,
      messageUrl,
      notice,
      downloadName: download.suggestedFilename(),
      downloadSha256: createHash('sha256').update(downloaded).digest('hex'),
      proofs,
      opened,
    }),
  );
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
