// The one parse of an inbound request, hostile input assumed: bounded in size (also after
// decompression), UTF-8 only, no DTD (so no entities, no XXE, no billion laughs), no processing
// instructions, then a linear scan that enforces the structural limits (depth, elements, attributes
// per element, namespace declarations, a single root) before the DOM parser allocates anything, and
// a walk of the parsed tree that refuses what the text checks should already have refused.
import zlib from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { EpostError } from '../errors/index.js';
import { DSIG_NS } from './namespaces.js';
import './xmldomRegexCache.js'; // before the first parse: xmldom then builds its end-tag expression once

export interface XmlLimits {
  /** Deepest element nesting. */
  maxDepth: number;
  /** Most elements in the document. */
  maxElements: number;
  /** Most attributes on one element, namespace declarations not counted. */
  maxAttributesPerElement: number;
  /** Most namespace declarations in the document. */
  maxNamespaceDeclarations: number;
}

/** Far above any ePost request (about 40 elements, 6 namespaces), far below what costs anything. */
export const DEFAULT_XML_LIMITS: Readonly<XmlLimits> = Object.freeze({
  maxDepth: 64,
  maxElements: 10_000,
  maxAttributesPerElement: 32,
  maxNamespaceDeclarations: 64,
});

/** The limits as configured (EPOST_XML_MAX_*). */
export function xmlLimitsFrom(config: { xmlMaxDepth: number; xmlMaxElements: number; xmlMaxAttributes: number; xmlMaxNamespaceDeclarations: number }): XmlLimits {
  return {
    maxDepth: config.xmlMaxDepth,
    maxElements: config.xmlMaxElements,
    maxAttributesPerElement: config.xmlMaxAttributes,
    maxNamespaceDeclarations: config.xmlMaxNamespaceDeclarations,
  };
}

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

const LT = 0x3c; // <
const GT = 0x3e; // >
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** The attribute name that ends just before the '=' at `equals` (whitespace allowed between). */
function attributeNameBefore(text: string, equals: number, tagStart: number): string {
  let end = equals;
  while (end > tagStart && isSpace(text.charCodeAt(end - 1))) end--;
  let start = end;
  while (start > tagStart) {
    const c = text.charCodeAt(start - 1);
    if (isSpace(c) || c === DQUOTE || c === SQUOTE || c === EQUALS || c === LT) break;
    start--;
  }
  return text.slice(start, end);
}

/**
 * A linear scan of the markup, before any DOM exists: counts elements, nesting, attributes and
 * namespace declarations, and refuses a second root element. Text is skipped with indexOf, so a
 * large base64 document costs next to nothing. Well-formedness itself is left to the parser; this
 * scan only has to be right about well-formed input and bounded on anything else.
 */
export function checkXmlLimits(text: string, limits: XmlLimits = DEFAULT_XML_LIMITS): void {
  let position = 0;
  let depth = 0;
  let elements = 0;
  let namespaceDeclarations = 0;
  let rootClosed = false;
  for (;;) {
    const lt = text.indexOf('<', position);
    if (lt === -1) return;
    const next = text.charCodeAt(lt + 1);
    if (next === BANG) {
      const [open, close] = text.startsWith('<!--', lt) ? ['<!--', '-->'] : text.startsWith('<![CDATA[', lt) ? ['<![CDATA[', ']]>'] : [undefined, undefined];
      if (!open || !close) refuse('The request contains a markup declaration, which is not allowed.');
      const end = text.indexOf(close, lt + open.length);
      if (end === -1) refuse('The request is not well-formed XML (an unterminated comment or CDATA section).');
      position = end + close.length;
      continue;
    }
    if (next === QUESTION) {
      const end = text.indexOf('?>', lt + 2);
      if (end === -1) refuse('The request is not well-formed XML (an unterminated declaration).');
      position = end + 2;
      continue;
    }
    if (next === SLASH) {
      const end = text.indexOf('>', lt + 2);
      if (end === -1) refuse('The request is not well-formed XML (an unterminated end tag).');
      depth--;
      if (depth === 0) rootClosed = true;
      position = end + 1;
      continue;
    }
    // A start tag or an empty-element tag.
    if (rootClosed) refuse('The request has more than one root element.');
    if (++elements > limits.maxElements) refuse(`The request has more than ${limits.maxElements} elements.`);
    let attributes = 0;
    let quote = 0;
    let i = lt + 1;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (quote !== 0) {
        if (c === quote) quote = 0;
      } else if (c === DQUOTE || c === SQUOTE) {
        quote = c;
      } else if (c === EQUALS) {
        const name = attributeNameBefore(text, i, lt + 1);
        if (name === 'xmlns' || name.startsWith('xmlns:')) {
          if (++namespaceDeclarations > limits.maxNamespaceDeclarations) {
            refuse(`The request declares more than ${limits.maxNamespaceDeclarations} namespaces.`);
          }
        } else if (++attributes > limits.maxAttributesPerElement) {
          refuse(`An element of the request has more than ${limits.maxAttributesPerElement} attributes.`);
        }
      } else if (c === GT) {
        break;
      } else if (c === LT) {
        refuse('The request is not well-formed XML (a "<" inside a tag).');
      }
    }
    if (i >= text.length) refuse('The request is not well-formed XML (an unterminated start tag).');
    if (text.charCodeAt(i - 1) !== SLASH) {
      if (++depth > limits.maxDepth) refuse(`The request nests elements deeper than ${limits.maxDepth} levels.`);
    } else if (depth === 0) {
      rootClosed = true;
    }
    position = i + 1;
  }
}

/** Parses with xmldom after the limit scan, turning every warning and error into a refusal. */
export function parseStrict(text: string, limits: XmlLimits = DEFAULT_XML_LIMITS): Document {
  checkXmlLimits(text, limits);
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
  sanitize(document, limits.maxDepth);
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
 * depth against parser differentials) and excessive nesting; refuses a comment inside ds:Signature
 * (it could split a DigestValue or SignatureValue for a reader that takes the first text node, as in
 * CVE-2025-29775); removes other comments, because the signature never covers them (exclusive C14N
 * drops them) and a comment inside a signed value must not cut it in two for the code that reads it.
 */
function sanitize(document: Document, maxDepth: number): void {
  const comments: Node[] = [];
  for (const child of Array.from(document.childNodes)) {
    if (child.nodeType === PROCESSING_INSTRUCTION && (child as ProcessingInstruction).target === 'xml' && child === document.firstChild) continue;
    if (child.nodeType === COMMENT) comments.push(child);
    else if (child.nodeType !== ELEMENT && child.nodeType !== TEXT) refuse('The request contains a node that is not allowed outside the envelope.');
  }
  const stack: Array<{ node: Node; depth: number; inSignature: boolean }> = [{ node: document.documentElement, depth: 1, inSignature: false }];
  while (stack.length > 0) {
    const { node, depth, inSignature } = stack.pop()!;
    if (depth > maxDepth) refuse(`The request nests elements deeper than ${maxDepth} levels.`);
    for (let child = node.firstChild; child; child = child.nextSibling) {
      switch (child.nodeType) {
        case ELEMENT: {
          const element = child as Element;
          const signature = inSignature || (element.namespaceURI === DSIG_NS && element.localName === 'Signature');
          stack.push({ node: child, depth: depth + 1, inSignature: signature });
          break;
        }
        case TEXT:
        case CDATA:
          break;
        case COMMENT:
          if (inSignature) refuse('The ds:Signature contains a comment, which is not allowed.');
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
