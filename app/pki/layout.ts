// Where ePost finds its certificates and keys under EPOST_CERTS_DIR. Production operators place
// their own files here; the development PKI fills the same places on first start.
import path from 'node:path';

export interface PkiLayout {
  /** Trust anchors for sender certificates and for ePost's own proofs (*.pem). */
  anchorsDir: string;
  /** Intermediate CA certificates offered for chain building (*.pem). */
  intermediatesDir: string;
  /** CRLs of the sender CAs (PEM or DER: *.pem, *.crl, *.der), checked per EPOST_REVOCATION. */
  crlsDir: string;
  tlsCert: string;
  tlsKey: string;
  /** The ePost sealing certificate and key: they sign every proof. */
  sealingCert: string;
  sealingKey: string;
  /** The built-in timestamping authority. */
  tsaCert: string;
  tsaKey: string;
  /** Development-only material: CA keys and the demo senders (never used in production). */
  devDir: string;
  devManifest: string;
}

export function pkiLayout(certsDir: string): PkiLayout {
  const service = path.join(certsDir, 'service');
  const devDir = path.join(certsDir, 'dev');
  return {
    anchorsDir: path.join(certsDir, 'anchors'),
    intermediatesDir: path.join(certsDir, 'intermediates'),
    crlsDir: path.join(certsDir, 'crls'),
    tlsCert: path.join(service, 'tls.pem'),
    tlsKey: path.join(service, 'tls.key.pem'),
    sealingCert: path.join(service, 'sealing.pem'),
    sealingKey: path.join(service, 'sealing.key.pem'),
    tsaCert: path.join(service, 'tsa.pem'),
    tsaKey: path.join(service, 'tsa.key.pem'),
    devDir,
    devManifest: path.join(devDir, 'manifest.json'),
  };
}
