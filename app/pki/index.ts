// The PKI folder's public surface: certificate and CRL issuance (development and tests), the
// development PKI, the certificate file layout, the one RFC 5280 path validator (with CRL revocation)
// and the sender trust store built on it.
export { issueCertificate, generateKeys, loadIssuer, RSA_2048, x509 } from './issue.js';
export type { IssuedCertificate, IssueOptions, KeySpec } from './issue.js';
export { issueCrl } from './crl.js';
export type { IssueCrlOptions, RevokedEntry } from './crl.js';
export { ensureDevPki } from './devPki.js';
export type { DevPkiManifest, DemoSender } from './devPki.js';
export { pkiLayout } from './layout.js';
export type { PkiLayout } from './layout.js';
export { assertStrongKey, fingerprintOf, parsePemCertificates, pemFilesIn, readPemDirectory, readPemTexts, sameCertificate } from './certificates.js';
export { validateCertificatePath, validatePath } from './pathValidation.js';
export type { CertificatePurpose, PathValidationOptions, RevocationPolicy, ValidatedPath } from './pathValidation.js';
export { CrlStore, parseCrls, REVOCATION_MODES } from './revocation.js';
export type { CrlStoreOptions, RevocationMode, RevocationStatus } from './revocation.js';
export { TrustStore } from './trustStore.js';
export type { DirectoryTrustOptions, TrustStoreOptions } from './trustStore.js';
