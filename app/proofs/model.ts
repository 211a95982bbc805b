// The facts a proof attests, in the domain's words. Proof documents are built from these and only
// these; the XML shape is described by wsdl/Proof.xsd.

export const PROOF_NS = 'urn:epost:proof:v1';
/** Value of the Version attribute on both proof roots. */
export const PROOF_VERSION = '1';

export type ProofKind = 'SendProof' | 'DeliveryProof';

export interface ProofParty {
  enterpriseNumber: string;
  name: string;
  certificateSubject: string;
  /** Lowercase hex of the SHA-256 of the DER certificate. */
  certificateFingerprintSha256: string;
}

export interface ProofRecipient {
  kind: 'citizen' | 'enterprise';
  /** SSIN or enterprise number. */
  id: string;
}

export interface DocumentFacts {
  fileName: string;
  mimeType: string;
  size: number;
  /** Base64 SHA-256 of the document bytes. */
  digestSha256: string;
}

export interface SendProofData {
  proofId: string;
  registeredMailId: string;
  senderReference: string;
  submissionTime: Date;
  sender: ProofParty;
  recipient: ProofRecipient;
  subject: string;
  language?: 'fr' | 'nl' | 'de' | 'en';
  document: DocumentFacts;
  /** Base64 SHA-256 of the complete signed SOAP request as received. */
  requestDigestSha256: string;
}

export interface DeliveryProofData {
  proofId: string;
  registeredMailId: string;
  senderReference: string;
  deliveryTime: Date;
  sender: ProofParty;
  recipient: ProofRecipient;
  eBox: { kind: 'citizen' | 'enterprise'; ownerId: string; messageId: string };
  document: DocumentFacts;
  /** Base64 SHA-256 of the sealed send-proof bytes. */
  sendProof: { proofId: string; digestSha256: string };
}
