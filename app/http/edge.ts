// What every HTTP surface of the edge shares: who is calling (the TLS client certificate verified by
// the client-certificate listener) and how a refusal is answered (RFC 9457 problem+json, with the
// HTTP status of the error registry).
import { createHash, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Request, Response } from 'express';
import { asEpostError, errorRegistry } from '../errors/index.js';

export interface Caller {
  /** DER of the verified TLS client certificate. */
  certificate: Buffer;
  subject: string;
  fingerprint: string;
}

/**
 * The TLS client certificate (DER) when the connection came through the client-certificate listener,
 * where Node has already verified it against the trust anchors; undefined on the ordinary listener.
 */
export function verifiedClientCertificate(req: Request): Buffer | undefined {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined;
  const peer = socket.getPeerCertificate();
  return peer && peer.raw ? peer.raw : undefined;
}

/** The verified caller with its subject and SHA-256 fingerprint, or undefined. */
export function callerOf(req: Request): Caller | undefined {
  const certificate = verifiedClientCertificate(req);
  if (!certificate) return undefined;
  return {
    certificate,
    subject: new X509Certificate(certificate).subject.replace(/\n/g, ', '),
    fingerprint: createHash('sha256').update(certificate).digest('hex'),
  };
}

/** RFC 9457 problem details for the non-SOAP surfaces. */
export function problem(res: Response, status: number, title: string, detail: string): void {
  res.status(status).type('application/problem+json').send(JSON.stringify({ type: 'about:blank', title, status, detail }));
}

/** Any thrown value as problem+json: an EpostError with its registry status and reason, anything else as 503. */
export function problemFromError(res: Response, err: unknown): void {
  const error = asEpostError(err);
  problem(res, errorRegistry[error.code].httpStatus, error.code, error.message);
}
