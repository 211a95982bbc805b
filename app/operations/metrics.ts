// Prometheus metrics of one service instance (its own registry, so several instances in one
// process, as in the tests, do not mix their counts).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly soapRequests = new Counter({
    name: 'epost_soap_requests_total',
    help: 'SOAP requests by operation and outcome',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly faults = new Counter({
    name: 'epost_faults_total',
    help: 'SOAP faults returned, by fault code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'epost_request_duration_seconds',
    help: 'Time from reception to response of SOAP requests',
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'epost_requests_in_flight',
    help: 'SOAP requests being processed (the queue a graceful shutdown waits for)',
    registers: [this.registry],
  });
  readonly timestampTokens = new Counter({
    name: 'epost_timestamp_tokens_total',
    help: 'RFC 3161 timestamp tokens obtained (proofs and log tree heads)',
    registers: [this.registry],
  });
  private readonly certificatesNotAfter = new Map<string, Date>();
  readonly certificateExpiry = new Gauge({
    name: 'epost_certificate_expiry_seconds',
    help: 'Seconds until a service certificate expires (negative: expired), computed at scrape time',
    labelNames: ['certificate'] as const,
    registers: [this.registry],
    // Every worker reports the same certificates: across workers, the value is theirs, not a sum.
    aggregator: 'min',
    collect: () => {
      for (const [name, notAfter] of this.certificatesNotAfter) {
        this.certificateExpiry.set({ certificate: name }, Math.round((notAfter.getTime() - Date.now()) / 1000));
      }
    },
  });

  private queueProbes: Array<() => Promise<Record<string, number>>> = [];
  readonly queueDepth = new Gauge({
    name: 'epost_queue_depth',
    help: 'Work waiting, read from the database at scrape time: log records awaiting their sequence number, batch-channel mails awaiting a batch, batches awaiting their write or their pick-up',
    labelNames: ['queue'] as const,
    registers: [this.registry],
    // Every worker reads the same database: across workers, the value is the database's, not a sum.
    aggregator: 'max',
    collect: async () => {
      for (const probe of this.queueProbes) {
        for (const [queue, depth] of Object.entries(await probe())) this.queueDepth.set({ queue }, depth);
      }
    },
  });

  private commitStats: Array<() => { units: number; commits: number }> = [];
  private readonly reportedCommits = { units: 0, commits: 0 };
  readonly sendsCommitted: Counter = new Counter({
    name: 'epost_sends_committed_total',
    help: 'Registered mails whose send transaction committed durably',
    registers: [this.registry],
    collect: (): void => this.reportCommits('units', this.sendsCommitted),
  });
  readonly sendCommits: Counter = new Counter({
    name: 'epost_send_commits_total',
    help: 'Durable commits (fsyncs) those send transactions took: on SQLite, sends arriving together share one',
    registers: [this.registry],
    collect: (): void => this.reportCommits('commits', this.sendCommits),
  });

  private reportCommits(field: 'units' | 'commits', counter: Counter): void {
    const total = this.commitStats.reduce((sum, read) => sum + read()[field], 0);
    counter.inc(total - this.reportedCommits[field]);
    this.reportedCommits[field] = total;
  }

  /** The same count as the gauge, readable synchronously by the shutdown. */
  inFlightCount = 0;

  requestStarted(): void {
    this.inFlightCount++;
    this.inFlight.inc();
  }

  requestEnded(): void {
    this.inFlightCount--;
    this.inFlight.dec();
  }

  constructor(options: { processMetrics?: boolean } = {}) {
    // Process metrics (CPU, memory, event-loop lag) once per process: the production entry point.
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'epost_' });
  }

  /** Reports, at every scrape, the depths `probe` reads (queue name → items waiting). */
  watchQueues(probe: () => Promise<Record<string, number>>): void {
    this.queueProbes.push(probe);
  }

  /** Reports, at every scrape, the send transactions committed and the durable commits they took. */
  watchCommits(read: () => { units: number; commits: number }): void {
    this.commitStats.push(read);
  }

  /** Reports the time left on a certificate, by name, at every scrape. */
  watchCertificate(name: string, notAfter: Date): void {
    this.certificatesNotAfter.set(name, notAfter);
  }

  observeSoap(operation: string, outcome: 'accepted' | 'refused', faultCode: string | undefined, seconds: number): void {
    this.soapRequests.inc({ operation, outcome });
    if (faultCode) this.faults.inc({ code: faultCode });
    this.requestDuration.observe({ operation }, seconds);
  }
}
