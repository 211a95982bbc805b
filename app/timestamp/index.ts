// The built-in RFC 3161 timestamping authority and the verification of timestamp tokens.
export { BuiltInTimestampAuthority, EPOST_DEV_TSA_POLICY, type TimestampAuthority, type TimestampAuthorityOptions } from './authority.js';
export { verifyTimestampToken, type VerifiedTimestamp } from './verify.js';
export { assertStrongKey, parsePemCertificates, validateCertificatePath, type PathValidationOptions } from './trust.js';
