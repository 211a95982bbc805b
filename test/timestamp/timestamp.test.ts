import { expect } from 'chai';
import * as asn1js from 'asn1js';
import { AsnConvert } from '@peculiar/asn1-schema';
import { ContentInfo, SignedData, SigningTime, id_signingTime } from '@peculiar/asn1-cms';
import { TSTInfo } from '@peculiar/asn1-tsp';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EpostError } from '../../app/errors/index.js';
import { issueCertificate, x509, type IssuedCertificate } from '../../app/pki/issue.js';
import { BuiltInTimestampAuthority, EPOST_DEV_TSA_POLICY, verifyTimestampToken } from '../../app/timestamp/index.js';
import { makeTestPki, run, scratchDir, type TestPki } from './tools.js';

const sha256 = (data: string | Buffer): Buffer => createHash('sha256').update(data).digest();

async function expectRefused(promise: Promise<unknown>, code: string, reason: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(EpostError);
    expect((err as EpostError).code).to.equal(code);
    expect((err as EpostError).message).to.match(reason);
    return;
  }
  expect.fail('expected a refusal');
}

/** A self-signed root and a TSA under it, as someone outside the ePost PKI would make them. */
async function foreignTsa(key: { kind: 'rsa'; bits: number } | { kind: 'ec'; curve: 'P-256' } = { kind: 'rsa', bits: 2048 }): Promise<{ root: IssuedCertificate; tsa: IssuedCertificate }> {
  const KU = x509.KeyUsageFlags;
  const root = await issueCertificate({ subject: 'CN=Foreign Root', ca: {}, keyUsages: KU.keyCertSign | KU.cRLSign, key });
  const tsa = await issueCertificate({
    subject: 'CN=Foreign TSA',
    issuer: root,
    key,
    keyUsages: KU.digitalSignature,
    extendedKeyUsages: [x509.ExtendedKeyUsage.timeStamping],
    extendedKeyUsageCritical: true,
  });
  return { root, tsa };
}

describe('timestamp: built-in RFC 3161 authority', () => {
  let pki: TestPki;
  let tsa: BuiltInTimestampAuthority;
  let work: string;
  let rootFile: string;
  let tsaFile: string;

  before(async () => {
    pki = await makeTestPki('epost-tsa-');
    tsa = await BuiltInTimestampAuthority.fromPem(pki.read(pki.layout.tsaCert), pki.read(pki.layout.tsaKey));
    work = scratchDir('epost-tsa-work-');
    rootFile = pki.manifest.rootCaCert;
    tsaFile = pki.layout.tsaCert;
  });

  after(() => {
    fs.rmSync(pki.dir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  function opensslVerify(token: Buffer, imprint: Buffer, ca = rootFile, untrusted = tsaFile) {
    const tokenFile = path.join(work, `token-${imprint.toString('hex').slice(0, 8)}-${Date.now()}.der`);
    fs.writeFileSync(tokenFile, token);
    return run('openssl', ['ts', '-verify', '-digest', imprint.toString('hex'), '-in', tokenFile, '-token_in', '-CAfile', ca, '-untrusted', untrusted]);
  }

  it('issues a token that openssl ts -verify and verifyTimestampToken both accept', async () => {
    const imprint = sha256('registered mail 1');
    const before = Date.now();
    const token = await tsa.timestamp(imprint);

    const openssl = opensslVerify(token, imprint);
    expect(openssl.status, openssl.stderr).to.equal(0);
    expect(openssl.stdout).to.contain('Verification: OK');

    const verified = await verifyTimestampToken(token, imprint, [pki.rootCaPem]);
    expect(verified.policy).to.equal(EPOST_DEV_TSA_POLICY);
    expect(verified.tsaSubject).to.contain('ePost Development Timestamping Authority');
    expect(verified.serialNumber).to.match(/^[0-9a-f]{1,32}$/);
    expect(verified.genTime.getTime()).to.be.within(before, Date.now());
  });

  it('writes the RFC 3161 fields: version 1, policy, SHA-256 imprint, accuracy, ordering false, TSA name, ESS certificate v2', async () => {
    const imprint = sha256('fields');
    const token = await tsa.timestamp(imprint);
    const tokenFile = path.join(work, 'fields.der');
    fs.writeFileSync(tokenFile, token);
    const text = run('openssl', ['ts', '-reply', '-in', tokenFile, '-token_in', '-text']);
    expect(text.status, text.stderr).to.equal(0);
    expect(text.stdout).to.contain('Version: 1');
    expect(text.stdout).to.contain(`Policy OID: ${EPOST_DEV_TSA_POLICY}`);
    expect(text.stdout).to.contain('Hash Algorithm: sha256');
    expect(text.stdout).to.match(/Accuracy: 0x01 seconds/);
    expect(text.stdout).to.contain('Ordering: no');
    expect(text.stdout).to.contain('TSA: DirName:/CN=ePost Development Timestamping Authority');

    // The signed attributes, as OpenSSL's CMS parser sees them: the ESS attribute is v2 (SHA-256), never v1 (SHA-1).
    const cms = run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', tokenFile]);
    expect(cms.status, cms.stderr).to.equal(0);
    expect(cms.stdout).to.match(/id-smime-aa-signingCertificateV2|1\.2\.840\.113549\.1\.9\.16\.2\.47/);
    expect(cms.stdout).to.contain('signingTime');
    expect(cms.stdout).to.contain('messageDigest');
    expect(cms.stdout).to.match(/ecdsa-with-SHA256/); // the development TSA key is ECDSA P-256
    expect(cms.stdout).not.to.match(/sha1|md5/i);
  });

  it('gives every token a distinct serial and a genTime with milliseconds', async () => {
    const imprint = sha256('serials');
    const results = await Promise.all(Array.from({ length: 5 }, async () => verifyTimestampToken(await tsa.timestamp(imprint), imprint, [pki.rootCaPem])));
    expect(new Set(results.map((r) => r.serialNumber)).size).to.equal(5);
    // A millisecond fraction is written whenever it is non-zero; five zeros in a row would take a one-in-10^15 coincidence.
    expect(results.some((r) => r.genTime.getUTCMilliseconds() !== 0)).to.equal(true);
  });

  it('refuses a wrong imprint, in openssl and in verifyTimestampToken', async () => {
    const token = await tsa.timestamp(sha256('the real data'));
    const other = sha256('other data');
    const openssl = opensslVerify(token, other);
    expect(openssl.status).to.not.equal(0);
    expect(openssl.stdout + openssl.stderr).to.match(/message imprint mismatch/i);
    await expectRefused(verifyTimestampToken(token, other, [pki.rootCaPem]), 'FailedCheck', /imprint does not match/);
  });

  it('refuses a token whose signature or content was altered', async () => {
    const imprint = sha256('tamper');
    const token = await tsa.timestamp(imprint);
    const lastByte = Buffer.from(token);
    lastByte[lastByte.length - 1]! ^= 0x01; // inside the RSA signature value
    await expectRefused(verifyTimestampToken(lastByte, imprint, [pki.rootCaPem]), 'FailedCheck', /signature does not verify/);

    // Flip a byte of the TSA name inside TSTInfo: the messageDigest attribute no longer matches.
    const nameAt = token.indexOf(Buffer.from('ePost Development Timestamping Authority'));
    const renamed = Buffer.from(token);
    renamed[nameAt]! ^= 0x20;
    await expectRefused(verifyTimestampToken(renamed, imprint, [pki.rootCaPem]), 'FailedCheck', /messageDigest/);
    expect(opensslVerify(renamed, imprint).status).to.not.equal(0);
  });

  it('refuses a token from a TSA that does not chain to the trust anchors', async () => {
    const foreign = await foreignTsa();
    const other = await BuiltInTimestampAuthority.fromPem(foreign.tsa.certPem, foreign.tsa.keyPem);
    const imprint = sha256('foreign');
    const token = await other.timestamp(imprint);
    await expectRefused(verifyTimestampToken(token, imprint, [pki.rootCaPem]), 'FailedCheck', /does not chain to a trusted anchor/);
    const tsaPem = path.join(work, 'foreign-tsa.pem');
    fs.writeFileSync(tsaPem, foreign.tsa.certPem);
    expect(opensslVerify(token, imprint, rootFile, tsaPem).status).to.not.equal(0);
    // With its own root as anchor the same token is fine: the refusal above is about trust alone.
    await verifyTimestampToken(token, imprint, [foreign.root.certPem]);
  });

  // The development TSA key is ECDSA P-256 (the tests above); a production key may be RSA.
  it('signs with sha256WithRSAEncryption when the TSA key is RSA-2048, and openssl accepts it', async () => {
    const foreign = await foreignTsa({ kind: 'rsa', bits: 2048 });
    const rsaTsa = await BuiltInTimestampAuthority.fromPem(foreign.tsa.certPem, foreign.tsa.keyPem);
    const imprint = sha256('rsa');
    const token = await rsaTsa.timestamp(imprint);
    const rootPem = path.join(work, 'rsa-root.pem');
    const tsaPem = path.join(work, 'rsa-tsa.pem');
    const tokenFile = path.join(work, 'rsa-token.der');
    fs.writeFileSync(rootPem, foreign.root.certPem);
    fs.writeFileSync(tsaPem, foreign.tsa.certPem);
    fs.writeFileSync(tokenFile, token);
    const openssl = opensslVerify(token, imprint, rootPem, tsaPem);
    expect(openssl.status, openssl.stderr).to.equal(0);
    const cms = run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', tokenFile]);
    expect(cms.stdout).to.match(/sha256WithRSAEncryption/);
    await verifyTimestampToken(token, imprint, [foreign.root.certPem]);
  });

  it('will not run on a certificate without the single critical timeStamping usage, or with a key that is not its own', async () => {
    await expectRefused(
      BuiltInTimestampAuthority.fromPem(pki.read(pki.layout.sealingCert), pki.read(pki.layout.sealingKey)),
      'InvalidSecurityToken',
      /id-kp-timeStamping/,
    );
    await expectRefused(
      BuiltInTimestampAuthority.fromPem(pki.read(pki.layout.tsaCert), pki.read(pki.layout.sealingKey)),
      'InvalidSecurityToken',
      /does not belong/,
    );
  });

  // Tokens are filled into templates encoded for the lengths of their variable fields: a serial with
  // or without a leading zero, a genTime with 0 to 3 fraction digits, a signingTime that turns
  // GeneralizedTime in 2050, an ECDSA signature of 70 to 72 bytes. Every combination must still be DER.
  it('encodes every token as DER, whatever the lengths of its serial, genTime, signing time and signature', async () => {
    const second = Math.floor(Date.now() / 1000) * 1000;
    const times = [0, 10, 120, 123, 999].map((ms) => new Date(second + ms));
    let now = times[0]!;
    const pinned = await BuiltInTimestampAuthority.fromPem(pki.read(pki.layout.tsaCert), pki.read(pki.layout.tsaKey), [], { now: () => now });
    const isDer = (der: Buffer): boolean => {
      const parsed = asn1js.fromBER(der);
      return parsed.offset === der.length && Buffer.from(parsed.result.toBER(false)).equals(der);
    };
    const signatureLengths = new Set<number>();
    // The signing time is kept for the second it holds: a later second, a clock stepped back and 2050 must each get their own.
    for (const time of [...times, new Date(second + 1500), new Date(second - 1000), new Date('2050-06-01T12:00:00.5Z')]) {
      now = time;
      const serialLengths = new Set<number>();
      for (let i = 0; i < 64 && serialLengths.size < 2; i++) {
        const imprint = sha256(`lengths ${time.toISOString()} ${i}`);
        const token = await pinned.timestamp(imprint);
        const signedData = AsnConvert.parse(AsnConvert.parse(token, ContentInfo).content, SignedData);
        const tstInfoDer = Buffer.from(signedData.encapContentInfo.eContent!.single!.buffer);
        const tstInfo = AsnConvert.parse(tstInfoDer, TSTInfo);
        const signerInfo = signedData.signerInfos[0]!;
        // DER throughout: asn1js re-encodes each level to the very same bytes (minimal lengths).
        expect(isDer(token), `token at ${time.toISOString()}`).to.equal(true);
        expect(isDer(tstInfoDer), `TSTInfo at ${time.toISOString()}`).to.equal(true);
        expect(Buffer.from(AsnConvert.serialize(signedData)).equals(Buffer.from(AsnConvert.parse(token, ContentInfo).content)), 'SignedData re-encoded').to.equal(true);
        expect(tstInfo.genTime.getTime()).to.equal(time.getTime());
        const signingTime = signerInfo.signedAttrs!.find((a) => a.attrType === id_signingTime)!;
        expect(AsnConvert.parse(signingTime.attrValues[0]!, SigningTime).getTime().getTime(), 'signing time').to.equal(Math.floor(time.getTime() / 1000) * 1000);
        expect(Buffer.from(tstInfo.messageImprint.hashedMessage.buffer).equals(imprint)).to.equal(true);
        serialLengths.add(Buffer.from(tstInfo.serialNumber).length);
        signatureLengths.add(signerInfo.signature.byteLength);
        if (time.getUTCFullYear() < 2050 && i === 0) {
          const openssl = opensslVerify(token, imprint);
          expect(openssl.status, openssl.stderr).to.equal(0);
          expect((await verifyTimestampToken(token, imprint, [pki.rootCaPem])).genTime.getTime()).to.equal(time.getTime());
        }
      }
      expect([...serialLengths].sort(), `serial lengths at ${time.toISOString()}`).to.deep.equal([16, 17]);
    }
    expect(signatureLengths.size, 'ECDSA signatures of more than one length').to.be.greaterThan(1);
  });

  it('only stamps 32-byte SHA-256 imprints', async () => {
    await expectRefused(tsa.timestamp(Buffer.alloc(20)), 'InvalidRequest', /32-byte/);
  });
});
