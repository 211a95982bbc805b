// SOAP 1.1 response and fault envelopes, built as DOM trees so every value is escaped by the serializer.
import { DOMImplementation, XMLSerializer, type Document as XmlDocument, type Element as XmlElement } from '@xmldom/xmldom';
import { EpostError, EPOST_NS, WSSE_NS, errorRegistry } from '../errors/index.js';

const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
/** Faults are read by people: a reason longer than this is cut. */
const MAX_REASON_CHARS = 2000;

export type DeliveryStatus = 'SUBMITTED' | 'DELIVERED' | 'READ' | 'FAILED';
const STATUSES: readonly DeliveryStatus[] = ['SUBMITTED', 'DELIVERED', 'READ', 'FAILED'];

/** A new envelope with an empty Body; `prefixes` are declared on the Envelope (QName values need them in scope). */
function envelope(prefixes: Record<string, string>): { doc: XmlDocument; body: XmlElement } {
  const doc = new DOMImplementation().createDocument(SOAP11_NS, 'soap:Envelope', null);
  const root = doc.documentElement!;
  for (const [prefix, ns] of Object.entries(prefixes)) root.setAttributeNS(XMLNS_NS, `xmlns:${prefix}`, ns);
  const body = doc.createElementNS(SOAP11_NS, 'soap:Body');
  root.appendChild(body);
  return { doc, body };
}

function child(parent: XmlElement, ns: string | null, qualifiedName: string, text?: string): XmlElement {
  const doc = parent.ownerDocument!;
  const el = doc.createElementNS(ns, qualifiedName);
  if (text !== undefined) el.appendChild(doc.createTextNode(text));
  parent.appendChild(el);
  return el;
}

function serialize(doc: XmlDocument): string {
  return XML_DECLARATION + new XMLSerializer().serializeToString(doc);
}

export function renderSendRegisteredMailResponse(r: { registeredMailId: string; submissionTime: Date; sendProof: Buffer }): string {
  const { doc, body } = envelope({ epost: EPOST_NS });
  const response = child(body, EPOST_NS, 'epost:SendRegisteredMailResponse');
  child(response, EPOST_NS, 'epost:RegisteredMailId', r.registeredMailId);
  child(response, EPOST_NS, 'epost:SubmissionTime', r.submissionTime.toISOString()); // always UTC with Z
  child(response, EPOST_NS, 'epost:SendProof', r.sendProof.toString('base64'));
  return serialize(doc);
}

/** `evidence`: every evidence of the mail in order (SendProof and DeliveryProof are kept for existing clients). */
export function renderGetProofOfDeliveryResponse(r: {
  status: DeliveryStatus;
  sendProof: Buffer;
  deliveryProof?: Buffer;
  evidence?: Buffer[];
  /** RFC 6962 inclusion proofs (JSON bytes) of the evidences' log records, by evidence id. */
  inclusionProofs?: { evidenceId: string; proof: Buffer }[];
}): string {
  if (!STATUSES.includes(r.status)) throw new TypeError(`Unknown delivery status ${String(r.status)}`);
  const { doc, body } = envelope({ epost: EPOST_NS });
  const response = child(body, EPOST_NS, 'epost:GetProofOfDeliveryResponse');
  child(response, EPOST_NS, 'epost:Status', r.status);
  child(response, EPOST_NS, 'epost:SendProof', r.sendProof.toString('base64'));
  if (r.deliveryProof) child(response, EPOST_NS, 'epost:DeliveryProof', r.deliveryProof.toString('base64'));
  for (const evidence of r.evidence ?? []) child(response, EPOST_NS, 'epost:Evidence', evidence.toString('base64'));
  for (const { evidenceId, proof } of r.inclusionProofs ?? []) {
    child(response, EPOST_NS, 'epost:LogInclusionProof', proof.toString('base64')).setAttribute('EvidenceId', evidenceId);
  }
  return serialize(doc);
}

/**
 * The reason as it may travel: characters XML 1.0 cannot carry become '?' (not U+FFFD, which strict
 * parsers such as xmldom report as an encoding problem), line breaks become spaces,
 * and anything after a stack-trace line is dropped in case a caller passed one in a message.
 */
function safeReason(message: string): string {
  const beforeStack = message.split(/\r?\n\s*at\s/)[0] ?? '';
  // eslint-disable-next-line no-control-regex
  let reason = beforeStack.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '?');
  reason = reason.replace(/[\r\n\t]+/g, ' ').trim();
  if (reason.length > MAX_REASON_CHARS) reason = `${reason.slice(0, MAX_REASON_CHARS)}...`;
  return reason || 'The request was refused';
}

/** SOAP 1.1 Fault envelope: faultcode wsse:X or epost:X (registry in app/errors), faultstring = the reason, detail/epost:FaultDetail with Code and Retryable. */
/** `rejectionEvidence`: the sealed SubmissionRejection evidence of a refused send, when one was produced. */
export function renderFault(error: EpostError, rejectionEvidence?: Buffer): string {
  const definition = errorRegistry[error.code];
  if (!definition) throw new TypeError(`Unknown error code ${String(error.code)}`);
  const prefixes: Record<string, string> = definition.namespace === 'wsse' ? { wsse: WSSE_NS, epost: EPOST_NS } : { epost: EPOST_NS };
  const { doc, body } = envelope(prefixes);
  const fault = child(body, SOAP11_NS, 'soap:Fault');
  // SOAP 1.1 fault children are unqualified.
  child(fault, null, 'faultcode', `${definition.namespace}:${error.code}`);
  child(fault, null, 'faultstring', safeReason(error.message));
  const detail = child(fault, null, 'detail');
  const faultDetail = child(detail, EPOST_NS, 'epost:FaultDetail');
  child(faultDetail, EPOST_NS, 'epost:Code', error.code);
  child(faultDetail, EPOST_NS, 'epost:Retryable', String(definition.retryable));
  if (rejectionEvidence) child(faultDetail, EPOST_NS, 'epost:RejectionEvidence', rejectionEvidence.toString('base64'));
  return serialize(doc);
}
