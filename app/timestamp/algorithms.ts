// The algorithm identifiers ePost produces and accepts in timestamp tokens. Anything absent from
// these tables (SHA-1, MD5, RSASSA-PSS with odd parameters, DSA...) is rejected by omission.
import { AsnNullConverter } from '@peculiar/asn1-schema';

export const id_sha256 = '2.16.840.1.101.3.4.2.1';
export const id_sha384 = '2.16.840.1.101.3.4.2.2';
export const id_sha512 = '2.16.840.1.101.3.4.2.3';

/** Digest OIDs to node:crypto hash names. */
export const DIGESTS: Readonly<Record<string, 'sha256' | 'sha384' | 'sha512'>> = {
  [id_sha256]: 'sha256',
  [id_sha384]: 'sha384',
  [id_sha512]: 'sha512',
};

export const rsaEncryption = '1.2.840.113549.1.1.1';
export const sha256WithRSAEncryption = '1.2.840.113549.1.1.11';
export const ecdsaWithSHA256 = '1.2.840.10045.4.3.2';

/** Signature OIDs to the key type they need and the hash they imply (null: the SignerInfo digestAlgorithm's). */
export const SIGNATURES: Readonly<Record<string, { key: 'rsa' | 'ec'; hash: 'sha256' | 'sha384' | 'sha512' | null }>> = {
  [rsaEncryption]: { key: 'rsa', hash: null },
  [sha256WithRSAEncryption]: { key: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { key: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { key: 'rsa', hash: 'sha512' },
  [ecdsaWithSHA256]: { key: 'ec', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { key: 'ec', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { key: 'ec', hash: 'sha512' },
};

/** DER NULL, the parameters RFC 4055 requires for the RSA PKCS#1 v1.5 signature identifiers. */
export const DER_NULL: ArrayBuffer = AsnNullConverter.toASN(null).toBER(false);
