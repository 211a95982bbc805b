// The facts an evidence attests, in the domain's words. Every event in a registered mail's life
// produces one evidence document, named by its ETSI EN 319 522 event; evidences are built from these
// facts only, and their XML shape is described by wsdl/Evidence.xsd.

export const EVIDENCE_NS = 'urn:epost:evidence:v1';
/** Value of the Version attribute of the Evidence root. */
export const EVIDENCE_VERSION = '1';
/** ETSI EN 319 522 event identifiers are this prefix followed by the event name. */
export const ETSI_EVENT_PREFIX = 'http://uri.etsi.org/19522/Event/';

/**
 * The events ePost attests. SubmissionAcceptance is the send-proof, ContentConsignment (delivered
 * into the eBox) the delivery proof; ContentHandover is the recipient's first opening of the
 * document; ContentHandoverFailure with reason code `Expired` is the mail's expiry in the eBox.
 */
export const EVIDENCE_EVENTS = [
  'SubmissionAcceptance',
  'SubmissionRejection',
  'ContentConsignment',
  'ContentConsignmentFailure',
  'ContentHandover',
  'ContentHandoverFailure',
] as const;
export type EvidenceEvent = (typeof EVIDENCE_EVENTS)[number];

/** Reason code of the ContentHandoverFailure that records the mail's expiry in the eBox. */
export const EXPIRY_REASON = 'Expired';

export function eventUri(event: EvidenceEvent): string {
  return `${ETSI_EVENT_PREFIX}${event}`;
}

export function isEvidenceEvent(value: string): value is EvidenceEvent {
  return (EVIDENCE_EVENTS as readonly string[]).includes(value);
}

/** In plain words, for the verifier's verdict and the PDF reproduction. */
export const EVENT_DESCRIPTIONS: Readonly<Record<EvidenceEvent, string>> = {
  SubmissionAcceptance: 'ePost accepted the registered mail from the sender',
  SubmissionRejection: 'ePost refused the submission',
  ContentConsignment: "the registered mail was delivered into the recipient's eBox",
  ContentConsignmentFailure: "the registered mail could not be delivered into the recipient's eBox",
  ContentHandover: 'the recipient opened the document for the first time',
  ContentHandoverFailure: 'the document was not handed over to the recipient',
};

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

export interface EBoxFacts {
  kind: 'citizen' | 'enterprise';
  ownerId: string;
  messageId: string;
}

/** The evidence an evidence follows: its id, event and the SHA-256 of its sealed bytes. */
export interface EvidenceLink {
  evidenceId: string;
  event: EvidenceEvent;
  /** Base64 SHA-256 of the sealed evidence bytes, exactly as issued. */
  digestSha256: string;
}

export interface EvidenceReason {
  /** A short code: an ePost error code (DigestMismatch, InvalidRecipient...) or Expired. */
  code: string;
  text: string;
}

export type Language = 'fr' | 'nl' | 'de' | 'en';

export interface EvidenceFacts {
  evidenceId: string;
  event: EvidenceEvent;
  /** When the event happened. */
  eventTime: Date;
  /** For a SubmissionRejection: an id given to the refused submission. */
  registeredMailId: string;
  /** Optional only for a SubmissionRejection (the refused request may not carry a valid one). */
  senderReference?: string;
  /** When ePost received the submission. */
  submissionTime: Date;
  sender: ProofParty;
  /** Recipient, subject and document are optional only for a SubmissionRejection. */
  recipient?: ProofRecipient;
  subject?: string;
  language?: Language;
  document?: DocumentFacts;
  /** Base64 SHA-256 of the complete signed SOAP request as received (submission events only). */
  requestDigestSha256?: string;
  /** The eBox the mail was delivered into (consignment and handover events). */
  eBox?: EBoxFacts;
  /** Every evidence but the first of a mail follows another. */
  previous?: EvidenceLink;
  /** Required for rejections and failures. */
  reasons?: EvidenceReason[];
}

type Presence = 'required' | 'optional' | 'absent';

export interface EventRule {
  /** Sender reference, recipient, subject and document. */
  mailFacts: Presence;
  requestDigest: Presence;
  eBox: Presence;
  reasons: Presence;
  /** Events this one may follow; empty for the first evidence of a mail. */
  follows: readonly EvidenceEvent[];
}

/** What each event must, may and must not carry, and what it follows (checked when building and verifying). */
export const EVENT_RULES: Readonly<Record<EvidenceEvent, EventRule>> = {
  SubmissionAcceptance: { mailFacts: 'required', requestDigest: 'required', eBox: 'absent', reasons: 'absent', follows: [] },
  SubmissionRejection: { mailFacts: 'optional', requestDigest: 'required', eBox: 'absent', reasons: 'required', follows: [] },
  ContentConsignment: { mailFacts: 'required', requestDigest: 'absent', eBox: 'required', reasons: 'absent', follows: ['SubmissionAcceptance'] },
  ContentConsignmentFailure: { mailFacts: 'required', requestDigest: 'absent', eBox: 'optional', reasons: 'required', follows: ['SubmissionAcceptance'] },
  ContentHandover: { mailFacts: 'required', requestDigest: 'absent', eBox: 'required', reasons: 'absent', follows: ['ContentConsignment'] },
  ContentHandoverFailure: { mailFacts: 'required', requestDigest: 'absent', eBox: 'required', reasons: 'required', follows: ['ContentConsignment'] },
};
