// The HTTPS edge: TLS 1.2+ with a short cipher list, the SOAP endpoint and its WSDL, health.
// It turns bytes into a SoapExchange and answers; everything else happens further in.
import https from 'node:https';
import express, { type Request, type Response } from 'express';
import { describeForOperator } from '../errors/index.js';
import { handleSoapRequest } from '../registeredmail/soapService.js';
import type { ServiceContext } from '../registeredmail/context.js';
import { wsdlFor } from '../soap/index.js';
import { readBody } from './body.js';
import { problem, verifiedClientCertificate } from './edge.js';
import { createOperationsRouter, type EdgeOperations } from './operationsApi.js';
import { createLogApi, LOG_API_PATH } from './logApi.js';
import { createSenderProofsApi, SENDER_PROOFS_PATH } from './senderProofsApi.js';
import { eboxApiRouter } from './eboxApi.js';
import { eboxWebRouter } from './eboxWeb.js';
import { BATCH_API_PATH, createBatchApi } from './batchApi.js';

export const SOAP_PATH = '/soap/RegisteredMail';

/** Forward-secret AEAD suites only; TLS 1.3 suites are Node's defaults (all AEAD). */
export const TLS_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_AES_128_GCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export function createApp(ctx: ServiceContext, ops: EdgeOperations): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Express would hash every response body with SHA-1 for a weak ETag (no SHA-1 here, and a CPU
  // cost on every send); the one ETag a client needs, a batch's, is its SHA-256, set by batchApi.
  app.set('etag', false);

  app.get(SOAP_PATH, (req: Request, res: Response) => {
    if (!('wsdl' in req.query)) {
      problem(res, 400, 'WSDL only', `GET ${SOAP_PATH}?wsdl returns the service description; requests are POSTed`);
      return;
    }
    res.type('text/xml; charset=utf-8').send(wsdlFor(`https://${req.headers.host ?? `localhost:${ctx.config.port}`}`));
  });

  app.post(SOAP_PATH, async (req: Request, res: Response) => {
    const receivedAt = ctx.now();
    const started = performance.now();
    ops.metrics.requestStarted();
    res.once('close', () => ops.metrics.requestEnded());
    const { body, refusal } = await readBody(req, ctx.config.maxRequestBytes);
    const soapAction = req.headers.soapaction;
    const answer = await handleSoapRequest(ctx, {
      raw: body,
      soapAction: Array.isArray(soapAction) ? soapAction.join(',') : soapAction,
      receivedAt,
      refusal,
      tlsClientCertificate: verifiedClientCertificate(req),
    });
    if (refusal) res.set('Connection', 'close');
    res.status(answer.httpStatus).type('text/xml; charset=utf-8').send(answer.xml);
    const operation = answer.operation ?? 'unknown';
    ops.metrics.observeSoap(operation, answer.fault ? 'refused' : 'accepted', answer.fault?.code, (performance.now() - started) / 1000);
    ops.logger.info({ operation, outcome: answer.fault ? 'refused' : 'accepted', fault: answer.fault?.code, ms: Math.round(performance.now() - started) }, 'soap request');
  });

  app.use(LOG_API_PATH, createLogApi(ctx));
  app.use(SENDER_PROOFS_PATH, createSenderProofsApi(ctx));
  app.use(BATCH_API_PATH, createBatchApi(ctx));

  // eBox readers: the Message Registry API (/ebox/citizen/v2, /ebox/enterprise/v2), then the web reader (/ebox/).
  app.use(eboxApiRouter(ctx));
  app.use(eboxWebRouter(ctx));

  app.use(createOperationsRouter(ops));

  app.use((req: Request, res: Response) => {
    problem(res, 404, 'Not found', `Nothing is served at ${req.method} ${req.path}`);
  });
  // Express's own handler would print a stack trace to the caller.
  app.use((err: unknown, _req: Request, res: Response, _next: express.NextFunction) => {
    ops.logger.error(`unexpected error at the HTTP edge: ${describeForOperator(err)}`);
    problem(res, 500, 'Internal error', 'The service could not process the request; retry later');
  });
  return app;
}

export interface TlsMaterial {
  cert: string;
  key: string;
}

function tlsOptions(tls: TlsMaterial): https.ServerOptions {
  return { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS, honorCipherOrder: true };
}

export function createHttpsServer(tls: TlsMaterial, app: express.Express): https.Server {
  return https.createServer(tlsOptions(tls), app);
}

/**
 * The client-certificate listener: Node refuses the handshake unless the client presents a
 * certificate chaining to `clientCaPems` (the trust anchors and intermediates), so every request
 * that reaches the app here comes with a verified certificate.
 */
export function createMutualTlsServer(tls: TlsMaterial, clientCaPems: string[], app: express.Express): https.Server {
  return https.createServer({ ...tlsOptions(tls), requestCert: true, rejectUnauthorized: true, ca: clientCaPems }, app);
}
