// The PKI folder's public surface: certificate issuance (development and tests), the development
// PKI, the certificate file layout and the sender trust store.
export { issueCertificate, generateKeys, RSA_2048, x509 } from './issue.js';
export type { IssuedCertificate, IssueOptions, KeySpec } from './issue.js';
export { ensureDevPki } from './devPki.js';
export type { DevPkiManifest, DemoSender } from './devPki.js';
export { pkiLayout } from './layout.js';
export type { PkiLayout } from './layout.js';
export { TrustStore, checkKeyStrength, readPemDirectory } from './trustStore.js';
