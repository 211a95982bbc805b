// The external RFC 3161 authority: `openssl ts -reply` behind a small HTTP wrapper on loopback plays
// the TSA. The wrapper can misbehave as a hostile or broken authority would: answer another query's
// nonce or imprint, sign with a certificate whose timeStamping EKU is not critical, refuse, answer
// with another media type, or not answer at all. Every child process runs asynchronously: the wrapper
// lives in this process and must keep serving while the client waits for it.
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { ContentInfo } from '@peculiar/asn1-cms';
import { PKIStatus, PKIStatusInfo, TimeStampReq, TimeStampResp } from '@peculiar/asn1-tsp';
import { EpostError } from '../../app/errors/index.js';
import { issueCertificate, x509, type IssuedCertificate } from '../../app/pki/issue.js';
import { ProofSealer, verifyEvidence } from '../../app/proofs/index.js';
import { ExternalTimestampAuthority, verifyTimestampToken } from '../../app/timestamp/index.js';
import { run } from '../helpers/run.js';
import { acceptanceFacts } from '../proofs/fixtures.js';
import { makeTestPki, scratchDir, type TestPki } from './tools.js';

type Mode = 'honest' | 'wrong-nonce' | 'wrong-imprint' | 'non-critical-eku' | 'wrong-media-type' | 'silent';

const POLICY = '1.2.3.4.1';
const OTHER_POLICY = '1.2.3.4.5';
const sha256 = (data: string | Buffer): Buffer => createHash('sha256').update(data).digest();

async function expectUnavailable(promise: Promise<unknown>, reason: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(EpostError);
    expect((err as EpostError).code).to.equal('ServiceUnavailable');
    expect((err as EpostError).message).to.match(reason);
    return;
  }
  expect.fail('expected a refusal');
}

async function must(command: string, args: string[]): Promise<void> {
  const result = await run(command, args);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
}

describe('timestamp: an external RFC 3161 authority (openssl ts -reply over HTTP)', function () {
  this.timeout(120_000);
  let dir: string;
  let root: IssuedCertificate;
  let server: http.Server;
  let url: string;
  let mode: Mode = 'honest';
  let queries = 0;

  function openSslConfig(name: string, cert: string, key: string, tsaName: boolean): string {
    const file = path.join(dir, `${name}.cnf`);
    fs.writeFileSync(
      file,
      [
        '[ tsa ]',
        `default_tsa = ${name}`,
        `[ ${name} ]`,
        `serial = ${path.join(dir, 'serial')}`,
        'crypto_device = builtin',
        `signer_cert = ${cert}`,
        `signer_key = ${key}`,
        'signer_digest = sha256',
        `default_policy = ${POLICY}`,
        `other_policies = ${OTHER_POLICY}`,
        'digests = sha256',
        'accuracy = secs:1',
        'ordering = no',
        `tsa_name = ${tsaName ? 'yes' : 'no'}`,
        'ess_cert_id_chain = no',
        'ess_cert_id_alg = sha256', // SigningCertificateV2: ePost refuses the SHA-1 ESS attribute
        '',
      ].join('\n'),
    );
    return file;
  }

  /** openssl's reply to a query, for the wrapper. */
  async function reply(query: Buffer): Promise<Buffer> {
    const n = ++queries;
    const queryFile = path.join(dir, `q${n}.tsq`);
    const replyFile = path.join(dir, `r${n}.tsr`);
    let asked = query;
    if (mode === 'wrong-nonce' || mode === 'wrong-imprint') {
      // The reply will be genuine, but for another query: a replayed or misrouted answer.
      const parsed = AsnConvert.parse(query, TimeStampReq);
      if (mode === 'wrong-nonce') parsed.nonce = new Uint8Array([0x01, ...randomBytes(7)]).buffer;
      else parsed.messageImprint.hashedMessage = new OctetString(sha256('another document'));
      asked = Buffer.from(AsnConvert.serialize(parsed));
    }
    fs.writeFileSync(queryFile, asked);
    const config = mode === 'non-critical-eku' ? path.join(dir, 'unnamed.cnf') : path.join(dir, 'good.cnf');
    await must('openssl', ['ts', '-reply', '-config', config, '-queryfile', queryFile, '-out', replyFile]);
    if (mode !== 'non-critical-eku') return fs.readFileSync(replyFile);

    // openssl ts -reply refuses a signer without the critical EKU, so the authority's TSTInfo is
    // signed again, as CMS with ESS signing-certificate-v2 (-cades), by such a certificate.
    const tokenFile = path.join(dir, `t${n}.der`);
    const tstInfoFile = path.join(dir, `i${n}.der`);
    const badTokenFile = path.join(dir, `b${n}.der`);
    await must('openssl', ['ts', '-reply', '-in', replyFile, '-token_out', '-out', tokenFile]);
    await must('openssl', ['cms', '-verify', '-noverify', '-inform', 'DER', '-in', tokenFile, '-out', tstInfoFile]);
    await must('openssl', [
      'cms', '-sign', '-binary', '-nodetach', '-cades', '-nosmimecap', '-md', 'sha256',
      '-econtent_type', '1.2.840.113549.1.9.16.1.4',
      '-in', tstInfoFile, '-signer', path.join(dir, 'loose.pem'), '-inkey', path.join(dir, 'loose.key.pem'),
      '-outform', 'DER', '-out', badTokenFile,
    ]);
    const response = new TimeStampResp({
      status: new PKIStatusInfo({ status: PKIStatus.granted }),
      timeStampToken: AsnConvert.parse(fs.readFileSync(badTokenFile), ContentInfo),
    });
    return Buffer.from(AsnConvert.serialize(response));
  }

  function authority(options: Partial<ConstructorParameters<typeof ExternalTimestampAuthority>[0]> = {}): ExternalTimestampAuthority {
    return new ExternalTimestampAuthority({ url, anchorsPem: [root.certPem], timeoutMs: 20_000, ...options });
  }

  before(async () => {
    dir = scratchDir('epost-external-tsa-');
    const KU = x509.KeyUsageFlags;
    root = await issueCertificate({ subject: 'CN=External TSA Root (test)', ca: {}, keyUsages: KU.keyCertSign | KU.cRLSign });
    const tsa = await issueCertificate({
      subject: 'CN=External TSA (test)',
      issuer: root,
      keyUsages: KU.digitalSignature,
      extendedKeyUsages: [x509.ExtendedKeyUsage.timeStamping],
      extendedKeyUsageCritical: true,
    });
    const loose = await issueCertificate({
      subject: 'CN=External TSA without critical EKU (test)',
      issuer: root,
      keyUsages: KU.digitalSignature,
      extendedKeyUsages: [x509.ExtendedKeyUsage.timeStamping],
      extendedKeyUsageCritical: false,
    });
    for (const [name, issued] of [['root', root], ['tsa', tsa], ['loose', loose]] as const) {
      fs.writeFileSync(path.join(dir, `${name}.pem`), issued.certPem);
      fs.writeFileSync(path.join(dir, `${name}.key.pem`), issued.keyPem, { mode: 0o600 });
    }
    fs.writeFileSync(path.join(dir, 'serial'), '01\n');
    openSslConfig('good', path.join(dir, 'tsa.pem'), path.join(dir, 'tsa.key.pem'), true);
    openSslConfig('unnamed', path.join(dir, 'tsa.pem'), path.join(dir, 'tsa.key.pem'), false);

    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (mode === 'silent') return; // holds the connection open, answers nothing
        if (req.method !== 'POST' || req.headers['content-type'] !== 'application/timestamp-query') {
          res.writeHead(415).end();
          return;
        }
        reply(Buffer.concat(chunks)).then(
          (body) => res.writeHead(200, { 'Content-Type': mode === 'wrong-media-type' ? 'text/html' : 'application/timestamp-reply' }).end(body),
          (err: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(err.message),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`;
  });

  afterEach(() => {
    mode = 'honest';
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('accepts an honest reply: the token verifies in openssl and in verifyTimestampToken, nonce echoed', async () => {
    const imprint = sha256('registered mail');
    const token = await authority().timestamp(imprint);
    const tokenFile = path.join(dir, 'honest.der');
    fs.writeFileSync(tokenFile, token);
    const openssl = await run('openssl', ['ts', '-verify', '-digest', imprint.toString('hex'), '-in', tokenFile, '-token_in', '-CAfile', path.join(dir, 'root.pem')]);
    expect(openssl.status, openssl.stderr).to.equal(0);
    const verified = await verifyTimestampToken(token, imprint, [root.certPem]);
    expect(verified.tsaSubject).to.equal('CN=External TSA (test)');
    expect(verified.policy).to.equal(POLICY);
    expect(verified.nonce).to.match(/^[0-9a-f]{16}$/);
  });

  it('asks for a configured policy and accepts it only under that policy', async () => {
    const token = await authority({ policy: OTHER_POLICY }).timestamp(sha256('policy'));
    expect((await verifyTimestampToken(token, sha256('policy'), [root.certPem])).policy).to.equal(OTHER_POLICY);
    await expectUnavailable(authority({ policy: '1.2.3.4.99' }).timestamp(sha256('policy')), /not granted \(status 2/);
  });

  it('seals an evidence that verifies with the ePost anchor and the external authority\'s', async () => {
    const pki: TestPki = await makeTestPki('epost-external-tsa-pki-');
    try {
      const sealer = await ProofSealer.fromPem({ sealingCertPem: pki.read(pki.layout.sealingCert), sealingKeyPem: pki.read(pki.layout.sealingKey), tsa: authority() });
      const sealed = await sealer.sealEvidence(acceptanceFacts());
      const verified = await verifyEvidence(sealed, [pki.rootCaPem, root.certPem]);
      expect(verified.timestamp.tsaSubject).to.equal('CN=External TSA (test)');
      let refused: unknown;
      try {
        await verifyEvidence(sealed, [pki.rootCaPem]);
      } catch (err) {
        refused = err;
      }
      expect((refused as Error).message, 'without the TSA anchor').to.match(/timestamping authority certificate does not chain/);
    } finally {
      fs.rmSync(pki.dir, { recursive: true, force: true });
    }
  });

  it('refuses a reply whose nonce is not the one sent', async () => {
    mode = 'wrong-nonce';
    await expectUnavailable(authority().timestamp(sha256('nonce')), /does not echo the nonce/);
  });

  it('refuses a reply whose message imprint is not the one sent', async () => {
    mode = 'wrong-imprint';
    await expectUnavailable(authority().timestamp(sha256('imprint')), /message imprint does not match/);
  });

  it('refuses a token signed by a certificate whose timeStamping EKU is not critical', async () => {
    mode = 'non-critical-eku';
    await expectUnavailable(authority().timestamp(sha256('eku')), /does not carry the single critical extended key usage id-kp-timeStamping/);
  });

  it('refuses a token from an authority that does not chain to the configured anchor', async () => {
    const other = await issueCertificate({ subject: 'CN=Some other root', ca: {}, keyUsages: x509.KeyUsageFlags.keyCertSign });
    await expectUnavailable(authority({ anchorsPem: [other.certPem] }).timestamp(sha256('anchor')), /does not chain to a trusted anchor/);
  });

  it('refuses a token whose time is outside the tolerance of our clock', async () => {
    const aheadOfUs = () => new Date(Date.now() - 10 * 60_000);
    await expectUnavailable(authority({ now: aheadOfUs, toleranceSeconds: 60 }).timestamp(sha256('clock')), /s away from ours \(tolerance 60 s\)/);
  });

  it('refuses a reply of another media type, and gives up on an authority that does not answer', async () => {
    mode = 'wrong-media-type';
    await expectUnavailable(authority().timestamp(sha256('type')), /media type "text\/html"/);
    mode = 'silent';
    await expectUnavailable(authority({ timeoutMs: 300 }).timestamp(sha256('silence')), /no reply within 300 ms/);
  });
});
