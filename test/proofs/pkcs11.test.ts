// The sealing key in a hardware security module: a key pair generated inside a SoftHSM2 token
// (sensitive, never extractable), a certificate issued for its public key under the development
// root, and evidences sealed through PKCS#11 that xmlsec1 and verifyEvidence accept.
import { expect } from 'chai';
import { createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as graphene from 'graphene-pk11';
import { EpostError } from '../../app/errors/index.js';
import { x509 } from '../../app/pki/issue.js';
import { ProofSealer, pkcs11SealingKey, verifyEvidence, type Pkcs11SealingKey } from '../../app/proofs/index.js';
import { BuiltInTimestampAuthority } from '../../app/timestamp/index.js';
import { acceptanceFacts, devRootIssuer, makeTestPki, run, scratchDir, write, xmlsecVerify, type TestPki } from './fixtures.js';

const SOFTHSM_LIBRARY = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find((f) => fs.existsSync(f));
const TOKEN = 'epost-test';
const PIN = '4711';

const b64url = (b: Buffer): string => b.toString('base64url');

describe('proofs: the sealing key in a PKCS#11 token (SoftHSM2)', function () {
  this.timeout(120_000);
  let dir: string;
  let pki: TestPki;
  let work: string;
  let tsa: BuiltInTimestampAuthority;
  let mod: graphene.Module;
  let session: graphene.Session;
  const keys: Pkcs11SealingKey[] = [];
  const publicKeys: Partial<Record<'rsa' | 'ec', KeyObject>> = {};
  let slot: graphene.Slot;

  before(async function () {
    if (!SOFTHSM_LIBRARY || run('sh', ['-c', 'command -v softhsm2-util']).status !== 0) {
      console.log('      SoftHSM2 is not installed: the PKCS#11 sealing test is skipped (.ci/run installs softhsm2)');
      this.skip();
    }
    dir = scratchDir('epost-softhsm-');
    fs.mkdirSync(path.join(dir, 'tokens'));
    fs.writeFileSync(path.join(dir, 'softhsm2.conf'), `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    // Read by the library when it is initialised, here and in the sealing key.
    process.env.SOFTHSM2_CONF = path.join(dir, 'softhsm2.conf');
    const init = run('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', '123456']);
    expect(init.status, init.stderr).to.equal(0);

    mod = graphene.Module.load(SOFTHSM_LIBRARY!, 'SoftHSM (test)');
    mod.initialize();
    const slots = mod.getSlots(true);
    for (let i = 0; i < slots.length; i++) if (slots.items(i).getToken().label.trim() === TOKEN) slot = slots.items(i);
    session = slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
    session.login(PIN, graphene.UserType.USER);

    // Both key pairs are made now, then this session logs out: the refusals below need a token nobody is logged in to.
    publicKeys.rsa = generateInToken('rsa', 'sealing-rsa');
    publicKeys.ec = generateInToken('ec', 'sealing-ec');
    session.logout();
    session.close();

    pki = await makeTestPki('epost-softhsm-pki-');
    work = scratchDir('epost-softhsm-work-');
    tsa = await BuiltInTimestampAuthority.fromPem(pki.read(pki.layout.tsaCert), pki.read(pki.layout.tsaKey));
  });

  after(() => {
    for (const key of keys) key.close();
    try {
      mod?.finalize();
    } catch {
      // the sealing key's close() already finalized the shared library
    }
    for (const d of [dir, work, pki?.dir]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  /** Generates a key pair inside the token; only the public half ever comes out. */
  function generateInToken(kind: 'rsa' | 'ec', label: string): KeyObject {
    const privateTemplate = { token: true, private: true, sign: true, sensitive: true, extractable: false, label };
    if (kind === 'rsa') {
      const pair = session.generateKeyPair(
        graphene.KeyGenMechanism.RSA,
        { keyType: graphene.KeyType.RSA, token: true, verify: true, label, modulusBits: 2048, publicExponent: Buffer.from([1, 0, 1]) },
        { keyType: graphene.KeyType.RSA, ...privateTemplate },
      );
      const attrs = pair.publicKey.getAttribute({ modulus: null, publicExponent: null });
      return createPublicKey({ key: { kty: 'RSA', n: b64url(attrs.modulus!), e: b64url(attrs.publicExponent!) }, format: 'jwk' });
    }
    const pair = session.generateKeyPair(
      graphene.KeyGenMechanism.EC,
      { keyType: graphene.KeyType.EC, token: true, verify: true, label, paramsEC: graphene.NamedCurve.getByName('secp256r1').value },
      { keyType: graphene.KeyType.EC, ...privateTemplate },
    );
    // CKA_EC_POINT is a DER OCTET STRING around the uncompressed point 04 || X || Y.
    const point = pair.publicKey.getAttribute({ pointEC: null }).pointEC!.subarray(-65);
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33)) }, format: 'jwk' });
  }

  async function certificateFor(publicKey: KeyObject, subject: string): Promise<string> {
    const issuer = await devRootIssuer(pki);
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const algorithm = publicKey.asymmetricKeyType === 'rsa' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'ECDSA', namedCurve: 'P-256' };
    const cryptoKey = await webcrypto.subtle.importKey('spki', spki, algorithm, true, ['verify']);
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: '0badc0de01',
      subject,
      issuer: issuer.certificate.subject,
      notBefore: new Date(Date.now() - 3600_000),
      notAfter: new Date(Date.now() + 365 * 86400_000),
      publicKey: cryptoKey,
      signingKey: issuer.keys.privateKey,
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true),
        await x509.AuthorityKeyIdentifierExtension.create(issuer.certificate),
      ],
    });
    return certificate.toString('pem');
  }

  it('refuses a wrong PIN, a missing key and a key that is not the certificate\'s', async () => {
    const refusal = (fn: () => unknown): EpostError => {
      try {
        fn();
      } catch (err) {
        expect(err).to.be.instanceOf(EpostError);
        return err as EpostError;
      }
      return expect.fail('expected a refusal');
    };
    expect(refusal(() => pkcs11SealingKey({ module: SOFTHSM_LIBRARY!, tokenLabel: TOKEN, keyLabel: 'sealing-rsa', pin: '0000' })).message).to.match(/Cannot log in/);
    expect(refusal(() => pkcs11SealingKey({ module: SOFTHSM_LIBRARY!, tokenLabel: TOKEN, keyLabel: 'no-such-key', pin: PIN })).message).to.match(/holds 0 private keys/);
    expect(refusal(() => pkcs11SealingKey({ module: SOFTHSM_LIBRARY!, tokenLabel: 'no-such-token', keyLabel: 'sealing-rsa', pin: PIN })).message).to.match(/No PKCS#11 token/);
    const key = pkcs11SealingKey({ module: SOFTHSM_LIBRARY!, tokenLabel: TOKEN, keyLabel: 'sealing-rsa', pin: PIN });
    keys.push(key);
    let refused: unknown;
    try {
      await ProofSealer.withKey({ sealingCertPem: pki.read(pki.layout.sealingCert), key, tsa });
    } catch (err) {
      refused = err;
    }
    expect((refused as Error).message).to.match(/does not belong to the sealing certificate/);
  });

  for (const kind of ['rsa', 'ec'] as const) {
    it(`seals with a ${kind.toUpperCase()} key that never leaves the token; xmlsec1 and verifyEvidence accept the evidence`, async () => {
      const label = `sealing-${kind}`;
      const certPem = await certificateFor(publicKeys[kind]!, `CN=ePost HSM Sealing ${kind.toUpperCase()} (test)`);
      const key = pkcs11SealingKey({ module: SOFTHSM_LIBRARY!, tokenLabel: TOKEN, keyLabel: label, pin: PIN });
      keys.push(key);
      const sealer = await ProofSealer.withKey({ sealingCertPem: certPem, key, chainPems: [pki.rootCaPem], tsa });
      const sealed = await sealer.sealEvidence(acceptanceFacts());

      const xmlsec = xmlsecVerify(write(work, `${label}.xml`, sealed), pki.manifest.rootCaCert);
      expect(xmlsec.status, xmlsec.stderr).to.equal(0);
      const verified = await verifyEvidence(sealed, [pki.rootCaPem]);
      expect(verified.signerSubject).to.equal(`CN=ePost HSM Sealing ${kind.toUpperCase()} (test)`);
      expect(sealed.toString('utf8')).to.contain(kind === 'rsa' ? 'xmldsig-more#rsa-sha256' : 'xmldsig-more#ecdsa-sha256');

      // The private key is sensitive and was never extractable: the token will not hand it out.
      const inspector = slot.open(graphene.SessionFlag.SERIAL_SESSION); // logged in: the login state is the process's
      const privateKey = inspector.find({ class: graphene.ObjectClass.PRIVATE_KEY, label }).items(0).toType<graphene.PrivateKey>();
      expect(privateKey.getAttribute({ sensitive: null, extractable: null, neverExtractable: null, alwaysSensitive: null })).to.deep.equal({
        sensitive: true,
        extractable: false,
        neverExtractable: true,
        alwaysSensitive: true,
      });
      const secret = kind === 'rsa' ? { privateExponent: null } : { value: null };
      expect(() => privateKey.getAttribute(secret)).to.throw(/SENSITIVE|sensitive/);
      inspector.close();
    });
  }

});
