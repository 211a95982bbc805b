// Reads a request body into memory under a hard byte limit, inflating gzip/deflate bodies with the
// limit applied to the inflated size, so a small compressed bomb cannot exhaust memory.
import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import { EpostError } from '../errors/index.js';

export interface BodyRead {
  body: Buffer;
  /** Set when the body was refused; `body` then holds what was read before the refusal. */
  refusal?: EpostError;
}

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyRead> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  let source: Readable = req;
  if (encoding === 'gzip' || encoding === 'x-gzip') source = req.pipe(createGunzip());
  else if (encoding === 'deflate') source = req.pipe(createInflate());
  else if (encoding !== 'identity') {
    req.resume();
    return { body: Buffer.alloc(0), refusal: new EpostError('InvalidRequest', `Content-Encoding "${encoding}" is not supported`) };
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (encoding === 'identity' && declared > maxBytes) {
    req.resume();
    return { body: Buffer.alloc(0), refusal: tooLarge(maxBytes) };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > maxBytes) {
        source.destroy();
        req.resume();
        chunks.push(buf.subarray(0, Math.max(0, maxBytes - (size - buf.length))));
        return { body: Buffer.concat(chunks), refusal: tooLarge(maxBytes) };
      }
      chunks.push(buf);
    }
  } catch (err) {
    return { body: Buffer.concat(chunks), refusal: new EpostError('InvalidRequest', 'The request body could not be read or decompressed', err) };
  }
  return { body: Buffer.concat(chunks) };
}

function tooLarge(maxBytes: number): EpostError {
  return new EpostError('DocumentTooLarge', `The request is larger than the limit of ${maxBytes} bytes`);
}
