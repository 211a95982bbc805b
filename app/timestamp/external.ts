// An external RFC 3161 timestamping authority reached over HTTP(S) (RFC 3161 section 3.4:
// POST application/timestamp-query, answer application/timestamp-reply). Nothing the authority
// says is taken on trust: the status must be granted, the nonce echoed, the imprint the one asked
// for, the policy the one requested, the token must have a single signer whose certificate carries
// the single critical id-kp-timeStamping EKU and chains to a configured anchor, and genTime must lie
// within the tolerance of our own clock.
import http from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import { AsnConvert, AsnProp, AsnPropTypes, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { MessageImprint, PKIStatus, PKIStatusInfo, TimeStampReq, TimeStampReqVersion } from '@peculiar/asn1-tsp';
import { EpostError } from '../errors/index.js';
import type { TimestampAuthority } from './authority.js';
import { id_sha256 } from './algorithms.js';
import { verifyTimestampToken } from './verify.js';

export interface ExternalTimestampAuthorityOptions {
  /** http:// or https:// URL of the authority. */
  url: string;
  /** Anchors the TSA certificate must chain to (PEM, bundles allowed). */
  anchorsPem: string[];
  intermediatesPem?: string[];
  /** Policy OID to request; when set, a token under another policy is refused. */
  policy?: string;
  /** Whole exchange, connection to last byte (default 10 s). */
  timeoutMs?: number;
  /** Largest accepted |genTime - our clock|, in seconds (default 60). */
  toleranceSeconds?: number;
  /** CA certificates for an https URL (default: Node's bundled roots). */
  tlsCaPem?: string[];
  /** Our clock (tests shift it to check the tolerance). */
  now?: () => Date;
}

/** Largest reply read: a token with a full chain is a few kilobytes. */
const MAX_REPLY_BYTES = 256 * 1024;

/**
 * TimeStampResp with the token kept as the exact bytes received (asn1-tsp's own class would parse
 * and re-encode it, and the token is stored as evidence, so it must be byte for byte the TSA's).
 */
class RawTimeStampResp {
  status = new PKIStatusInfo();
  timeStampToken?: ArrayBuffer;
}
AsnProp({ type: PKIStatusInfo })(RawTimeStampResp.prototype, 'status');
AsnProp({ type: AsnPropTypes.Any, optional: true })(RawTimeStampResp.prototype, 'timeStampToken');

function unavailable(reason: string, cause?: unknown): never {
  throw new EpostError('ServiceUnavailable', `Timestamping authority: ${reason}`, cause);
}

/** A positive 64-bit nonce, minimally DER-encoded. */
function newNonce(): Buffer {
  const nonce = randomBytes(8);
  nonce[0] = (nonce[0]! & 0x7f) | 0x01;
  return nonce;
}

export class ExternalTimestampAuthority implements TimestampAuthority {
  private readonly url: URL;
  private readonly timeoutMs: number;
  private readonly toleranceMs: number;
  private readonly now: () => Date;

  constructor(private readonly options: ExternalTimestampAuthorityOptions) {
    try {
      this.url = new URL(options.url);
    } catch (err) {
      throw new EpostError('InvalidRequest', `The timestamping authority URL "${options.url}" is not a URL`, err);
    }
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') {
      throw new EpostError('InvalidRequest', 'The timestamping authority URL must be http:// or https://');
    }
    if (options.anchorsPem.length === 0) throw new EpostError('InvalidRequest', 'No trust anchors are configured for the timestamping authority');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.toleranceMs = (options.toleranceSeconds ?? 60) * 1000;
    this.now = options.now ?? (() => new Date());
  }

  async timestamp(imprintSha256: Buffer): Promise<Buffer> {
    if (!Buffer.isBuffer(imprintSha256) || imprintSha256.length !== 32) {
      throw new EpostError('InvalidRequest', 'A timestamp imprint must be a 32-byte SHA-256 digest');
    }
    const nonce = newNonce();
    const query = new TimeStampReq({
      version: TimeStampReqVersion.v1,
      messageImprint: new MessageImprint({
        hashAlgorithm: new AlgorithmIdentifier({ algorithm: id_sha256 }),
        hashedMessage: new OctetString(imprintSha256),
      }),
      ...(this.options.policy ? { reqPolicy: this.options.policy } : {}),
      nonce: new Uint8Array(nonce).buffer,
      certReq: true, // the TSA certificate must travel in the token: verifiers years later need it
    });
    const reply = await this.post(Buffer.from(AsnConvert.serialize(query)));

    let response: RawTimeStampResp;
    try {
      response = AsnConvert.parse(reply, RawTimeStampResp);
    } catch (err) {
      return unavailable('the reply is not a TimeStampResp', err);
    }
    const status = response.status.status;
    if (status !== PKIStatus.granted && status !== PKIStatus.grantedWithMods) {
      const text = (response.status.statusString ?? []).join('; ');
      unavailable(`the request was not granted (status ${status}${text ? `: ${text}` : ''})`);
    }
    if (!response.timeStampToken) unavailable('the reply grants a timestamp but carries no token');
    const token = Buffer.from(response.timeStampToken);

    let verified;
    try {
      verified = await verifyTimestampToken(token, imprintSha256, this.options.anchorsPem, this.options.intermediatesPem ?? []);
    } catch (err) {
      return unavailable(`the token was refused: ${(err as Error).message}`, err);
    }
    if (verified.nonce !== nonce.toString('hex')) unavailable('the token does not echo the nonce of the request (a replayed or foreign reply)');
    if (this.options.policy && verified.policy !== this.options.policy) {
      unavailable(`the token was issued under policy ${verified.policy}, not the requested ${this.options.policy}`);
    }
    const drift = Math.abs(verified.genTime.getTime() - this.now().getTime());
    if (drift > this.toleranceMs) {
      unavailable(`the token time ${verified.genTime.toISOString()} is ${Math.round(drift / 1000)} s away from ours (tolerance ${this.toleranceMs / 1000} s)`);
    }
    return token;
  }

  private post(body: Buffer): Promise<Buffer> {
    const transport = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const request = transport.request(
        this.url,
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/timestamp-query', 'Content-Length': body.length, Accept: 'application/timestamp-reply' },
          timeout: this.timeoutMs,
          ...(this.url.protocol === 'https:' && this.options.tlsCaPem ? { ca: this.options.tlsCaPem, minVersion: 'TLSv1.2' as const } : {}),
        },
        (response) => {
          const type = (response.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
          if (response.statusCode !== 200) {
            response.resume();
            reject(new EpostError('ServiceUnavailable', `Timestamping authority: HTTP status ${response.statusCode}`));
            return;
          }
          if (type !== 'application/timestamp-reply') {
            response.resume();
            reject(new EpostError('ServiceUnavailable', `Timestamping authority: the reply has media type "${type}", not application/timestamp-reply`));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_REPLY_BYTES) {
              request.destroy(new EpostError('ServiceUnavailable', 'Timestamping authority: the reply is too large'));
              return;
            }
            chunks.push(chunk);
          });
          response.on('end', () => resolve(Buffer.concat(chunks)));
          response.on('error', (err) => reject(new EpostError('ServiceUnavailable', 'Timestamping authority: the reply was cut', err)));
        },
      );
      const deadline = setTimeout(() => request.destroy(new EpostError('ServiceUnavailable', `Timestamping authority: no reply within ${this.timeoutMs} ms`)), this.timeoutMs);
      request.on('close', () => clearTimeout(deadline));
      request.on('timeout', () => request.destroy(new EpostError('ServiceUnavailable', `Timestamping authority: no reply within ${this.timeoutMs} ms`)));
      request.on('error', (err) => reject(err instanceof EpostError ? err : new EpostError('ServiceUnavailable', `Timestamping authority unreachable: ${err.message}`, err)));
      request.end(body);
    });
  }
}
