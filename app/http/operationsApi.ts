// Operating the service: liveness, readiness (database, sealing key, timestamping authority) and
// Prometheus metrics; plus the in-flight count that a graceful shutdown waits for.
import express, { type Request, type Response } from 'express';
import type { Logger, Readiness, ServiceMetrics } from '../operations/index.js';

export interface EdgeOperations {
  metrics: ServiceMetrics;
  logger: Logger;
  readiness(): Promise<Readiness>;
  /** False once shutdown has begun: readiness then fails so a load balancer stops sending. */
  accepting(): boolean;
  /** What a scrape serves when this instance is one worker of several (all workers together); default: this instance's registry. */
  metricsText?: (() => Promise<string>) | undefined;
}

export function createOperationsRouter(ops: EdgeOperations): express.Router {
  const router = express.Router();
  router.get('/healthz', (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req: Request, res: Response) => {
    const readiness = ops.accepting() ? await ops.readiness() : { ready: false, checks: { shutdown: { ok: false, ms: 0, error: 'shutting down' } } };
    res.status(readiness.ready ? 200 : 503).json({ status: readiness.ready ? 'ready' : 'not ready', ...readiness });
  });
  router.get('/metrics', async (_req: Request, res: Response) => {
    try {
      const text = ops.metricsText ? await ops.metricsText() : await ops.metrics.registry.metrics();
      res.type(ops.metrics.registry.contentType).send(text);
    } catch (err) {
      ops.logger.warn(`metrics unavailable: ${(err as Error).message}`);
      res.status(503).type('application/problem+json').send(JSON.stringify({ type: 'about:blank', title: 'Metrics unavailable', status: 503, detail: 'The metrics of the service could not be gathered; retry later' }));
    }
  });
  return router;
}
