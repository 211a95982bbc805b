// The X.509v3 BinarySecurityToken: resolving it from the signature's SecurityTokenReference and
// decoding it. Decoded tokens are cached by the SHA-256 of their DER, so a sender's certificate and
// public key are parsed once, not on every request.
import { createPublicKey, hash, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, Version } from '@peculiar/asn1-x509';
import { EpostError } from '../errors/index.js';
import { x509 } from '../pki/index.js';
import { attributeNS, childElements, textOnly } from './dom.js';
import { BASE64_ENCODING_TYPE, WSU_NS, X509V3_VALUE_TYPE } from './namespaces.js';
import type { SignatureStructure } from './signatureStructure.js';

export interface SecurityToken {
  certificate: x509.X509Certificate;
  der: Buffer;
  /** SHA-256 of the DER, lowercase hex. */
  fingerprint: string;
  publicKey: KeyObject;
}

const MAX_CACHED_TOKENS = 1024;
const tokenCache = new Map<string, SecurityToken>();

function invalidToken(reason: string, cause?: unknown): never {
  throw new EpostError('InvalidSecurityToken', reason, cause);
}

/** Checks that the signature's KeyInfo names this BinarySecurityToken, by its wsu:Id. */
export function resolveToken(token: Element | undefined, structure: SignatureStructure): Element {
  if (!token) throw new EpostError('SecurityTokenUnavailable', 'The request carries no wsse:BinarySecurityToken with the signing certificate.');
  if (structure.tokenReferenceId === undefined) {
    throw new EpostError('SecurityTokenUnavailable', 'The signature KeyInfo does not reference the BinarySecurityToken by a wsse:SecurityTokenReference.');
  }
  if (attributeNS(token, WSU_NS, 'Id') !== structure.tokenReferenceId) {
    throw new EpostError('SecurityTokenUnavailable', `The SecurityTokenReference names "#${structure.tokenReferenceId}", which is not the BinarySecurityToken.`);
  }
  if (structure.tokenReferenceValueType !== undefined && structure.tokenReferenceValueType !== X509V3_VALUE_TYPE) {
    invalidToken(`The SecurityTokenReference declares the ValueType "${structure.tokenReferenceValueType}"; X509v3 is required.`);
  }
  return token;
}

/** Decodes the token into an X.509v3 certificate (nothing is trusted yet). */
export function decodeToken(token: Element): SecurityToken {
  const valueType = attributeNS(token, null, 'ValueType');
  if (valueType !== X509V3_VALUE_TYPE) invalidToken(`The BinarySecurityToken ValueType "${valueType ?? ''}" is not accepted; X509v3 is required.`);
  const encodingType = attributeNS(token, null, 'EncodingType');
  if (encodingType !== undefined && encodingType !== BASE64_ENCODING_TYPE) {
    invalidToken(`The BinarySecurityToken EncodingType "${encodingType}" is not accepted; Base64Binary is required.`);
  }
  const text = textOnly(token);
  if (text === undefined || childElements(token).length > 0 || !/^[A-Za-z0-9+/\s]+={0,2}\s*$/.test(text)) {
    invalidToken('The BinarySecurityToken is not base64 text.');
  }
  return certificateToken(Buffer.from(text, 'base64'));
}

/**
 * An X.509v3 certificate as a token, from its DER (nothing is trusted yet); also the form of the
 * certificate a SAML holder-of-key assertion confirms.
 */
export function certificateToken(der: Buffer, what = 'BinarySecurityToken'): SecurityToken {
  const fingerprint = hash('sha256', der, 'hex');
  const cached = tokenCache.get(fingerprint);
  if (cached) return cached;

  let certificate: x509.X509Certificate;
  let publicKey: KeyObject;
  try {
    const asn = AsnConvert.parse(der, Certificate);
    if (asn.tbsCertificate.version !== Version.v3) invalidToken(`The ${what} is not an X.509 version 3 certificate.`);
    certificate = new x509.X509Certificate(new Uint8Array(der));
    publicKey = createPublicKey({ key: Buffer.from(certificate.publicKey.rawData), format: 'der', type: 'spki' });
  } catch (err) {
    if (err instanceof EpostError) throw err;
    invalidToken(`The ${what} is not a readable X.509 certificate.`, err);
  }
  const decoded: SecurityToken = { certificate, der, fingerprint, publicKey };
  if (tokenCache.size >= MAX_CACHED_TOKENS) {
    const oldest = tokenCache.keys().next().value;
    if (oldest !== undefined) tokenCache.delete(oldest);
  }
  tokenCache.set(fingerprint, decoded);
  return decoded;
}
