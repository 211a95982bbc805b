// XML-DSig ECDSA-SHA256 for xml-crypto, which ships RSA and HMAC only. XML-DSig 1.1 (section 6.4.3)
// carries an ECDSA signature as the raw r || s concatenation, which node:crypto produces and checks
// with dsaEncoding 'ieee-p1363'.
import { createPrivateKey, createPublicKey, sign, verify, type KeyLike } from 'node:crypto';
import type { SignatureAlgorithm } from 'xml-crypto';
import { ECDSA_SHA256 } from './xml.js';

export class EcdsaSha256 {
  getSignature(signedInfo: string | Buffer, privateKey: KeyLike): string {
    const key = typeof privateKey === 'string' || Buffer.isBuffer(privateKey) ? createPrivateKey(privateKey) : privateKey;
    return sign('sha256', Buffer.from(signedInfo), { key, dsaEncoding: 'ieee-p1363' }).toString('base64');
  }

  verifySignature(material: string, key: KeyLike, signatureValue: string): boolean {
    const publicKey = createPublicKey(key as Parameters<typeof createPublicKey>[0]);
    return verify('sha256', Buffer.from(material), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signatureValue, 'base64'));
  }

  getAlgorithmName(): string {
    return ECDSA_SHA256;
  }
}

/** The class as xml-crypto's SignatureAlgorithms registry expects it (its callback overloads are never used here). */
export const EcdsaSha256Algorithm = EcdsaSha256 as unknown as new () => SignatureAlgorithm;
