// What a refused request presented, so that the refusal can be recorded as a disturbance with the
// credential that was tried: a gate refusal carries the certificate of the BinarySecurityToken
// whenever that token could be read, whatever step refused the request.
import { hash } from 'node:crypto';
import { EpostError } from '../errors/index.js';
import { x509 } from '../pki/index.js';
import { WSSE_NS } from './namespaces.js';

export interface PresentedCredential {
  certificateSubject: string;
  certificateIssuer: string;
  /** Hexadecimal serial number. */
  certificateSerialNumber: string;
  /** SHA-256 of the certificate DER, lowercase hex. */
  certificateFingerprintSha256: string;
}

/** An EpostError from the WS-Security gate, with the credential the request presented. */
export class GateRefusal extends EpostError {
  constructor(
    refusal: EpostError,
    readonly presented: PresentedCredential,
  ) {
    super(refusal.code, refusal.message, refusal.cause);
  }
}

/** The credential a refusal names, if the refused request presented a readable one. */
export function presentedCredentialOf(err: unknown): PresentedCredential | undefined {
  return err instanceof GateRefusal ? err.presented : undefined;
}

export function presentedCertificate(certificate: x509.X509Certificate, der: Buffer): PresentedCredential {
  return {
    certificateSubject: certificate.subject,
    certificateIssuer: certificate.issuer,
    certificateSerialNumber: certificate.serialNumber,
    certificateFingerprintSha256: hash('sha256', der, 'hex'),
  };
}

/** Best effort, never throws: the certificate of the first BinarySecurityToken anywhere in the document. */
export function readPresentedCredential(document: Document): PresentedCredential | undefined {
  try {
    const token = document.getElementsByTagNameNS(WSSE_NS, 'BinarySecurityToken')[0];
    const text = token?.textContent?.replace(/\s+/g, '');
    if (!text || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
    const der = Buffer.from(text, 'base64');
    return presentedCertificate(new x509.X509Certificate(der), der);
  } catch {
    return undefined;
  }
}
