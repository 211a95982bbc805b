// The readable reproduction of a registered mail's evidence: a PDF that states in plain language who
// sent what to whom and when, when it was delivered and opened, the digests, and the result of the
// offline verification, with every evidence XML and the whole bundle embedded as PDF file
// attachments, so that the paper copy and the electronic proof travel together. It is rendered only
// from a bundle that verifies.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fontkit from '@pdf-lib/fontkit';
import { PDFDocument, rgb, type PDFFont, type PDFPage } from 'pdf-lib';
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

// The standard PDF fonts know WinAnsi only; the law wants every character of the names, subjects and
// file names reproduced, so the PDF embeds subsets of DejaVu (Bitstream Vera licence, fonts/LICENSE).
const FONT_FILES = { regular: 'DejaVuSans.ttf', bold: 'DejaVuSans-Bold.ttf', mono: 'DejaVuSansMono.ttf' } as const;
type FontRole = keyof typeof FONT_FILES;
// Subset names with the six-letter tag PDF readers expect, fixed rather than pdf-lib's random suffix so
// that the same evidence verified at the same time renders to the same bytes.
const FONT_NAMES: Record<FontRole, string> = { regular: 'EPOSTR+DejaVuSans', bold: 'EPOSTB+DejaVuSans-Bold', mono: 'EPOSTM+DejaVuSansMono' };
// fontkit's default OpenType features off: pdf-lib draws glyph by glyph and ignores the positioning
// (kern, mark), which cost most of the rendering time, and without ligatures each character is its own
// glyph, so the text is extracted exactly as sent and measured by the glyph advances below.
const NO_SHAPING = Object.fromEntries(['ccmp', 'locl', 'rlig', 'mark', 'mkmk', 'calt', 'clig', 'liga', 'rclt', 'curs', 'kern'].map((tag) => [tag, false]));

interface FontFile {
  bytes: Uint8Array;
  covers(codePoint: number): boolean;
  /** Advance width of the code point's glyph in text space units per point of font size. */
  advance(codePoint: number): number;
}

let fontFiles: Record<FontRole, FontFile> | undefined;
const parsedFonts = new Map<Uint8Array, fontkit.Font>();

/**
 * The fontkit pdf-lib embeds with: it hands out the font parsed once per process (with the tables
 * fontkit decoded since) instead of parsing the file again for every PDF. pdf-lib only reads the font
 * and makes a new subset of it per PDF.
 */
const sharedFontkit = {
  create: (bytes: Uint8Array, postscriptName?: string) => parsedFonts.get(bytes) ?? fontkit.create(bytes, postscriptName),
};

/** Read and parsed once per process: the files are large, the subsets embedded in each PDF small. */
function loadFontFiles(): Record<FontRole, FontFile> {
  fontFiles ??= Object.fromEntries(
    (Object.keys(FONT_FILES) as FontRole[]).map((role) => {
      const bytes = new Uint8Array(fs.readFileSync(path.join(import.meta.dirname, 'fonts', FONT_FILES[role])));
      const font = fontkit.create(bytes);
      parsedFonts.set(bytes, font);
      // Measuring through pdf-lib shapes the whole string each time (about half a millisecond); the
      // word wrap measures a lot, so it adds up cached glyph advances instead.
      const advances = new Map<number, number>();
      const advance = (codePoint: number): number => {
        let width = advances.get(codePoint);
        if (width === undefined) advances.set(codePoint, (width = font.glyphForCodePoint(codePoint).advanceWidth / font.unitsPerEm));
        return width;
      };
      return [role, { bytes, covers: (codePoint: number) => font.hasGlyphForCodePoint(codePoint), advance }];
    }),
  ) as Record<FontRole, FontFile>;
  return fontFiles;
}

interface EmbeddedFont extends Omit<FontFile, 'bytes'> {
  pdf: PDFFont;
}

/** A piece of a word drawn in one font. */
interface Run {
  text: string;
  font: EmbeddedFont;
}

// Digests, fingerprints and ids are set in the monospaced font, where 0/O and 1/l cannot be confused
// by someone comparing them by eye: UUIDs, base64 SHA-256 digests, hex strings of 128 bits or more.
// A whole token only (not the UUID inside a sender's reference "m-<uuid>").
const MONO_TOKEN = /(?<![\w+/=-])([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9+/]{43}=|[0-9a-f]{32,})(?![\w+/=-])/i;

const codePointLabel = (codePoint: number): string => `[U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}]`;

/** Simple flowing text layout on A4 pages with the embedded DejaVu fonts. */
class Layout {
  private page: PDFPage;
  private y: number;
  /** The first character no font could draw, shown as its code point instead (the note says so). */
  firstReplaced: number | undefined;
  static readonly WIDTH = 595.28;
  static readonly HEIGHT = 841.89;
  static readonly MARGIN = 56;

  constructor(
    private readonly pdf: PDFDocument,
    private readonly fonts: Record<FontRole, EmbeddedFont>,
  ) {
    this.page = pdf.addPage([Layout.WIDTH, Layout.HEIGHT]);
    this.y = Layout.HEIGHT - Layout.MARGIN;
  }

  /** A character the font lacks is shown as "[U+6771]": visible, and the exact character can be recovered from paper. */
  private printable(text: string, font: EmbeddedFont): string {
    let out = '';
    for (const ch of text) {
      const codePoint = ch.codePointAt(0)!;
      if (font.covers(codePoint)) out += ch;
      else {
        out += codePointLabel(codePoint);
        this.firstReplaced ??= codePoint;
      }
    }
    return out;
  }

  /** The words of a paragraph, each as runs: ids and digests in the monospaced font, the rest in the paragraph's. */
  private words(text: string, base: EmbeddedFont): Run[][] {
    // NFC: a decomposed "é" (e + combining accent) is drawn as one glyph, as it is meant to be read.
    return text
      .normalize('NFC')
      .split(/\s+/)
      .filter(Boolean)
      .map((word) =>
        word
          .split(MONO_TOKEN)
          .map((part, i) => ({ part, font: i % 2 === 1 && base !== this.fonts.bold ? this.fonts.mono : base }))
          .filter(({ part }) => part !== '')
          .map(({ part, font }) => ({ text: this.printable(part, font), font })),
      );
  }

  paragraph(para: Paragraph): void {
    const size = para.style === 'title' ? 17 : para.style === 'heading' ? 12.5 : para.style === 'small' ? 8.5 : 10;
    const base = para.style === 'title' || para.style === 'heading' ? this.fonts.bold : para.style === 'mono' ? this.fonts.mono : this.fonts.regular;
    const x = Layout.MARGIN + (para.indent ?? 0) * 14;
    const width = Layout.WIDTH - Layout.MARGIN - x;
    const leading = size * 1.35;
    if (para.style === 'heading') this.y -= 6;
    for (const line of this.wrap(this.words(para.text, base), base, size, width)) {
      if (this.y - leading < Layout.MARGIN) {
        this.page = this.pdf.addPage([Layout.WIDTH, Layout.HEIGHT]);
        this.y = Layout.HEIGHT - Layout.MARGIN;
      }
      this.y -= leading;
      let cursor = x;
      for (const run of line) {
        this.page.drawText(run.text, { x: cursor, y: this.y, size, font: run.font.pdf, color: rgb(0, 0, 0) });
        cursor += widthOf([run], size);
      }
    }
    this.y -= para.style === 'title' ? 8 : 4;
  }

  /** Greedy word wrap into lines of runs; a word longer than the line (a digest) is cut where it must. */
  private wrap(words: Run[][], base: EmbeddedFont, size: number, width: number): Run[][] {
    const lines: Run[][] = [];
    let line: Run[][] = [];
    for (const word of words) {
      if (line.length > 0 && widthOf(joined([...line, word], base), size) <= width) {
        line.push(word);
        continue;
      }
      if (line.length > 0) lines.push(joined(line, base));
      let rest = word;
      while (widthOf(rest, size) > width) {
        const cut = cutToWidth(rest, size, width);
        lines.push(cut.head);
        rest = cut.tail;
      }
      line = [rest];
    }
    if (line.length) lines.push(joined(line, base));
    return lines;
  }

  footer(): void {
    const pages = this.pdf.getPages();
    pages.forEach((page, i) => {
      page.drawText(`ePost registered mail evidence, page ${i + 1} of ${pages.length}`, {
        x: Layout.MARGIN,
        y: Layout.MARGIN / 2,
        size: 7.5,
        font: this.fonts.regular.pdf,
        color: rgb(0.35, 0.35, 0.35),
      });
    });
  }
}

function widthOf(runs: Run[], size: number): number {
  let width = 0;
  for (const run of runs) for (const ch of run.text) width += run.font.advance(ch.codePointAt(0)!);
  return width * size;
}

/** The runs of a line: its words separated by spaces of the paragraph's font, neighbouring runs of one font merged. */
function joined(words: Run[][], base: EmbeddedFont): Run[] {
  const out: Run[] = [];
  const push = (run: Run) => {
    const last = out[out.length - 1];
    if (last && last.font === run.font) last.text += run.text;
    else out.push({ ...run });
  };
  words.forEach((word, i) => {
    if (i > 0) push({ text: ' ', font: base });
    word.forEach(push);
  });
  return out;
}

/** The longest head of a word that fits the width (at least one character), and the rest. */
function cutToWidth(word: Run[], size: number, width: number): { head: Run[]; tail: Run[] } {
  const chars = word.flatMap((run) => [...run.text].map((text) => ({ text, font: run.font })));
  let n = 1;
  while (n < chars.length && widthOf(joined([chars.slice(0, n + 1)], chars[0]!.font), size) <= width) n++;
  return { head: joined([chars.slice(0, n)], chars[0]!.font), tail: joined([chars.slice(n)], chars[0]!.font) };
}

/** Renders the PDF of an already verified bundle. */
export async function renderReproductionOf(report: BundleReport, bundle: Buffer, verifiedAt: Date = new Date()): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  pdf.registerFontkit(sharedFontkit);
  const files = loadFontFiles();
  const embed = async (role: FontRole): Promise<EmbeddedFont> => {
    const { bytes, ...measures } = files[role];
    return { pdf: await pdf.embedFont(bytes, { subset: true, customName: FONT_NAMES[role], features: NO_SHAPING }), ...measures };
  };
  const layout = new Layout(pdf, { regular: await embed('regular'), bold: await embed('bold'), mono: await embed('mono') });
  for (const para of statements(report, verifiedAt)) layout.paragraph(para);
  if (layout.firstReplaced !== undefined) {
    layout.paragraph({
      text: `Some characters have no glyph in this PDF's fonts; each is printed as its Unicode code point in brackets (for instance ${codePointLabel(layout.firstReplaced)}). The attached evidence files hold the exact text.`,
      style: 'small',
    });
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
