// The SOAP service behind POST /soap/RegisteredMail: the WS-Security gate, then the operation named
// by the signed Body (never by the unsigned SOAPAction), then a response or a fault. Every request,
// accepted or refused, leaves a record in the request log.
import { senderForCertificate, senderForOrganisation, type AuthenticatedSender } from '../access/index.js';
import { REFUSED_REQUEST_CAP_BYTES } from '../audit/index.js';
import { asEpostError, describeForOperator, EpostError } from '../errors/index.js';
import { checkSoapAction, operationOf, renderFault, type OperationName } from '../soap/index.js';
import { assertTlsClientIsSigner, presentedCredentialOf, samlIssuersFrom, verifyRequest, xmlLimitsFrom, type VerifiedRequest } from '../wssecurity/index.js';
import type { ServiceContext } from './context.js';
import { getProofOfDelivery } from './getProofOfDelivery.js';
import { refuseReplay } from './replay.js';
import { sendRegisteredMail } from './sendRegisteredMail.js';
import { sealSubmissionRejection, storeSubmissionRejection, type SubmissionRejection } from './submissionRejection.js';

export interface SoapExchange {
  raw: Buffer;
  soapAction: string | undefined;
  receivedAt: Date;
  /** A refusal already decided at the HTTP edge (size, encoding); still logged like any other. */
  refusal?: EpostError | undefined;
  /** DER of the TLS client certificate, verified by the client-certificate listener; absent on the ordinary one. */
  tlsClientCertificate?: Buffer | undefined;
}

export interface SoapAnswer {
  /** 200 for a response, 500 for a fault (SOAP 1.1 over HTTP). */
  httpStatus: number;
  xml: string;
  fault?: EpostError;
  /** The operation of the signed Body, once known (metrics and operator logs). */
  operation?: OperationName;
}

export async function handleSoapRequest(ctx: ServiceContext, exchange: SoapExchange): Promise<SoapAnswer> {
  let verified: VerifiedRequest | undefined;
  let operation: OperationName | undefined;
  let sender: AuthenticatedSender | undefined;
  try {
    if (exchange.refusal) throw exchange.refusal;
    if (ctx.config.soapMutualTls === 'required' && !exchange.tlsClientCertificate) {
      throw new EpostError('InvalidSecurity', 'Two-way TLS is required: send over the client-certificate port with the signing certificate');
    }
    verified = await verifyRequest(exchange.raw, {
      now: exchange.receivedAt,
      maxTtlSeconds: ctx.config.timestampMaxTtlSeconds,
      clockSkewSeconds: ctx.config.clockSkewSeconds,
      maxRequestBytes: ctx.config.maxRequestBytes,
      trust: ctx.trust,
      xmlLimits: xmlLimitsFrom(ctx.config),
      samlIssuers: () => samlIssuersFrom(ctx.config),
    });
    if (ctx.config.soapMutualTls === 'required') assertTlsClientIsSigner(verified, exchange.tlsClientCertificate);
    operation = operationOf(verified.operation);
    checkSoapAction(exchange.soapAction, operation);
    await refuseReplay(ctx.db, verified);
    // A SAML holder-of-key sender is the organisation its STS assertion names; otherwise the certificate's registration decides.
    sender = verified.samlOrganisation
      ? await senderForOrganisation(ctx.db, verified.samlOrganisation.enterpriseNumber, verified.certificate.subject, verified.certificateFingerprintSha256)
      : await senderForCertificate(ctx.db, verified.certificateFingerprintSha256, verified.certificate.subject);
    const request = { raw: exchange.raw, receivedAt: exchange.receivedAt, verified, sender };
    const xml = operation === 'SendRegisteredMail' ? await sendRegisteredMail(ctx, request) : await getProofOfDelivery(ctx, request);
    return { httpStatus: 200, xml, operation };
  } catch (thrown) {
    const fault = asEpostError(thrown);
    if (fault.cause && fault.code === 'ServiceUnavailable') console.error(`request failed unexpectedly: ${describeForOperator(fault.cause)}`);
    const rejection =
      verified && sender && operation === 'SendRegisteredMail' && !fault.retryable
        ? await sealSubmissionRejection(ctx, { raw: exchange.raw, receivedAt: exchange.receivedAt, verified, sender, fault }).catch((err: unknown) => {
            console.error(`submission rejection evidence could not be produced: ${describeForOperator(err)}`);
            return undefined;
          })
        : undefined;
    const logged = await logRefusal(ctx, exchange, fault, verified, operation, sender, rejection);
    // Evidence leaves only once it is durably stored.
    return { httpStatus: 500, xml: renderFault(fault, logged ? rejection?.sealed : undefined), fault, ...(operation ? { operation } : {}) };
  }
}

/**
 * A refusal is a disturbance: recorded with what was presented, the fault and the (capped) request,
 * together with its rejection evidence if any. False when it could not be recorded.
 */
async function logRefusal(
  ctx: ServiceContext,
  exchange: SoapExchange,
  fault: EpostError,
  verified: VerifiedRequest | undefined,
  operation: OperationName | undefined,
  sender: AuthenticatedSender | undefined,
  rejection: SubmissionRejection | undefined,
): Promise<boolean> {
  // The gate names the certificate presented even when it refused to trust it.
  const presented = presentedCredentialOf(fault);
  try {
    await ctx.db.transaction(async (trx) => {
      if (rejection) await storeSubmissionRejection(trx, rejection);
      await ctx.audit.append(trx, {
        // Before the signed Body is known the operation is only 'a SOAP request'.
        operation: operation ?? 'SoapRequest',
        outcome: 'refused',
        at: exchange.receivedAt,
        responsible: sender?.enterpriseNumber,
        executor: verified?.certificate.subject ?? presented?.certificateSubject,
        executorFingerprint: verified?.certificateFingerprintSha256 ?? presented?.certificateFingerprintSha256,
        disturbance: { code: fault.code, reason: fault.message },
        evidenceId: rejection?.evidenceId,
        payload: exchange.raw,
        payloadCapBytes: REFUSED_REQUEST_CAP_BYTES,
      });
    });
    return true;
  } catch (err) {
    // The refusal stands even if the log is unavailable; the operator must see that it was not logged.
    console.error(`request log unavailable while refusing a request (${fault.code}): ${describeForOperator(err)}`);
    return false;
  }
}
