// One registry of coded errors (after fastify's lib/errors.js) and one error class carrying a code
// and a cause (after sigstore-js's BaseError). The HTTP edge maps these, and only these, to SOAP
// faults; anything else becomes ServiceUnavailable without leaking its message.

/** WS-Security 1.1 fault codes (OASIS WSS SOAP Message Security 1.1, section 12). */
export type WsSecurityFaultCode =
  | 'InvalidSecurity'
  | 'InvalidSecurityToken'
  | 'FailedAuthentication'
  | 'FailedCheck'
  | 'SecurityTokenUnavailable'
  | 'MessageExpired'
  | 'UnsupportedAlgorithm';

/** Business fault codes in the ePost namespace. */
export type EpostFaultCode =
  | 'InvalidRequest'
  | 'NotAuthorized'
  | 'InvalidRecipient'
  | 'DigestMismatch'
  | 'DocumentTooLarge'
  | 'DuplicateReference'
  | 'UnknownRegisteredMail'
  | 'ServiceUnavailable';

export type ErrorCode = WsSecurityFaultCode | EpostFaultCode;

export const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
export const EPOST_NS = 'urn:epost:registeredmail:v1';

interface ErrorDefinition {
  /** Namespace of the fault code QName. */
  namespace: 'wsse' | 'epost';
  /** Whether the same request may succeed when retried unchanged (with the same SenderReference). */
  retryable: boolean;
  /** HTTP status for the JSON/problem+json surfaces (SOAP faults always travel with 500, per SOAP 1.1). */
  httpStatus: number;
}

export const errorRegistry: Readonly<Record<ErrorCode, ErrorDefinition>> = {
  InvalidSecurity: { namespace: 'wsse', retryable: false, httpStatus: 400 },
  InvalidSecurityToken: { namespace: 'wsse', retryable: false, httpStatus: 401 },
  FailedAuthentication: { namespace: 'wsse', retryable: false, httpStatus: 401 },
  FailedCheck: { namespace: 'wsse', retryable: false, httpStatus: 400 },
  SecurityTokenUnavailable: { namespace: 'wsse', retryable: false, httpStatus: 401 },
  MessageExpired: { namespace: 'wsse', retryable: false, httpStatus: 400 },
  UnsupportedAlgorithm: { namespace: 'wsse', retryable: false, httpStatus: 400 },
  InvalidRequest: { namespace: 'epost', retryable: false, httpStatus: 400 },
  NotAuthorized: { namespace: 'epost', retryable: false, httpStatus: 403 },
  InvalidRecipient: { namespace: 'epost', retryable: false, httpStatus: 400 },
  DigestMismatch: { namespace: 'epost', retryable: false, httpStatus: 400 },
  DocumentTooLarge: { namespace: 'epost', retryable: false, httpStatus: 413 },
  DuplicateReference: { namespace: 'epost', retryable: false, httpStatus: 409 },
  UnknownRegisteredMail: { namespace: 'epost', retryable: false, httpStatus: 404 },
  ServiceUnavailable: { namespace: 'epost', retryable: true, httpStatus: 503 },
};

/** The only error type the service raises on purpose. `reason` is safe to show to the caller. */
export class EpostError extends Error {
  readonly code: ErrorCode;
  override readonly cause: unknown;

  constructor(code: ErrorCode, reason: string, cause?: unknown) {
    super(reason);
    this.name = 'EpostError';
    this.code = code;
    this.cause = cause;
  }

  get retryable(): boolean {
    return errorRegistry[this.code].retryable;
  }
}

/** Any thrown value as an EpostError: unexpected failures become ServiceUnavailable with a neutral reason. */
export function asEpostError(err: unknown): EpostError {
  if (err instanceof EpostError) return err;
  return new EpostError('ServiceUnavailable', 'The service could not process the request; retry later with the same SenderReference', err);
}

/** One bounded line about an unexpected error for the operator's log: never the payloads it may quote. */
export function describeForOperator(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  // Database drivers quote the whole statement, values included, before the reason: keep the reason.
  const reason = message.includes(' - ') ? message.slice(message.lastIndexOf(' - ') + 3) : message;
  return `${e?.name ?? 'Error'}${e?.code ? ` [${e.code}]` : ''}: ${reason.slice(0, 300)}`;
}
