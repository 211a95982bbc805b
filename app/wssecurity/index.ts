// The WS-Security folder's public surface: the gate that verifies inbound signed SOAP requests, its
// refusals (with the credential presented), the two-way TLS check, and the matching request signer
// (used by the client, the scripts and the tests).
export { SOAP11_NS, WSSE_NS, WSU_NS, DSIG_NS } from './namespaces.js';
export { signRequest } from './signer.js';
export type { SignRequestOptions } from './signer.js';
export { verifyRequest } from './gate.js';
export type { GateOptions, VerifiedRequest } from './gate.js';
export { CBE_NUMBER_ATTRIBUTE, samlIssuersFrom } from './saml.js';
export type { SamlIssuer, SamlOrganisation } from './saml.js';
export { DEFAULT_XML_LIMITS, checkXmlLimits, decodeRequestBody, xmlLimitsFrom } from './parse.js';
export type { XmlLimits } from './parse.js';
export { GateRefusal, presentedCredentialOf } from './refusal.js';
export type { PresentedCredential } from './refusal.js';
export { assertTlsClientIsSigner } from './mutualTls.js';
// The strict XML-DSig profile lives in app/xmldsig; re-exported for existing importers.
export { SIGNATURE_ALGORITHMS, StrictSignedXml } from '../xmldsig/index.js';
export type { SignatureAlgorithmName } from '../xmldsig/index.js';
