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
    res.type(ops.metrics.registry.contentType).send(await ops.metrics.registry.metrics());
  });
  return router;
}
