// Two-way TLS for senders (recommended by the security committee): the TLS client certificate must
// be the very certificate that signed the message. The TLS layer has checked that the client holds
// its key; the gate has validated that certificate (path, revocation) as the signer, so equality
// makes the client certificate valid too.
import { EpostError } from '../errors/index.js';
import type { VerifiedRequest } from './gate.js';

export function assertTlsClientIsSigner(verified: Pick<VerifiedRequest, 'certificateDer' | 'certificate'>, tlsClientCertificateDer: Buffer | undefined): void {
  if (!tlsClientCertificateDer || tlsClientCertificateDer.length === 0) {
    throw new EpostError('FailedAuthentication', 'Two-way TLS is required: the connection presented no client certificate.');
  }
  if (!tlsClientCertificateDer.equals(verified.certificateDer)) {
    throw new EpostError(
      'FailedAuthentication',
      `The TLS client certificate is not the certificate that signed the message ("${verified.certificate.subject}"); both must be the same.`,
    );
  }
}
