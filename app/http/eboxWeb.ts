// The eBox web reader at /ebox/: plain server-rendered HTML, no script, in the reader's language
// (?lang= or Accept-Language among fr, nl, de, en). It lists the messages (registered mails and
// ePost's notices marked, unread first), opens one, downloads its document (the first download is the handover, with
// evidence) and its proofs. The same rights, refusals and processing records as the REST API.
import fs from 'node:fs';
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  eboxesOf,
  findMessage,
  findMessages,
  LABELS,
  LANGUAGES,
  mailOf,
  messageAccess,
  noteConsultation,
  openDocument,
  proofOf,
  proofsOf,
  READER_STYLESHEET_FILE,
  ReaderAuthorities,
  reproductionOf,
  recordEboxAccess,
  type EboxAddress,
  type EboxContext,
  type EboxMessage,
  type EboxReader,
  type Labels,
  type Language,
  type ReadingRight,
} from '../ebox/index.js';
import { ApiError, authenticateReader, rightFor, sendDocument } from './eboxApi.js';

const PAGE_SIZE = 25;
const LOCALES: Record<Language, string> = { fr: 'fr-BE', nl: 'nl-BE', de: 'de-BE', en: 'en-GB' };
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Text for HTML content and attribute values: every markup character escaped. */
function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

interface View {
  lang: Language;
  labels: Labels;
  /** Whether the language was chosen with ?lang= (then links keep it). */
  explicit: boolean;
}

function viewFor(req: Request): View {
  const asked = typeof req.query.lang === 'string' && (LANGUAGES as readonly string[]).includes(req.query.lang) ? (req.query.lang as Language) : undefined;
  const negotiated = req.acceptsLanguages(...LANGUAGES);
  const lang = asked ?? (negotiated && (LANGUAGES as readonly string[]).includes(negotiated) ? (negotiated as Language) : 'en');
  return { lang, labels: LABELS[lang], explicit: asked !== undefined };
}

function link(view: View, path: string, query: Record<string, string | number> = {}): string {
  const params = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  if (view.explicit) params.set('lang', view.lang);
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

function when(view: View, iso: string): string {
  return new Intl.DateTimeFormat(LOCALES[view.lang], { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Europe/Brussels' }).format(new Date(iso));
}

function sizeText(view: View, bytes: number): string {
  const kb = bytes / 1024;
  return kb < 1024
    ? `${new Intl.NumberFormat(LOCALES[view.lang], { maximumFractionDigits: 1 }).format(kb)} kB`
    : `${new Intl.NumberFormat(LOCALES[view.lang], { maximumFractionDigits: 1 }).format(kb / 1024)} MB`;
}

function boxPath(eBox: EboxAddress): string {
  return eBox.kind === 'citizen' ? '/ebox/citizen/' : `/ebox/enterprise/${eBox.ownerId}/`;
}

function boxName(view: View, eBox: EboxAddress): string {
  return eBox.kind === 'citizen' ? view.labels.citizenEbox : view.labels.enterpriseEbox(eBox.ownerId);
}

function page(res: Response, view: View, status: number, title: string, body: string, opts: { reader?: EboxReader; path?: string } = {}): void {
  const languages = LANGUAGES.map((l) => {
    const href = `${opts.path ?? '/ebox/'}?lang=${l}`;
    return `<li><a href="${esc(href)}" lang="${l}" hreflang="${l}"${l === view.lang ? ' aria-current="true"' : ''}>${l.toUpperCase()}</a></li>`;
  }).join('');
  res
    .status(status)
    .set({ 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store', 'Content-Language': view.lang })
    .type('text/html; charset=utf-8')
    .send(`<!doctype html>
<html lang="${view.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} — ${esc(view.labels.htmlTitle)}</title>
<link rel="stylesheet" href="/ebox/assets/reader.css">
</head>
<body>
<a class="skip" href="#content">${esc(view.labels.skipToContent)}</a>
<header>
<a class="brand" href="${esc(link(view, '/ebox/'))}">ePost eBox</a>
${opts.reader ? `<p class="muted">${esc(view.labels.signedInAs(opts.reader.name))}</p>` : ''}
<nav aria-label="${esc(view.labels.languageNav)}"><ul>${languages}</ul></nav>
</header>
<main id="content">
<h1>${esc(title)}</h1>
${body}
</main>
</body>
</html>`);
}

function capacityNotice(view: View, right: ReadingRight): string {
  if (right.capacity === 'mandatary') return `<p class="notice">${esc(view.labels.asMandatary(right.eBox.ownerId))}</p>`;
  if (right.capacity === 'enterpriseUser') return `<p class="notice">${esc(view.labels.asEnterpriseUser(right.eBox.ownerId))}</p>`;
  return '';
}

/** A registered mail's subject as its sender wrote it; a notice's in the reader's language. */
function subjectIn(view: View, message: EboxMessage): string {
  return message.notice ? (message.notice.subject[view.lang] ?? message.subject) : message.subject;
}

function statusCell(view: View, message: EboxMessage): string {
  const registered = message.notice
    ? `<span class="badge notice">${esc(view.labels.notice)}</span>`
    : `<span class="badge registered">${esc(view.labels.registeredMail)}</span>`;
  const read = message.readAt === null ? `<span class="badge unread">${esc(view.labels.unread)}</span>` : `<span>${esc(view.labels.read)}</span>`;
  return `${registered} ${read}`;
}

function listPage(view: View, right: ReadingRight, messages: EboxMessage[], total: number, current: number): string {
  const base = boxPath(right.eBox);
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const rows = messages
    .map(
      (m) => `<tr${m.readAt === null ? ' class="unread"' : ''}>
<td>${statusCell(view, m)}</td>
<td><a href="${esc(link(view, `${base}messages/${encodeURIComponent(m.id)}`))}">${esc(subjectIn(view, m))}</a></td>
<td>${esc(m.senderName)}</td>
<td><time datetime="${esc(m.deliveredAt)}">${esc(when(view, m.deliveredAt))}</time></td>
<td><time datetime="${esc(m.expiresAt)}">${esc(when(view, m.expiresAt))}</time></td>
</tr>`,
    )
    .join('\n');
  const table =
    messages.length === 0
      ? `<p>${esc(view.labels.noMessages)}</p>`
      : `<table>
<caption>${esc(view.labels.messagesCaption(total))}</caption>
<thead><tr><th scope="col">${esc(view.labels.status)}</th><th scope="col">${esc(view.labels.subject)}</th><th scope="col">${esc(view.labels.sender)}</th><th scope="col">${esc(view.labels.received)}</th><th scope="col">${esc(view.labels.expires)}</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
  const nav =
    pages > 1
      ? `<nav class="pages" aria-label="${esc(view.labels.pages)}"><p>${esc(view.labels.pageOf(current, pages))}</p><ul>
${current > 1 ? `<li><a rel="prev" href="${esc(link(view, base, { page: current - 1 }))}">${esc(view.labels.previousPage)}</a></li>` : ''}
${current < pages ? `<li><a rel="next" href="${esc(link(view, base, { page: current + 1 }))}">${esc(view.labels.nextPage)}</a></li>` : ''}
</ul></nav>`
      : '';
  return `${capacityNotice(view, right)}${table}${nav}`;
}

function messagePage(view: View, right: ReadingRight, m: EboxMessage, proofs: { id: string; kind: string; createdAt: string }[]): string {
  const base = `${boxPath(right.eBox)}messages/${encodeURIComponent(m.id)}`;
  const digestHex = Buffer.from(m.document.digestSha256Base64, 'base64').toString('hex');
  return `${capacityNotice(view, right)}
<p><a href="${esc(link(view, boxPath(right.eBox)))}">${esc(view.labels.backToMessages)}</a></p>
<p>${statusCell(view, m)}</p>
<dl class="facts">
<dt>${esc(view.labels.sender)}</dt><dd>${esc(m.senderName)} (${esc(m.senderEnterpriseNumber)})</dd>
<dt>${esc(view.labels.received)}</dt><dd><time datetime="${esc(m.deliveredAt)}">${esc(when(view, m.deliveredAt))}</time></dd>
<dt>${esc(view.labels.expires)}</dt><dd><time datetime="${esc(m.expiresAt)}">${esc(when(view, m.expiresAt))}</time></dd>
${m.readAt ? `<dt>${esc(view.labels.openedOn)}</dt><dd><time datetime="${esc(m.readAt)}">${esc(when(view, m.readAt))}</time></dd>` : ''}
</dl>
<section aria-labelledby="document-heading">
<h2 id="document-heading">${esc(view.labels.document)}</h2>
<dl class="facts">
<dt>${esc(view.labels.fileName)}</dt><dd>${esc(m.document.fileName)} <span class="muted">(${esc(m.document.mimeType)})</span></dd>
<dt>${esc(view.labels.size)}</dt><dd>${esc(sizeText(view, m.document.size))}</dd>
<dt>${esc(view.labels.digest)}</dt><dd><code>${esc(digestHex)}</code></dd>
</dl>
${m.notice ? `<p class="notice">${esc(view.labels.noticeText)}</p>` : m.readAt === null ? `<p class="notice" id="handover-notice">${esc(view.labels.handoverNotice)}</p>` : ''}
<a class="download" href="${esc(link(view, `${base}/document`))}" download${!m.notice && m.readAt === null ? ' aria-describedby="handover-notice"' : ''}>${esc(view.labels.download)}: ${esc(m.document.fileName)}</a>
</section>
${m.notice ? '' : proofsSection(view, base, proofs)}`;
}

function proofsSection(view: View, base: string, proofs: { id: string; kind: string; createdAt: string }[]): string {
  const proofItems = proofs
    .map(
      (p) =>
        `<li><a href="${esc(link(view, `${base}/proofs/${encodeURIComponent(p.id)}`))}" download>${esc(view.labels.proofKind(p.kind))}</a> <span class="muted">(${esc(view.labels.issuedOn)} <time datetime="${esc(p.createdAt)}">${esc(when(view, p.createdAt))}</time>, XML)</span></li>`,
    )
    .join('\n');
  return `<section aria-labelledby="proofs-heading">
<h2 id="proofs-heading">${esc(view.labels.proofs)}</h2>
${proofs.length === 0 ? `<p>${esc(view.labels.noProofs)}</p>` : `<ul>\n${proofItems}\n</ul>\n<p><a href="${esc(link(view, `${base}/reproduction.pdf`))}" download>${esc(view.labels.pdfReproduction)}</a> <span class="muted">(PDF)</span></p>`}
</section>`;
}

/** The web reader, to mount at the root of the app after the eBox API. */
export function eboxWebRouter(ctx: EboxContext): express.Router {
  const authorities = ReaderAuthorities.fromDirectory(ctx.config.eboxReaderCaDir);
  const stylesheet = fs.readFileSync(READER_STYLESHEET_FILE, 'utf8');
  const router = express.Router();

  router.get('/ebox/assets/reader.css', (_req: Request, res: Response) => {
    res.set({ 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' }).type('text/css; charset=utf-8').send(stylesheet);
  });

  const reader = (req: Request) => authenticateReader(ctx, authorities, req, `web ${req.path}`);

  router.get('/ebox', async (req: Request, res: Response) => {
    const view = viewFor(req);
    const who = await reader(req);
    const boxes = await eboxesOf(ctx.db, who, ctx.now());
    if (boxes.length === 1) return res.redirect(303, link(view, boxPath(boxes[0]!)));
    const items = boxes.map((b) => `<li><a href="${esc(link(view, boxPath(b)))}">${esc(boxName(view, b))}</a></li>`).join('\n');
    page(res, view, 200, view.labels.yourEboxes, `<nav aria-label="${esc(view.labels.yourEboxes)}"><ul>\n${items}\n</ul></nav>`, { reader: who, path: '/ebox/' });
  });

  const box = express.Router({ mergeParams: true });
  const rightOf = async (req: Request): Promise<ReadingRight> => {
    const who = await reader(req);
    const enterpriseNumber = req.params.enterpriseNumber as string | undefined;
    return rightFor(ctx, who, enterpriseNumber === undefined ? 'citizen' : 'enterprise', enterpriseNumber, `web ${req.path}`);
  };
  const messageOf = async (right: ReadingRight, id: string, operation: 'ReadEboxMessage' | 'DownloadDocument' | 'FetchProof'): Promise<EboxMessage> => {
    const message = await findMessage(ctx, right, id);
    if (message) return message;
    await recordEboxAccess(ctx.db, ctx, {
      operation,
      outcome: 'refused',
      reader: right.reader,
      eBox: right.eBox,
      capacity: right.capacity,
      mandateIds: right.mandates.map((m) => m.id),
      details: { requestedMessageId: id.slice(0, 100), via: 'web' },
      disturbance: { code: 'UnknownMessage', reason: 'no such message in what the reader may see' },
    });
    throw new ApiError(404, 'NOT_FOUND', 'Message not found');
  };
  const accessOf = messageAccess;

  box.get('/', async (req: Request, res: Response) => {
    const view = viewFor(req);
    const right = await rightOf(req);
    const requested = typeof req.query.page === 'string' && /^\d{1,6}$/.test(req.query.page) ? Math.max(1, Number(req.query.page)) : 1;
    const { items, total } = await findMessages(ctx, right, {}, { page: requested, pageSize: PAGE_SIZE }, 'unreadFirst');
    await recordEboxAccess(ctx.db, ctx, {
      operation: 'ListEboxMessages',
      outcome: 'completed',
      reader: right.reader,
      eBox: right.eBox,
      capacity: right.capacity,
      mandateIds: right.mandates.map((m) => m.id),
      details: { via: 'web', page: requested, returned: items.length, total },
    });
    await noteConsultation(ctx.db, right.eBox, ctx.now());
    page(res, view, 200, boxName(view, right.eBox), listPage(view, right, items, total, requested), { reader: right.reader, path: boxPath(right.eBox) });
  });

  box.get('/messages/:messageId', async (req: Request, res: Response) => {
    const view = viewFor(req);
    const right = await rightOf(req);
    const message = await messageOf(right, String(req.params.messageId), 'ReadEboxMessage');
    const proofs = await proofsOf(ctx.db, message);
    await recordEboxAccess(ctx.db, ctx, { ...accessOf(right, message), operation: 'ReadEboxMessage', outcome: 'completed', details: { view: 'message', via: 'web' } });
    const path = `${boxPath(right.eBox)}messages/${encodeURIComponent(message.id)}`;
    page(res, view, 200, subjectIn(view, message), messagePage(view, right, message, proofs), { reader: right.reader, path });
  });

  box.get('/messages/:messageId/document', async (req: Request, res: Response) => {
    const right = await rightOf(req);
    const message = await messageOf(right, String(req.params.messageId), 'DownloadDocument');
    const opened = await openDocument(ctx, right, message);
    sendDocument(res, opened.content, opened.fileName, opened.mimeType);
  });

  box.get('/messages/:messageId/proofs/:proofId', async (req: Request, res: Response) => {
    const right = await rightOf(req);
    const message = await messageOf(right, String(req.params.messageId), 'FetchProof');
    const proof = await proofOf(ctx.db, message, String(req.params.proofId));
    if (!proof) throw new ApiError(404, 'NOT_FOUND', 'Proof not found');
    await recordEboxAccess(ctx.db, ctx, {
      ...accessOf(right, message),
      operation: 'FetchProof',
      outcome: 'completed',
      evidenceId: String(req.params.proofId),
      details: { kind: proof.kind, via: 'web' },
    });
    sendDocument(res, proof.sealedXml, `${proof.kind}-${mailOf(message)}.xml`, 'application/xml');
  });

  box.get('/messages/:messageId/reproduction.pdf', async (req: Request, res: Response) => {
    const right = await rightOf(req);
    const message = await messageOf(right, String(req.params.messageId), 'FetchProof');
    // A notice has no proofs, so no reproduction of them.
    if (message.notice) throw new ApiError(404, 'NOT_FOUND', 'Proof not found');
    const pdf = await reproductionOf(ctx, mailOf(message));
    await recordEboxAccess(ctx.db, ctx, { ...accessOf(right, message), operation: 'FetchProof', outcome: 'completed', details: { kind: 'reproduction', via: 'web' } });
    sendDocument(res, pdf, `registered-mail-${mailOf(message)}.pdf`, 'application/pdf');
  });

  router.use('/ebox/citizen', box);
  router.use('/ebox/enterprise/:enterpriseNumber', box);

  router.use('/ebox', (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const view = viewFor(req);
    page(res, view, 404, view.labels.notFoundTitle, `<p>${esc(view.labels.notFoundText)}</p>`);
  });
  router.use('/ebox', (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const view = viewFor(req);
    if (err instanceof ApiError && err.status === 401) return page(res, view, 401, view.labels.unauthorizedTitle, `<p>${esc(view.labels.unauthorizedText)}</p>`);
    if (err instanceof ApiError && (err.status === 404 || err.status === 400)) {
      return page(res, view, 404, view.labels.notFoundTitle, `<p>${esc(view.labels.notFoundText)}</p>`);
    }
    if (!(err instanceof ApiError)) console.error('unexpected error in the eBox web reader:', err);
    page(res, view, 503, view.labels.errorTitle, `<p>${esc(view.labels.errorText)}</p>`);
  });
  return router;
}
