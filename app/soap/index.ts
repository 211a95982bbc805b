// The SOAP contract of RegisteredMailService (wsdl/RegisteredMail.wsdl + RegisteredMail.xsd): which operation
// a verified Body names, its typed and validated content, and the response and fault envelopes.
export { EPOST_NS, SOAP_ACTIONS, type OperationName, type SoapElement, operationOf, checkSoapAction } from './operations.js';
export {
  SHA256_DIGEST_METHOD,
  type Language,
  type SendRegisteredMailRequest,
  type ProofLookup,
  parseSendRegisteredMail,
  parseGetProofOfDelivery,
} from './requests.js';
export { type DeliveryStatus, renderSendRegisteredMailResponse, renderGetProofOfDeliveryResponse, renderFault } from './responses.js';
export { wsdlFor, WSDL_FILE, XSD_FILE } from './wsdl.js';
