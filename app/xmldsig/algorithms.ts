// The XML-DSig algorithms ePost accepts, and an xml-crypto SignedXml that knows no others.
// xml-crypto 6 registers SHA-1 (and on request HMAC-SHA1) in maps it fills in its constructor, so
// the maps are replaced after construction by frozen allowlists: SHA-1, MD5 and HMAC are rejected, not
// reachable by a document however its SignedInfo is written, and nothing can add them back later.
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

export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
/** The only canonicalisation (and, for requests, the only transform) accepted: exclusive C14N without comments. */
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
/** Accepted as a transform only where a profile allows it (enveloped proofs), never in requests. */
export const ENVELOPED_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
export const SHA256_DIGEST_URI = 'http://www.w3.org/2001/04/xmlenc#sha256';
export const SHA384_DIGEST_URI = 'http://www.w3.org/2001/04/xmldsig-more#sha384';
export const SHA512_DIGEST_URI = 'http://www.w3.org/2001/04/xmlenc#sha512';

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

export const RSA_SHA256 = SIGNATURE_ALGORITHMS['rsa-sha256'].uri;
export const ECDSA_SHA256 = SIGNATURE_ALGORITHMS['ecdsa-sha256'].uri;

export const DIGEST_ALGORITHMS = {
  [SHA256_DIGEST_URI]: 'sha256',
  [SHA384_DIGEST_URI]: 'sha384',
  [SHA512_DIGEST_URI]: 'sha512',
} as const satisfies Record<string, string>;

export function signatureAlgorithmByUri(uri: string): SignatureAlgorithmSpec | undefined {
  return Object.values(SIGNATURE_ALGORITHMS).find((spec) => spec.uri === uri);
}

/** The node:crypto hash of an accepted digest URI, undefined for any other. */
export function digestHashByUri(uri: string): 'sha256' | 'sha384' | 'sha512' | undefined {
  return Object.prototype.hasOwnProperty.call(DIGEST_ALGORITHMS, uri) ? DIGEST_ALGORITHMS[uri as keyof typeof DIGEST_ALGORITHMS] : undefined;
}

export function isAcceptedDigestUri(uri: string): boolean {
  return digestHashByUri(uri) !== undefined;
}

function keyObjectOf(key: KeyLike, kind: 'public' | 'private'): KeyObject | undefined {
  try {
    if (typeof key === 'object' && 'asymmetricKeyType' in key) return key;
    return kind === 'private' ? crypto.createPrivateKey(key as crypto.PrivateKeyInput | string | Buffer) : crypto.createPublicKey(key as crypto.PublicKeyInput | string | Buffer);
  } catch {
    return undefined;
  }
}

/** XML-DSig 1.1 (6.4.3) carries ECDSA as r||s (IEEE P1363), not DER; RSA is PKCS#1 v1.5. */
function keyInput(spec: SignatureAlgorithmSpec, key: KeyObject): crypto.SignKeyObjectInput & crypto.VerifyKeyObjectInput {
  return spec.keyType === 'ec' ? { key, dsaEncoding: 'ieee-p1363' } : { key, padding: crypto.constants.RSA_PKCS1_PADDING };
}

/** Verifies an XML-DSig SignatureValue over canonical SignedInfo bytes; false (never a throw) for a key of the wrong type. */
export function verifySignatureValue(spec: SignatureAlgorithmSpec, signedInfo: Buffer, key: KeyObject, signatureValue: Buffer): boolean {
  if (key.asymmetricKeyType !== spec.keyType) return false;
  try {
    return crypto.verify(spec.hash, signedInfo, keyInput(spec, key), signatureValue);
  } catch {
    return false;
  }
}

/**
 * One xml-crypto SignatureAlgorithm on node:crypto, usable by any SignedXml (stock or strict) for
 * signing and verifying. Keys may be KeyObjects or PEM. The key type is checked so an EC key cannot
 * pass for an "rsa-sha256" signature.
 */
export function signatureAlgorithmClass(spec: SignatureAlgorithmSpec): new () => SignatureAlgorithm {
  return class implements SignatureAlgorithm {
    getSignature = createOptionalCallbackFunction((signedInfo: BinaryLike, privateKey: KeyLike): string => {
      const key = keyObjectOf(privateKey, 'private');
      if (!key || key.asymmetricKeyType !== spec.keyType) throw new Error(`${spec.uri} needs an ${spec.keyType.toUpperCase()} private key`);
      const data = typeof signedInfo === 'string' ? Buffer.from(signedInfo, 'utf8') : Buffer.from(signedInfo as Uint8Array);
      return crypto.sign(spec.hash, data, keyInput(spec, key)).toString('base64');
    });
    verifySignature = createOptionalCallbackFunction((material: string, key: KeyLike, signatureValue: string): boolean => {
      const publicKey = keyObjectOf(key, 'public');
      if (!publicKey) return false;
      return verifySignatureValue(spec, Buffer.from(material, 'utf8'), publicKey, Buffer.from(signatureValue, 'base64'));
    });
    getAlgorithmName = (): string => spec.uri;
  };
}

/** ECDSA with SHA-256 (XML-DSig 1.1), which stock xml-crypto lacks: `signedXml.SignatureAlgorithms[ECDSA_SHA256] = EcdsaSha256`. */
export const EcdsaSha256 = signatureAlgorithmClass(SIGNATURE_ALGORITHMS['ecdsa-sha256']);
export const EcdsaSha384 = signatureAlgorithmClass(SIGNATURE_ALGORITHMS['ecdsa-sha384']);
export const EcdsaSha512 = signatureAlgorithmClass(SIGNATURE_ALGORITHMS['ecdsa-sha512']);

function hashAlgorithmClass(uri: string, hash: string): new () => HashAlgorithm {
  return class implements HashAlgorithm {
    getHash = (xml: string): string => crypto.createHash(hash).update(xml, 'utf8').digest('base64');
    getAlgorithmName = (): string => uri;
  };
}

/** SHA-384 digests (xml-crypto ships SHA-1, SHA-256 and SHA-512 only). */
export const Sha384 = hashAlgorithmClass(SHA384_DIGEST_URI, 'sha384');

function frozenTable<T>(entries: [string, T][]): Record<string, T> {
  const table = Object.create(null) as Record<string, T>; // no prototype: "constructor" is no algorithm
  for (const [uri, value] of entries) table[uri] = value;
  return Object.freeze(table);
}

const SIGNATURE_TABLE = frozenTable(Object.values(SIGNATURE_ALGORITHMS).map((spec) => [spec.uri, signatureAlgorithmClass(spec)]));
const HASH_TABLE = frozenTable(Object.entries(DIGEST_ALGORITHMS).map(([uri, hash]) => [uri, hashAlgorithmClass(uri, hash)]));
const CANONICALIZATION_TABLE = frozenTable<new () => CanonicalizationOrTransformationAlgorithm>([[EXC_C14N, ExclusiveCanonicalization]]);

/** xml-crypto's own enveloped-signature transform, looked up once from a stock instance rather than re-implemented. */
const EnvelopedSignatureTransform = new SignedXml().CanonicalizationAlgorithms[ENVELOPED_SIGNATURE]!;
const ENVELOPED_CANONICALIZATION_TABLE = frozenTable<new () => CanonicalizationOrTransformationAlgorithm>([
  [EXC_C14N, ExclusiveCanonicalization],
  [ENVELOPED_SIGNATURE, EnvelopedSignatureTransform],
]);

export interface StrictProfile {
  /** Allow the enveloped-signature transform (a signature inside the document it signs, as a proof). Default false. */
  envelopedSignature?: boolean;
}

/**
 * A SignedXml whose algorithm maps hold only the allowlist above: RSA and ECDSA with SHA-256/384/512,
 * SHA-256/384/512 digests, exclusive C14N (plus enveloped-signature when the profile allows it).
 * SHA-1, MD5, HMAC and inclusive C14N are rejected.
 */
export class StrictSignedXml extends SignedXml {
  constructor(options: SignedXmlOptions = {}, profile: StrictProfile = {}) {
    super(options);
    this.SignatureAlgorithms = SIGNATURE_TABLE;
    this.HashAlgorithms = HASH_TABLE;
    this.CanonicalizationAlgorithms = profile.envelopedSignature ? ENVELOPED_CANONICALIZATION_TABLE : CANONICALIZATION_TABLE;
  }

  /** HMAC would let anyone holding the "key" (here: a public certificate) forge a signature. */
  override enableHMAC(): void {
    throw new Error('HMAC signatures are not accepted');
  }
}
