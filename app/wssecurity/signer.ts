// The sender side: a SOAP 1.1 envelope with wsse:Security holding the X.509v3 BinarySecurityToken, a
// wsu:Timestamp and a ds:Signature (exclusive C14N, SHA-256 digests) over the Timestamp and the Body,
// its KeyInfo a SecurityTokenReference to the token. Exactly the profile the gate accepts.
import { createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { XMLSerializer, type Node as XmldomNode } from '@xmldom/xmldom';
import { EpostError } from '../errors/index.js';
import { x509 } from '../pki/index.js';
import { SHA256_DIGEST_URI, SIGNATURE_ALGORITHMS, StrictSignedXml, type SignatureAlgorithmName } from '../xmldsig/index.js';
import { BASE64_ENCODING_TYPE, EXC_C14N, SOAP11_NS, WSSE_NS, WSU_NS, X509V3_VALUE_TYPE } from './namespaces.js';
import { decodeXmlText, parseStrict } from './parse.js';

export interface SignRequestOptions {
  /** The Body's single child element, complete with its own namespace declarations. */
  operationXml: string;
  certificatePem: string;
  privateKeyPem: string;
  now?: Date;
  /** Lifetime of the wsu:Timestamp; default 300 s. */
  ttlSeconds?: number;
  /** Default from the key: rsa-sha256 for RSA, ecdsa-sha256/384/512 for P-256/P-384/P-521. */
  signatureAlgorithm?: SignatureAlgorithmName;
}

const CURVE_DEFAULTS: Record<string, SignatureAlgorithmName> = {
  prime256v1: 'ecdsa-sha256',
  secp384r1: 'ecdsa-sha384',
  secp521r1: 'ecdsa-sha512',
};

function misuse(reason: string, cause?: unknown): never {
  throw new EpostError('InvalidRequest', reason, cause);
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** A complete SOAP 1.1 envelope: wsse:Security with BinarySecurityToken, wsu:Timestamp and a ds:Signature over Body and Timestamp. */
export function signRequest(options: SignRequestOptions): string {
  const now = options.now ?? new Date();
  const ttlSeconds = options.ttlSeconds ?? 300;
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(options.certificatePem);
  } catch (err) {
    misuse('The signing certificate is not a readable PEM certificate.', err);
  }
  const privateKey = (() => {
    try {
      return createPrivateKey(options.privateKeyPem);
    } catch (err) {
      misuse('The signing key is not a readable PEM private key.', err);
    }
  })();
  const certificateSpki = Buffer.from(certificate.publicKey.rawData);
  if (!createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).equals(certificateSpki)) {
    misuse('The private key does not belong to the signing certificate.');
  }

  const keyType = privateKey.asymmetricKeyType;
  const algorithmName: SignatureAlgorithmName | undefined =
    options.signatureAlgorithm ?? (keyType === 'rsa' ? 'rsa-sha256' : CURVE_DEFAULTS[privateKey.asymmetricKeyDetails?.namedCurve ?? '']);
  if (!algorithmName) misuse(`A ${keyType ?? 'unknown'} key cannot sign ePost requests.`);
  const algorithm = SIGNATURE_ALGORITHMS[algorithmName];
  if (algorithm.keyType !== keyType) misuse(`The signature algorithm ${algorithmName} does not fit a ${keyType ?? 'unknown'} key.`);

  // The operation is parsed on its own first, so it is one well-formed element and cannot close the Body early.
  const operation = parseStrict(decodeXmlText(Buffer.from(options.operationXml, 'utf8'))).documentElement;

  const suffix = randomUUID();
  const tokenId = `X509-${suffix}`;
  const timestampId = `TS-${suffix}`;
  const bodyId = `Body-${suffix}`;
  const created = now.toISOString();
  const expires = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
  const template =
    `<soap:Envelope xmlns:soap="${SOAP11_NS}" xmlns:wsse="${WSSE_NS}" xmlns:wsu="${WSU_NS}">` +
    `<soap:Header><wsse:Security soap:mustUnderstand="1">` +
    `<wsse:BinarySecurityToken EncodingType="${BASE64_ENCODING_TYPE}" ValueType="${X509V3_VALUE_TYPE}" wsu:Id="${tokenId}">` +
    `${Buffer.from(certificate.rawData).toString('base64')}</wsse:BinarySecurityToken>` +
    `<wsu:Timestamp wsu:Id="${timestampId}"><wsu:Created>${created}</wsu:Created><wsu:Expires>${expires}</wsu:Expires></wsu:Timestamp>` +
    `</wsse:Security></soap:Header><soap:Body wsu:Id="${bodyId}"/></soap:Envelope>`;
  const envelope = parseStrict(template);
  const body = envelope.documentElement.lastChild as Element;
  body.appendChild(envelope.importNode(operation, true));
  const unsigned = new XMLSerializer().serializeToString(envelope as unknown as XmldomNode);

  const signedXml = new StrictSignedXml({
    privateKey,
    signatureAlgorithm: algorithm.uri,
    canonicalizationAlgorithm: EXC_C14N,
    idMode: 'wssecurity',
    getKeyInfoContent: () =>
      `<wsse:SecurityTokenReference><wsse:Reference URI="#${escapeAttribute(tokenId)}" ValueType="${X509V3_VALUE_TYPE}"/></wsse:SecurityTokenReference>`,
  });
  signedXml.addReference({
    xpath: `/*[local-name()='Envelope']/*[local-name()='Header']/*[local-name()='Security']/*[local-name()='Timestamp']`,
    transforms: [EXC_C14N],
    digestAlgorithm: SHA256_DIGEST_URI,
  });
  signedXml.addReference({
    xpath: `/*[local-name()='Envelope']/*[local-name()='Body']`,
    transforms: [EXC_C14N],
    digestAlgorithm: SHA256_DIGEST_URI,
  });
  signedXml.computeSignature(unsigned, {
    prefix: 'ds',
    location: { reference: `/*[local-name()='Envelope']/*[local-name()='Header']/*[local-name()='Security']`, action: 'append' },
    existingPrefixes: { wsse: WSSE_NS, wsu: WSU_NS, soap: SOAP11_NS },
  });
  return signedXml.getSignedXml();
}
