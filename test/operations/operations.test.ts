// Operating the service: /metrics scraped and parsed by the Prometheus project's own text-format
// parser (python3-prometheus-client), /healthz and /readyz, and a graceful shutdown that lets an
// in-flight send finish.
import { expect } from 'chai';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import { SoapFault, type RegisteredMailSubmission } from '../../app/client/index.js';
import { ssinFrom } from '../../app/identifiers/index.js';
import { run } from '../helpers/run.js';
import { startTestService, type TestService } from '../helpers/service.js';

const PARSE_METRICS = `
import sys, json
from prometheus_client.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.setdefault(s.name, []).append({'labels': s.labels, 'value': s.value})
print(json.dumps(out))
`;

function get(service: TestService, path: string): Promise<{ status: number; body: string; type: string; etag?: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(new URL(path, service.baseUrl), { ca: service.rootCaPem }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']), etag: res.headers.etag }));
      })
      .on('error', reject);
  });
}

function mail(size = 64): RegisteredMailSubmission {
  return {
    senderReference: `ops-${randomUUID()}`,
    recipient: { kind: 'citizen', ssin: ssinFrom('850730033') },
    subject: 'Operations',
    document: { fileName: 'o.bin', mimeType: 'application/octet-stream', content: Buffer.alloc(size, 3) },
  };
}

describe('operations: metrics, health, readiness, graceful shutdown', function () {
  let service: TestService;
  before(async () => {
    service = await startTestService();
  });
  after(async () => service?.close());

  it('serves Prometheus metrics that the Prometheus text-format parser reads', async () => {
    await service.client().sendRegisteredMail(mail());
    await service.client().sendRegisteredMail({ ...mail(), recipient: { kind: 'citizen', ssin: '12345678901' } }).catch((e: unknown) => {
      if (!(e instanceof SoapFault)) throw e;
    });
    const scraped = await get(service, '/metrics');
    expect(scraped.status).to.equal(200);
    expect(scraped.type).to.match(/^text\/plain/);
    // No ETag computed over responses (express's default hashes every body with SHA-1).
    expect(scraped.etag).to.equal(undefined);
    const parsed = await run('/usr/bin/python3', ['-c', PARSE_METRICS], { input: scraped.body });
    expect(parsed.status, parsed.stderr).to.equal(0);
    const samples = JSON.parse(parsed.stdout) as Record<string, { labels: Record<string, string>; value: number }[]>;
    const value = (name: string, labels: Record<string, string>) =>
      samples[name]?.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('epost_soap_requests_total', { operation: 'SendRegisteredMail', outcome: 'accepted' })).to.be.at.least(1);
    expect(value('epost_faults_total', { code: 'InvalidRecipient' })).to.be.at.least(1);
    expect(value('epost_request_duration_seconds_count', { operation: 'SendRegisteredMail' })).to.be.at.least(2);
    expect(value('epost_timestamp_tokens_total', {})).to.be.at.least(2);
    // The accepted send committed; never more sends than commits can hold (grouped on SQLite, one each on PostgreSQL).
    expect(value('epost_sends_committed_total', {})).to.be.at.least(1);
    expect(value('epost_send_commits_total', {})).to.be.at.least(1).and.at.most(value('epost_sends_committed_total', {})!);
    expect(value('epost_requests_in_flight', {})).to.equal(0);
    expect(value('epost_certificate_expiry_seconds', { certificate: 'sealing' })).to.be.greaterThan(24 * 3600);
  });

  it('answers /healthz and /readyz with the database, sealing key and timestamping authority checked', async () => {
    expect((await get(service, '/healthz')).status).to.equal(200);
    const ready = await get(service, '/readyz');
    expect(ready.status, ready.body).to.equal(200);
    const body = JSON.parse(ready.body);
    expect(body.checks.database.ok).to.equal(true);
    expect(body.checks.sealing.ok).to.equal(true);
    expect(body.checks.timestamping.ok).to.equal(true);
  });

  it('finishes an in-flight send during a graceful shutdown, then refuses new connections', async () => {
    const own = await startTestService();
    const client = own.client();
    const submission = mail(4 * 1024 * 1024);
    const sending = client.sendRegisteredMail(submission);
    while (own.metrics.inFlightCount === 0) await new Promise((r) => setTimeout(r, 2));
    const closing = own.close();
    const sent = await sending;
    await closing;
    expect(sent.registeredMailId).to.match(/^[0-9a-f-]{36}$/);
    // A new connection: the client's pooled keep-alive one went with the server, and reusing it
    // before its close has been read would fail with ECONNRESET, which says nothing of the server.
    https.globalAgent.destroy();
    const error = await client.sendRegisteredMail(mail()).catch((e: unknown) => e as Error);
    expect(error).to.be.instanceOf(Error);
    expect((error as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');
  });
});
