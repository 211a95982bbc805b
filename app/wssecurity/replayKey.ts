// The replay key of a request: SHA-256 of its signature value. Taken over the decoded bytes, so
// re-wrapping the base64 cannot make a new key. ECDSA signatures are malleable (if (r, s) verifies,
// so does (r, n - s)); the key is taken over the low-s form so the twin of a signature is the same
// replay. RSA PKCS#1 v1.5 signatures are unique for a key and a message.
import { hash } from 'node:crypto';
import type { KeyType } from '../xmldsig/index.js';

/** Group orders of the accepted curves, as OpenSSL prints them (`openssl ecparam -param_enc explicit -text`). */
const CURVE_ORDERS: Record<string, bigint> = {
  prime256v1: BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
  secp384r1: BigInt('0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973'),
  secp521r1: BigInt(
    '0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409',
  ),
};

function toBigInt(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

function toBytes(value: bigint, length: number): Buffer {
  return Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex');
}

/** The signature value with s replaced by min(s, n - s) for ECDSA (r||s, IEEE P1363); other signatures unchanged. */
export function canonicalSignatureValue(signatureValue: Buffer, keyType: KeyType, namedCurve?: string): Buffer {
  if (keyType !== 'ec' || !namedCurve) return signatureValue;
  const order = CURVE_ORDERS[namedCurve];
  if (order === undefined || signatureValue.length % 2 !== 0) return signatureValue;
  const half = signatureValue.length / 2;
  const r = signatureValue.subarray(0, half);
  const s = toBigInt(signatureValue.subarray(half));
  const lowS = s > order / 2n ? order - s : s;
  return Buffer.concat([r, toBytes(lowS, half)]);
}

export function replayKey(signatureValue: Buffer, keyType: KeyType, namedCurve?: string): string {
  return hash('sha256', canonicalSignatureValue(signatureValue, keyType, namedCurve), 'hex');
}
