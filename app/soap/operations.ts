// Which operation a request names, and whether its SOAPAction header agrees. The operation is always
// taken from the signed Body element; the unsigned SOAPAction header may only confirm it.
import type { Element as XmlElement } from '@xmldom/xmldom';
import { EpostError, EPOST_NS } from '../errors/index.js';

export { EPOST_NS };

export const SOAP_ACTIONS = {
  SendRegisteredMail: 'urn:epost:registeredmail:v1/SendRegisteredMail',
  GetProofOfDelivery: 'urn:epost:registeredmail:v1/GetProofOfDelivery',
} as const;

export type OperationName = keyof typeof SOAP_ACTIONS;

/** The request element of each operation, in EPOST_NS. */
export const REQUEST_ELEMENTS: Readonly<Record<OperationName, string>> = {
  SendRegisteredMail: 'SendRegisteredMailRequest',
  GetProofOfDelivery: 'GetProofOfDeliveryRequest',
};

/**
 * An element as produced by @xmldom/xmldom. The lib "DOM" Element is accepted too, so callers may
 * use either typing for the same xmldom object.
 */
export type SoapElement = XmlElement | globalThis.Element;

/** Names are echoed in reasons: keep them short so a hostile name cannot bloat a fault. */
export function displayName(name: string | null | undefined): string {
  const value = name ?? '';
  return value.length > 64 ? `${value.slice(0, 64)}...` : value;
}

/** The operation named by a Body child element (namespace + local name), or throws EpostError('InvalidRequest'). */
export function operationOf(element: SoapElement): OperationName {
  const el = element as XmlElement;
  if (el.namespaceURI === EPOST_NS) {
    for (const [operation, localName] of Object.entries(REQUEST_ELEMENTS) as [OperationName, string][]) {
      if (el.localName === localName) return operation;
    }
  }
  throw new EpostError(
    'InvalidRequest',
    `The SOAP Body holds {${displayName(el.namespaceURI)}}${displayName(el.localName)}, which is not a request of RegisteredMailService ` +
      `(expected {${EPOST_NS}}SendRegisteredMailRequest or GetProofOfDeliveryRequest)`,
  );
}

/**
 * Checks a SOAPAction HTTP header (quoted or not; absent or empty is fine) against the operation of the
 * signed Body. A mismatch is treated as tampering (the header is outside the signature), hence InvalidSecurity.
 */
export function checkSoapAction(header: string | undefined, operation: OperationName): void {
  if (header === undefined) return;
  let action = header.trim();
  if (action.length >= 2 && action.startsWith('"') && action.endsWith('"')) action = action.slice(1, -1).trim();
  if (action === '') return;
  const expected = SOAP_ACTIONS[operation];
  if (action !== expected) {
    throw new EpostError(
      'InvalidSecurity',
      `The SOAPAction header "${displayName(action)}" does not match the signed request, which is ${operation} (SOAPAction "${expected}")`,
    );
  }
}
