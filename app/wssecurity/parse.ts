// The one parse of an inbound request: bounded in size (also after decompression), UTF-8 only, no
// DTD (so no entities, no XXE, no billion laughs), no processing instructions, no comments left in
// the tree the service reads, and a bounded nesting depth so later recursive walks cannot overflow.
import zlib from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { EpostError } from '../errors/index.js';

const MAX_DEPTH = 128;
const XML_DECLARATION = /^<\?xml[\t\n\r ][^?]*\?>/;

function refuse(reason: string, cause?: unknown): never {
  throw new EpostError('InvalidSecurity', reason, cause);
}

function tooLarge(maxBytes: number): string {
  return `The request is larger than the ${maxBytes} bytes accepted.`;
}

/**
 * The request bytes with any content coding removed. Decompression stops at `maxBytes` of output, so
 * a small gzip bomb costs no more than a request of the maximum size. A body that starts with the
 * gzip magic number is inflated even when the caller passed no content coding.
 */
export function decodeRequestBody(raw: Buffer, maxBytes: number, contentEncoding?: string): Buffer {
  if (raw.length > maxBytes) refuse(tooLarge(maxBytes));
  const coding = (contentEncoding ?? '').trim().toLowerCase();
  const gzipMagic = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  let inflate: ((buf: Buffer, options: zlib.ZlibOptions) => Buffer) | undefined;
  if (coding === 'gzip' || coding === 'x-gzip' || (coding === '' && gzipMagic)) inflate = zlib.gunzipSync;
  else if (coding === 'deflate') inflate = zlib.inflateSync;
  else if (coding !== '' && coding !== 'identity') refuse(`The content coding "${coding}" is not supported.`);
  if (!inflate) return raw;
  try {
    return inflate(raw, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) refuse(tooLarge(maxBytes), err);
    refuse('The compressed request cannot be decompressed.', err);
  }
}

/** Decodes UTF-8 (the only encoding accepted) and refuses DTDs and processing instructions before any parser sees them. */
export function decodeXmlText(bytes: Buffer): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (err) {
    refuse('The request is not valid UTF-8.', err);
  }
  const declaration = XML_DECLARATION.exec(text);
  if (declaration) {
    const encoding = /encoding\s*=\s*["']([^"']*)["']/.exec(declaration[0])?.[1];
    if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) refuse(`The request declares the encoding "${encoding}"; only UTF-8 is accepted.`);
  }
  if (/<!DOCTYPE/i.test(text)) refuse('The request contains a document type declaration, which is not allowed.');
  if (/<!ENTITY/i.test(text)) refuse('The request declares an entity, which is not allowed.');
  const declarationLength = declaration?.[0].length ?? 0;
  if (text.indexOf('<?', declarationLength) !== -1) refuse('The request contains a processing instruction, which is not allowed.');
  return text;
}

/** Parses with xmldom, turning every warning and error into a refusal. */
export function parseStrict(text: string): Document {
  let document: Document;
  try {
    document = new DOMParser({
      locator: false,
      onError: (level, message) => {
        throw new Error(`${level}: ${message}`);
      },
    }).parseFromString(text, 'text/xml') as unknown as Document;
  } catch (err) {
    refuse('The request is not well-formed XML.', err);
  }
  if (!document.documentElement) refuse('The request contains no XML element.');
  sanitize(document);
  return document;
}

const ELEMENT = 1;
const TEXT = 3;
const CDATA = 4;
const ENTITY_REFERENCE = 5;
const PROCESSING_INSTRUCTION = 7;
const COMMENT = 8;

/**
 * Walks the tree iteratively: refuses what the text checks should already have refused (defence in
 * depth against parser differentials) and excessive nesting; removes comments, because the signature
 * never covers them (exclusive C14N drops them) and a comment inside a signed value must not be able
 * to cut that value in two for the code that reads it.
 */
function sanitize(document: Document): void {
  const comments: Node[] = [];
  for (const child of Array.from(document.childNodes)) {
    if (child.nodeType === PROCESSING_INSTRUCTION && (child as ProcessingInstruction).target === 'xml' && child === document.firstChild) continue;
    if (child.nodeType === COMMENT) comments.push(child);
    else if (child.nodeType !== ELEMENT && child.nodeType !== TEXT) refuse('The request contains a node that is not allowed outside the envelope.');
  }
  const stack: Array<{ node: Node; depth: number }> = [{ node: document.documentElement, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (depth > MAX_DEPTH) refuse(`The request nests elements deeper than ${MAX_DEPTH} levels.`);
    for (let child = node.firstChild; child; child = child.nextSibling) {
      switch (child.nodeType) {
        case ELEMENT:
          stack.push({ node: child, depth: depth + 1 });
          break;
        case TEXT:
        case CDATA:
          break;
        case COMMENT:
          comments.push(child);
          break;
        case PROCESSING_INSTRUCTION:
          refuse('The request contains a processing instruction, which is not allowed.');
        case ENTITY_REFERENCE:
          refuse('The request contains an entity reference, which is not allowed.');
        default:
          refuse('The request contains a node type that is not allowed.');
      }
    }
  }
  for (const comment of comments) comment.parentNode?.removeChild(comment);
  // Text split by a removed comment becomes one text node again, as the signature saw it.
  if (comments.length > 0) document.documentElement.normalize();
}
