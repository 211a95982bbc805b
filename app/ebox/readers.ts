// Who is reading: a person identified by the TLS client certificate, as an eID authentication
// certificate identifies its holder: the SSIN in the subject serialNumber (2.5.4.5). The TLS listener
// has verified the chain to the service's anchors; here the certificate must also chain to a CA
// trusted to assert SSINs (the reader CAs), or any institution CA could mint anyone's identity.
import { EpostError } from '../errors/index.js';
import { isValidSsin } from '../identifiers/index.js';
import { fingerprintOf, readPemDirectory, validateCertificatePath, x509 } from '../pki/index.js';

export interface EboxReader {
  ssin: string;
  /** The certificate's common name, for display only. */
  name: string;
  certificateSubject: string;
  /** Lowercase hex SHA-256 of the DER certificate. */
  certificateFingerprint: string;
}

const SERIAL_NUMBER = '2.5.4.5';

/** The CAs trusted to assert SSINs, read once per directory and kept (they change with a restart). */
export class ReaderAuthorities {
  private constructor(private readonly cas: x509.X509Certificate[]) {}

  static fromDirectory(dir: string): ReaderAuthorities {
    return new ReaderAuthorities(readPemDirectory(dir));
  }

  /** The reader a verified TLS client certificate (DER) names; FailedAuthentication when it names none. */
  async identify(der: Buffer, at: Date): Promise<EboxReader> {
    let cert: x509.X509Certificate;
    try {
      cert = new x509.X509Certificate(new Uint8Array(der));
    } catch (err) {
      throw new EpostError('FailedAuthentication', 'The client certificate is not readable', err);
    }
    if (this.cas.length === 0) throw new EpostError('FailedAuthentication', 'No CA is configured to identify eBox readers');
    // Path to a reader CA (anchors here), with the same key-strength and validity rules as everywhere.
    await validateCertificatePath(cert, { anchors: this.cas, intermediates: [], at, what: 'reader', errorCode: 'FailedAuthentication' });
    const serials = cert.subjectName.getField(SERIAL_NUMBER);
    const ssin = serials.length === 1 ? serials[0]!.trim() : '';
    if (!isValidSsin(ssin)) {
      throw new EpostError('FailedAuthentication', 'The client certificate does not name a person by SSIN in its subject serialNumber');
    }
    return {
      ssin,
      name: (cert.subjectName.getField('CN')[0] ?? ssin).replace(/\s*\((Authentication|Signature)\)$/, ''),
      certificateSubject: cert.subject,
      certificateFingerprint: fingerprintOf(cert),
    };
  }
}
