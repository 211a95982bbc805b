// Metrics of the whole service when `npm start` runs several worker processes behind one port: a
// scrape lands on any worker, which asks the primary; the primary gathers every worker's registry
// (prom-client's AggregatorRegistry: counters and histograms summed, gauges as each declares) and
// answers. Without this, each scrape would see one worker's counts and totals would jump around.
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type Registry } from 'prom-client';

const REQUEST = 'epost:cluster-metrics-request';
const ANSWER = 'epost:cluster-metrics';
const TIMEOUT_MS = 5000;

interface ClusterMetricsMessage {
  type: string;
  id: string;
  text?: string;
  error?: string;
}

/** In the primary: answers workers' requests with the metrics of all workers together. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: ClusterMetricsMessage) => {
    if (message?.type !== REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: ANSWER, id: message.id, text }),
      (err: Error) => worker.send({ type: ANSWER, id: message.id, error: err.message }),
    );
  });
}

/**
 * In a worker: offers this worker's registry to the primary's aggregation and returns what a scrape
 * should serve, the metrics of every worker.
 */
export function clusterMetricsText(registry: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries(registry);
  new AggregatorRegistry(); // registers the worker's answer to the primary's collection requests
  const pending = new Map<string, { resolve(text: string): void; reject(err: Error): void }>();
  process.on('message', (message: ClusterMetricsMessage) => {
    if (message?.type !== ANSWER) return;
    const waiting = pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id);
    if (message.text !== undefined) waiting.resolve(message.text);
    else waiting.reject(new Error(message.error ?? 'no metrics from the primary'));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = randomUUID();
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('the primary did not answer with the cluster metrics in time'));
      }, TIMEOUT_MS);
      pending.set(id, {
        resolve: (text) => (clearTimeout(timer), resolve(text)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      });
      process.send!({ type: REQUEST, id });
    });
}
