// RFC 3161 timestamping: the built-in authority, an external authority reached by URL, and the
// verification of timestamp tokens.
export { BuiltInTimestampAuthority, EPOST_DEV_TSA_POLICY, type TimestampAuthority, type TimestampAuthorityOptions } from './authority.js';
export { ExternalTimestampAuthority, type ExternalTimestampAuthorityOptions } from './external.js';
export { issuerSerialDer } from './ess.js';
export { timestampAuthorityFromConfig } from './fromConfig.js';
export { verifyTimestampToken, type VerifiedTimestamp } from './verify.js';
// Forwarded for existing importers; the one implementation is app/pki's.
export { assertStrongKey, parsePemCertificates, validateCertificatePath, type PathValidationOptions } from '../pki/index.js';
