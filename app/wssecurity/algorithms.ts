// The algorithms ePost accepts in XML signatures, and an xml-crypto SignedXml that knows no others.
// xml-crypto 6 registers SHA-1 (and on request HMAC-SHA1) in maps it fills in its constructor, so
// the maps are replaced after construction by frozen allowlists: SHA-1, MD5 and HMAC cannot be
// reached by a request however its SignedInfo is written, and nothing can add them back later.
import crypto, { type BinaryLike, type KeyLike, type KeyObject } from 'node:crypto';
import {
  ExclusiveCanonicalization,
  SignedXml,
  createOptionalCallbackFunction,
  type CanonicalizationOrTransformationAlgorithm,
  type HashAlgorithm,
  type SignatureAlgorithm,
  type SignedXmlOptions,
} from 'xml-crypto';
import { EXC_C14N } from './namespaces.js';

export type KeyType = 'rsa' | 'ec';

export interface SignatureAlgorithmSpec {
  uri: string;
  /** node:crypto digest name. */
  hash: 'sha256' | 'sha384' | 'sha512';
  keyType: KeyType;
}

export const SIGNATURE_ALGORITHMS = {
  'rsa-sha256': { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', hash: 'sha256', keyType: 'rsa' },
  'rsa-sha384': { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384', hash: 'sha384', keyType: 'rsa' },
  'rsa-sha512': { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', hash: 'sha512', keyType: 'rsa' },
  'ecdsa-sha256': { uri: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256', hash: 'sha256', keyType: 'ec' },
  'ecdsa-sha384': { uri: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384', hash: 'sha384', keyType: 'ec' },
  'ecdsa-sha512': { uri: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512', hash: 'sha512', keyType: 'ec' },
} as const satisfies Record<string, SignatureAlgorithmSpec>;

export type SignatureAlgorithmName = keyof typeof SIGNATURE_ALGORITHMS;

export const DIGEST_ALGORITHMS = {
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#sha384': 'sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
} as const satisfies Record<string, string>;

export const SHA256_DIGEST_URI = 'http://www.w3.org/2001/04/xmlenc#sha256';

export function signatureAlgorithmByUri(uri: string): SignatureAlgorithmSpec | undefined {
  return Object.values(SIGNATURE_ALGORITHMS).find((spec) => spec.uri === uri);
}

export function isAcceptedDigestUri(uri: string): boolean {
  return Object.prototype.hasOwnProperty.call(DIGEST_ALGORITHMS, uri);
}

function keyTypeOf(key: KeyLike): string | undefined {
  try {
    const object: KeyObject = typeof key === 'object' && 'asymmetricKeyType' in key ? key : crypto.createPublicKey(key);
    return object.asymmetricKeyType;
  } catch {
    return undefined;
  }
}

/**
 * One xml-crypto SignatureAlgorithm on node:crypto. ECDSA values are r||s (IEEE P1363), as XML-DSig
 * requires, not DER. The key type is checked so an EC key cannot pass for an "rsa-sha256" signature.
 */
function signatureAlgorithmClass(spec: SignatureAlgorithmSpec): new () => SignatureAlgorithm {
  const options = spec.keyType === 'ec' ? { dsaEncoding: 'ieee-p1363' as const } : { padding: crypto.constants.RSA_PKCS1_PADDING };
  return class implements SignatureAlgorithm {
    getSignature = createOptionalCallbackFunction((signedInfo: BinaryLike, privateKey: KeyLike): string => {
      if (keyTypeOf(privateKey) !== spec.keyType) throw new Error(`${spec.uri} needs an ${spec.keyType.toUpperCase()} key`);
      const data = typeof signedInfo === 'string' ? Buffer.from(signedInfo, 'utf8') : signedInfo;
      return crypto.sign(spec.hash, data as NodeJS.ArrayBufferView, { key: privateKey, ...options } as crypto.SignPrivateKeyInput).toString('base64');
    });
    verifySignature = createOptionalCallbackFunction((material: string, key: KeyLike, signatureValue: string): boolean => {
      if (keyTypeOf(key) !== spec.keyType) return false;
      return crypto.verify(
        spec.hash,
        Buffer.from(material, 'utf8'),
        { key, ...options } as crypto.VerifyPublicKeyInput,
        Buffer.from(signatureValue, 'base64'),
      );
    });
    getAlgorithmName = (): string => spec.uri;
  };
}

function hashAlgorithmClass(uri: string, hash: string): new () => HashAlgorithm {
  return class implements HashAlgorithm {
    getHash = (xml: string): string => crypto.createHash(hash).update(xml, 'utf8').digest('base64');
    getAlgorithmName = (): string => uri;
  };
}

function frozenTable<T>(entries: [string, T][]): Record<string, T> {
  const table = Object.create(null) as Record<string, T>; // no prototype: "constructor" is no algorithm
  for (const [uri, value] of entries) table[uri] = value;
  return Object.freeze(table);
}

const SIGNATURE_TABLE = frozenTable(Object.values(SIGNATURE_ALGORITHMS).map((spec) => [spec.uri, signatureAlgorithmClass(spec)]));
const HASH_TABLE = frozenTable(Object.entries(DIGEST_ALGORITHMS).map(([uri, hash]) => [uri, hashAlgorithmClass(uri, hash)]));
const CANONICALIZATION_TABLE = frozenTable<new () => CanonicalizationOrTransformationAlgorithm>([[EXC_C14N, ExclusiveCanonicalization]]);

/** A SignedXml whose algorithm maps hold only the allowlist above (no SHA-1, MD5, HMAC, inclusive C14N or enveloped-signature). */
export class StrictSignedXml extends SignedXml {
  constructor(options: SignedXmlOptions = {}) {
    super(options);
    this.SignatureAlgorithms = SIGNATURE_TABLE;
    this.HashAlgorithms = HASH_TABLE;
    this.CanonicalizationAlgorithms = CANONICALIZATION_TABLE;
  }

  /** HMAC would let anyone holding the "key" (here: a public certificate) forge a signature. */
  override enableHMAC(): void {
    throw new Error('HMAC signatures are not accepted');
  }
}
