// Signed tree heads: ePost's sealing key signs (size, root, time) in RFC 6962's TreeHeadSignature
// form, and an RFC 3161 token over SHA-256 of that signature proves when it existed. The 50 bytes
// signed are simple enough that `openssl dgst -sha256 -verify` checks them without our code.
import { createHash, createPrivateKey, createPublicKey, sign, verify, X509Certificate as NodeX509, type KeyObject } from 'node:crypto';
import { EpostError } from '../errors/index.js';
import { assertStrongKey, parsePemCertificates, validateCertificatePath } from '../pki/index.js';
import { verifyTimestampToken } from '../timestamp/index.js';

export interface SignedTreeHead {
  treeSize: number;
  rootHash: Buffer;
  /** Milliseconds since the epoch (RFC 6962's timestamp), from the service's clock. */
  timestampMs: number;
  signature: Buffer;
  signerFingerprint: string;
  /** DER TimeStampToken whose imprint is SHA-256(signature). */
  timestampToken: Buffer;
}

/**
 * RFC 6962, 3.5: digitally-signed struct { Version version = v1(0); SignatureType signature_type =
 * tree_hash(1); uint64 timestamp; uint64 tree_size; opaque sha256_root_hash[32]; }.
 */
export function treeHeadSignedBytes(treeSize: number, timestampMs: number, rootHash: Buffer): Buffer {
  if (rootHash.length !== 32) throw new Error('a tree head root is a 32-byte SHA-256 hash');
  const out = Buffer.alloc(2 + 8 + 8 + 32);
  out.writeUInt8(0, 0);
  out.writeUInt8(1, 1);
  out.writeBigUInt64BE(BigInt(timestampMs), 2);
  out.writeBigUInt64BE(BigInt(treeSize), 10);
  rootHash.copy(out, 18);
  return out;
}

export function timestampImprint(signature: Buffer): Buffer {
  return createHash('sha256').update(signature).digest();
}

/** Signs tree heads; the certificate is published with the heads so they verify years later. */
export interface TreeHeadSigner {
  certificatePem: string;
  /** SHA-256 of the certificate's DER, lowercase hex. */
  fingerprint: string;
  sign(data: Buffer): Buffer;
}

export function treeHeadSignerFromPem(certificatePem: string, keyPem: string): TreeHeadSigner {
  const [certificate] = parsePemCertificates([certificatePem], 'log signing certificate');
  if (!certificate) throw new EpostError('InvalidSecurityToken', 'No log signing certificate was given');
  assertStrongKey(certificate, 'log signing');
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new EpostError('InvalidSecurityToken', 'The log signing key is not readable', err);
  }
  if (!createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(Buffer.from(certificate.publicKey.rawData))) {
    throw new EpostError('InvalidSecurityToken', 'The log signing key does not belong to its certificate');
  }
  if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec') {
    throw new EpostError('UnsupportedAlgorithm', `Log signing keys must be RSA or EC, not ${key.asymmetricKeyType}`);
  }
  const der = Buffer.from(certificate.rawData);
  return {
    certificatePem: certificate.toString('pem'),
    fingerprint: createHash('sha256').update(der).digest('hex'),
    // RSA: PKCS#1 v1.5 with SHA-256; EC: DER-encoded ECDSA with SHA-256 — what openssl dgst expects.
    sign: (data) => sign('sha256', data, key),
  };
}

export interface TreeHeadTrust {
  anchorsPem: string[];
  intermediatesPem: string[];
}

/** Checks one signed tree head: signature by a certificate chaining to the anchors, and its timestamp. Returns a reason on failure. */
export async function checkTreeHead(head: SignedTreeHead, signerCertificatePem: string | undefined, trust: TreeHeadTrust): Promise<string | undefined> {
  if (!signerCertificatePem) return `its signer certificate ${head.signerFingerprint} is not in the log`;
  const node = new NodeX509(signerCertificatePem);
  if (createHash('sha256').update(node.raw).digest('hex') !== head.signerFingerprint) return 'its signer certificate does not match the fingerprint it names';
  const signed = treeHeadSignedBytes(head.treeSize, head.timestampMs, head.rootHash);
  if (!verify('sha256', signed, node.publicKey, head.signature)) return 'its signature does not verify';
  const [certificate] = parsePemCertificates([signerCertificatePem], 'log signing certificate');
  const at = new Date(head.timestampMs);
  try {
    // Valid when it signed, not necessarily now: the timestamp proves when that was.
    await validateCertificatePath(certificate!, {
      anchors: parsePemCertificates(trust.anchorsPem, 'trust anchor'),
      intermediates: parsePemCertificates(trust.intermediatesPem, 'intermediate certificate'),
      at,
      what: 'log signing',
    });
  } catch (err) {
    return (err as Error).message;
  }
  try {
    const stamped = await verifyTimestampToken(head.timestampToken, timestampImprint(head.signature), trust.anchorsPem, trust.intermediatesPem);
    // The head cannot claim a time after the timestamp that proves it existed (1 s accuracy, 1 s skew).
    if (head.timestampMs > stamped.genTime.getTime() + 2000) {
      return `it claims ${at.toISOString()} but was timestamped at ${stamped.genTime.toISOString()}`;
    }
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}
