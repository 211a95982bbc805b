// The readable reproduction of a registered mail's evidence: a PDF that states in plain language who
// sent what to whom and when, when it was delivered and opened, the digests, and the result of the
// offline verification, with every evidence XML and the whole bundle embedded as PDF file
// attachments, so that the paper copy and the electronic proof travel together. It is rendered only
// from a bundle that verifies.
import { createHash } from 'node:crypto';
import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage } from 'pdf-lib';
import { verifyEvidenceBundle, type BundleReport, type VerifyBundleOptions } from './bundle.js';
import { EVENT_DESCRIPTIONS, EXPIRY_REASON, eventUri, type EvidenceFacts } from './model.js';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** "14 March 2025 at 09:26:53.589 UTC": unambiguous in every language a reader may have. */
export function plainTime(date: Date): string {
  const iso = date.toISOString();
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} at ${iso.slice(11, 23)} UTC`;
}

function recipientInWords(facts: EvidenceFacts): string {
  if (!facts.recipient) return 'an unidentified recipient';
  return facts.recipient.kind === 'citizen'
    ? `the citizen with national register number ${facts.recipient.id}`
    : `the enterprise with enterprise number ${facts.recipient.id}`;
}

const hex = (b64: string): string => Buffer.from(b64, 'base64').toString('hex');

interface Paragraph {
  text: string;
  style?: 'title' | 'heading' | 'small' | 'mono';
  indent?: number;
}

/** The statements of the reproduction, in reading order. */
function statements(report: BundleReport, verifiedAt: Date): Paragraph[] {
  const out: Paragraph[] = [];
  const first = report.evidences[0]!.facts;
  const byEvent = (event: string) => report.evidences.find((e) => e.facts.event === event)?.facts;
  const p = (text: string, style?: Paragraph['style'], indent?: number) => out.push({ text, ...(style ? { style } : {}), ...(indent ? { indent } : {}) });

  p('Registered mail: reproduction of the evidence', 'title');
  p(`This document reproduces in readable form the sealed electronic evidences of registered mail ${first.registeredMailId}, issued by the ePost electronic registered mail service. The evidences themselves are attached to this PDF as files; they, not this text, carry the seals.`, 'small');

  p('Who sent what to whom', 'heading');
  p(
    `${first.sender.name} (enterprise number ${first.sender.enterpriseNumber}) sent a registered mail to ${recipientInWords(first)}. The sender signed its submission with the certificate "${first.sender.certificateSubject}" (SHA-256 fingerprint ${first.sender.certificateFingerprintSha256}).`,
  );
  if (first.senderReference !== undefined) p(`The sender's own reference: ${first.senderReference}`);
  if (first.subject !== undefined) p(`Subject: ${first.subject}${first.language ? ` (language: ${first.language})` : ''}`);
  if (first.document) {
    const d = first.document;
    p(`Document: "${d.fileName}", of type ${d.mimeType}, ${d.size} bytes. Its SHA-256 digest is ${hex(d.digestSha256)} (base64 ${d.digestSha256}); any copy of the document with this digest is the document that was registered.`);
  }

  p('When', 'heading');
  const accepted = byEvent('SubmissionAcceptance');
  const rejected = byEvent('SubmissionRejection');
  if (accepted) p(`Submitted: ePost received and accepted the registered mail on ${plainTime(accepted.eventTime)}.`);
  if (rejected) p(`Refused: ePost refused the submission received on ${plainTime(rejected.eventTime)}.`);
  const consigned = byEvent('ContentConsignment');
  const notConsigned = byEvent('ContentConsignmentFailure');
  if (consigned) {
    const box = consigned.eBox!;
    p(`Delivered: the registered mail was placed in the recipient's ${box.kind} eBox (owner ${box.ownerId}, message ${box.messageId}) on ${plainTime(consigned.eventTime)}.`);
  } else if (notConsigned) {
    p(`Not delivered: the registered mail could not be placed in the recipient's eBox (${plainTime(notConsigned.eventTime)}).`);
  } else if (accepted) {
    p('Delivered: no delivery evidence is part of this bundle.');
  }
  const opened = byEvent('ContentHandover');
  const handoverFailed = byEvent('ContentHandoverFailure');
  if (opened) p(`Opened: the recipient opened the document for the first time on ${plainTime(opened.eventTime)}.`);
  else if (handoverFailed?.reasons?.some((r) => r.code === EXPIRY_REASON)) p(`Expired: the registered mail expired in the eBox unopened on ${plainTime(handoverFailed.eventTime)}.`);
  else if (handoverFailed) p(`Not opened: the document was not handed over to the recipient (${plainTime(handoverFailed.eventTime)}).`);
  else if (consigned) p(`Opened: not yet, as far as the evidences exported on ${plainTime(report.manifest.signingTime)} show.`);

  p('The evidences, in order', 'heading');
  report.evidences.forEach((e, i) => {
    const f = e.facts;
    p(`${i + 1}. ${f.event}: ${EVENT_DESCRIPTIONS[f.event]}.`);
    p(`Event time ${plainTime(f.eventTime)}. Evidence id ${f.evidenceId}. ETSI EN 319 522 event ${eventUri(f.event)}.`, undefined, 1);
    p(`Sealed by "${e.signerSubject}" on ${plainTime(e.signingTime)}; timestamped on ${plainTime(e.timestamp.genTime)} by "${e.timestamp.tsaSubject}" (token serial ${e.timestamp.serialNumber}).`, undefined, 1);
    if (f.previous) p(`It follows evidence ${f.previous.evidenceId} (${f.previous.event}), whose exact bytes have SHA-256 ${hex(f.previous.digestSha256)}.`, undefined, 1);
    if (f.requestDigestSha256) p(`The signed request as received has SHA-256 ${hex(f.requestDigestSha256)}.`, undefined, 1);
    for (const reason of f.reasons ?? []) p(`Reason ${reason.code}: ${reason.text}`, undefined, 1);
    p(`Attached as file ${attachmentName(i, f)} (SHA-256 ${hex(e.digestSha256)}).`, undefined, 1);
  });

  p('Verification', 'heading');
  const anchorFingerprint = createHash('sha256').update(Buffer.from(report.anchor.rawData)).digest('hex');
  p(
    `Verified on ${plainTime(verifiedAt)} against the trust anchor "${report.anchor.subject}" (SHA-256 fingerprint ${anchorFingerprint}): VALID. Every seal signature, certificate path, timestamp token and timestamp imprint is valid; each evidence references the exact bytes of the one before it; the bundle manifest sealed on ${plainTime(report.manifest.signingTime)} matches every file of the bundle${report.document ? `, including the document ${report.document.path}` : ''}.`,
  );
  p(
    `To verify it yourself, extract the attached files (for instance: pdfdetach -saveall this.pdf) and run "npm run verify -- ${bundleAttachmentName(report)}" from ePost, or xmlsec1 and openssl as described in the README.txt of the bundle. Compare the anchor's fingerprint with the one ePost publishes.`,
    'small',
  );
  return out;
}

function attachmentName(index: number, facts: EvidenceFacts): string {
  return `evidence-${String(index + 1).padStart(2, '0')}-${facts.event}.xml`;
}

function bundleAttachmentName(report: BundleReport): string {
  return `evidence-bundle-${report.registeredMailId}.zip`;
}

/** Simple flowing text layout on A4 pages with the standard Helvetica fonts. */
class Layout {
  private page: PDFPage;
  private y: number;
  replaced = false;
  private readonly charset: Set<number>;
  static readonly WIDTH = 595.28;
  static readonly HEIGHT = 841.89;
  static readonly MARGIN = 56;

  constructor(
    private readonly pdf: PDFDocument,
    private readonly fonts: { regular: PDFFont; bold: PDFFont; mono: PDFFont },
  ) {
    this.page = pdf.addPage([Layout.WIDTH, Layout.HEIGHT]);
    this.y = Layout.HEIGHT - Layout.MARGIN;
    this.charset = new Set(fonts.regular.getCharacterSet());
  }

  /** The standard fonts speak WinAnsi only: anything else is shown as '?' (the attached XML holds the exact text). */
  private printable(text: string): string {
    let out = '';
    for (const ch of text) {
      if (this.charset.has(ch.codePointAt(0)!)) out += ch;
      else {
        out += '?';
        this.replaced = true;
      }
    }
    return out;
  }

  paragraph(para: Paragraph): void {
    const size = para.style === 'title' ? 17 : para.style === 'heading' ? 12.5 : para.style === 'small' ? 8.5 : 10;
    const font = para.style === 'title' || para.style === 'heading' ? this.fonts.bold : para.style === 'mono' ? this.fonts.mono : this.fonts.regular;
    const x = Layout.MARGIN + (para.indent ?? 0) * 14;
    const width = Layout.WIDTH - Layout.MARGIN - x;
    const leading = size * 1.35;
    if (para.style === 'heading') this.y -= 6;
    for (const line of this.wrap(this.printable(para.text), font, size, width)) {
      if (this.y - leading < Layout.MARGIN) {
        this.page = this.pdf.addPage([Layout.WIDTH, Layout.HEIGHT]);
        this.y = Layout.HEIGHT - Layout.MARGIN;
      }
      this.y -= leading;
      this.page.drawText(line, { x, y: this.y, size, font, color: rgb(0, 0, 0) });
    }
    this.y -= para.style === 'title' ? 8 : 4;
  }

  /** Greedy word wrap; a word longer than the line (a digest) is cut where it must. */
  private wrap(text: string, font: PDFFont, size: number, width: number): string[] {
    const lines: string[] = [];
    let line = '';
    for (const word of text.split(/\s+/).filter(Boolean)) {
      const candidate = line ? `${line} ${word}` : word;
      if (font.widthOfTextAtSize(candidate, size) <= width) {
        line = candidate;
        continue;
      }
      if (line) lines.push(line);
      let rest = word;
      while (font.widthOfTextAtSize(rest, size) > width) {
        let cut = rest.length - 1;
        while (cut > 1 && font.widthOfTextAtSize(rest.slice(0, cut), size) > width) cut--;
        lines.push(rest.slice(0, cut));
        rest = rest.slice(cut);
      }
      line = rest;
    }
    if (line) lines.push(line);
    return lines;
  }

  footer(): void {
    const pages = this.pdf.getPages();
    pages.forEach((page, i) => {
      page.drawText(this.printable(`ePost registered mail evidence, page ${i + 1} of ${pages.length}`), {
        x: Layout.MARGIN,
        y: Layout.MARGIN / 2,
        size: 7.5,
        font: this.fonts.regular,
        color: rgb(0.35, 0.35, 0.35),
      });
    });
  }
}

/** Renders the PDF of an already verified bundle. */
export async function renderReproductionOf(report: BundleReport, bundle: Buffer, verifiedAt: Date = new Date()): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  const fonts = {
    regular: await pdf.embedFont(StandardFonts.Helvetica),
    bold: await pdf.embedFont(StandardFonts.HelveticaBold),
    mono: await pdf.embedFont(StandardFonts.Courier),
  };
  const layout = new Layout(pdf, fonts);
  for (const para of statements(report, verifiedAt)) layout.paragraph(para);
  if (layout.replaced) {
    layout.paragraph({ text: "Characters that this PDF's font cannot show are printed as '?'; the attached evidence files hold the exact text.", style: 'small' });
  }
  layout.footer();

  pdf.setTitle(`Registered mail ${report.registeredMailId}: reproduction of the evidence`);
  pdf.setSubject('ePost registered mail evidence (ETSI EN 319 522 events, XAdES B-T seals)');
  pdf.setProducer('ePost');
  pdf.setCreator('ePost reproduction');
  pdf.setCreationDate(verifiedAt);
  pdf.setModificationDate(verifiedAt);
  for (const [i, evidence] of report.evidences.entries()) {
    await pdf.attach(new Uint8Array(evidenceBytes(evidence)), attachmentName(i, evidence.facts), {
      mimeType: 'application/xml',
      description: `Sealed evidence ${i + 1}: ${evidence.facts.event}`,
      creationDate: evidence.timestamp.genTime,
      modificationDate: evidence.timestamp.genTime,
    });
  }
  await pdf.attach(new Uint8Array(bundle), bundleAttachmentName(report), {
    mimeType: 'application/zip',
    description: 'The complete evidence bundle (evidences, timestamp tokens, certificates, sealed manifest)',
    creationDate: report.manifest.signingTime,
    modificationDate: report.manifest.signingTime,
  });
  return Buffer.from(await pdf.save({ useObjectStreams: false }));
}

/** The exact sealed bytes of a verified evidence (kept by the verifier as its digest's input). */
function evidenceBytes(evidence: BundleReport['evidences'][number]): Buffer {
  return evidence.bytes;
}

/** Verifies the bundle (throws EpostError('FailedCheck') if it does not verify) and renders its PDF. */
export async function renderReproduction(bundle: Buffer, anchorsPem: string[], options: VerifyBundleOptions & { now?: Date } = {}): Promise<Buffer> {
  const report = await verifyEvidenceBundle(bundle, anchorsPem, options);
  return renderReproductionOf(report, bundle, options.now ?? new Date());
}
