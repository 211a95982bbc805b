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
    collect: () => {
      for (const [name, notAfter] of this.certificatesNotAfter) {
        this.certificateExpiry.set({ certificate: name }, Math.round((notAfter.getTime() - Date.now()) / 1000));
      }
    },
  });

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
