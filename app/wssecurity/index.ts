// The WS-Security folder's public surface: the gate that verifies inbound signed SOAP requests and
// the matching request signer (used by the client, the scripts and the tests).
export { SOAP11_NS, WSSE_NS, WSU_NS, DSIG_NS } from './namespaces.js';
export { signRequest } from './signer.js';
export type { SignRequestOptions } from './signer.js';
export { verifyRequest } from './gate.js';
export type { GateOptions, VerifiedRequest } from './gate.js';
export { decodeRequestBody } from './parse.js';
export { SIGNATURE_ALGORITHMS, StrictSignedXml } from './algorithms.js';
export type { SignatureAlgorithmName } from './algorithms.js';
