// Namespace and identifier URIs of SOAP 1.1, WS-Security 1.0/1.1 (X.509 Token Profile) and XML-DSig.
import { WSSE_NS } from '../errors/index.js';

export { WSSE_NS };
export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';

/** The only canonicalisation and transform accepted: exclusive C14N without comments. */
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';

export const X509V3_VALUE_TYPE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3';
export const BASE64_ENCODING_TYPE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';

// SAML 2.0 and the WSS SAML Token Profile 1.1 (the assertion named from the signature's KeyInfo).
export const SAML2_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
export const WSSE11_NS = 'http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd';
export const SAML_V20_TOKEN_TYPE = 'http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0';
export const SAML_ID_VALUE_TYPE = 'http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLID';
export const HOLDER_OF_KEY = 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key';
