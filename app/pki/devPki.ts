// The development PKI, generated on first start so that `npm start` needs nothing but Node:
// a root CA, a sender CA under it, two demo sender institutions, the ePost TLS server, the ePost
// sealing certificate and a timestamping authority whose only (critical) EKU is id-kp-timeStamping.
import fs from 'node:fs';
import path from 'node:path';
import { enterpriseNumberFrom } from '../identifiers/index.js';
import { issueCrl } from './crl.js';
import { issueCertificate, loadIssuer, x509, type IssuedCertificate, type KeySpec } from './issue.js';
import { pkiLayout, type PkiLayout } from './layout.js';
import { parseCrls } from './revocation.js';

export interface DemoSender {
  slug: string;
  name: string;
  enterpriseNumber: string;
  certFile: string;
  keyFile: string;
}

export interface DevPkiManifest {
  createdAt: string;
  rootCaCert: string;
  rootCaKey: string;
  senderCaCert: string;
  senderCaKey: string;
  senders: DemoSender[];
  /** The development security token service: it signs the SAML assertions of the tests (certs/service/sts.pem). */
  stsCert?: string;
  stsKey?: string;
}

const DEMO_SENDERS = [
  { slug: 'finance', name: 'FPS Finance (demo)', enterpriseNumber: enterpriseNumberFrom('03085143') },
  { slug: 'socialsecurity', name: 'National Social Security Office (demo)', enterpriseNumber: enterpriseNumberFrom('02063552') },
];

const YEAR = 365 * 24 * 3600 * 1000;

const P256: KeySpec = { kind: 'ec', curve: 'P-256' };

function writePem(file: string, pem: string, secret: boolean): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, pem, { mode: secret ? 0o600 : 0o644 });
}

function save(issued: IssuedCertificate, certFile: string, keyFile: string): void {
  writePem(certFile, issued.certPem, false);
  writePem(keyFile, issued.keyPem, true);
}

/**
 * Loads the development PKI's manifest, generating the whole PKI first if it does not exist, and
 * makes sure both development CAs have a current CRL (revocation is checked by default).
 */
export async function ensureDevPki(certsDir: string): Promise<DevPkiManifest> {
  const layout = pkiLayout(certsDir);
  const manifest = fs.existsSync(layout.devManifest)
    ? (JSON.parse(fs.readFileSync(layout.devManifest, 'utf8')) as DevPkiManifest)
    : await generateDevPki(layout);
  await ensureDevCrls(layout, manifest);
  await ensureDevSts(layout, manifest);
  return manifest;
}

/**
 * The development STS certificate, issued under the development root with keyUsage
 * digitalSignature only (it signs assertions, nothing else). A PKI generated before it existed
 * gets it on the next start; the manifest then names it.
 */
async function ensureDevSts(layout: PkiLayout, manifest: DevPkiManifest): Promise<void> {
  const stsCert = path.join(path.dirname(layout.sealingCert), 'sts.pem');
  const stsKey = path.join(path.dirname(layout.sealingKey), 'sts.key.pem');
  if (manifest.stsCert && fs.existsSync(manifest.stsCert) && manifest.stsKey && fs.existsSync(manifest.stsKey)) return;
  const now = Date.now();
  const root = await loadIssuer(fs.readFileSync(manifest.rootCaCert, 'utf8'), fs.readFileSync(manifest.rootCaKey, 'utf8'));
  const sts = await issueCertificate({
    subject: 'CN=ePost Development Security Token Service, O=ePost (development only), C=BE',
    issuer: root,
    keyUsages: x509.KeyUsageFlags.digitalSignature,
    notBefore: new Date(now - 24 * 3600 * 1000),
    notAfter: new Date(now + 5 * YEAR),
  });
  save(sts, stsCert, stsKey);
  manifest.stsCert = stsCert;
  manifest.stsKey = stsKey;
  fs.writeFileSync(layout.devManifest, JSON.stringify(manifest, null, 2));
}

/** A development CRL is renewed when it has less than this left. */
const CRL_RENEWAL_MARGIN = 30 * 24 * 3600 * 1000;

/**
 * Each development CA publishes a CRL under certs/crls/, valid for a year and renewed on start when
 * it nears its nextUpdate. A renewal keeps every entry of that CA's CRLs already in the directory,
 * so nothing revoked becomes valid again.
 */
async function ensureDevCrls(layout: PkiLayout, manifest: DevPkiManifest): Promise<void> {
  const cas = [
    { file: path.join(layout.crlsDir, 'dev-root-ca.crl.pem'), cert: manifest.rootCaCert, key: manifest.rootCaKey },
    { file: path.join(layout.crlsDir, 'dev-sender-ca.crl.pem'), cert: manifest.senderCaCert, key: manifest.senderCaKey },
  ];
  for (const ca of cas) {
    const now = Date.now();
    const existing = readCrlsOf(layout.crlsDir, ca.cert);
    const newest = existing.sort((a, b) => b.thisUpdate.getTime() - a.thisUpdate.getTime())[0];
    if (fs.existsSync(ca.file) && newest?.nextUpdate && newest.nextUpdate.getTime() - now > CRL_RENEWAL_MARGIN) continue;
    const issuer = await loadIssuer(fs.readFileSync(ca.cert, 'utf8'), fs.readFileSync(ca.key, 'utf8'));
    const revoked = new Map<string, { serialNumber: string; revocationDate: Date; reason?: x509.X509CrlReason }>();
    for (const crl of existing) {
      for (const entry of crl.entries) {
        revoked.set(entry.serialNumber, { serialNumber: entry.serialNumber, revocationDate: entry.revocationDate, ...(entry.reason !== undefined ? { reason: entry.reason } : {}) });
      }
    }
    const crl = await issueCrl({ issuer, revoked: [...revoked.values()], thisUpdate: new Date(now), nextUpdate: new Date(now + YEAR) });
    writePem(ca.file, crl.toString('pem'), false);
  }
}

/** The CRLs in `dir` whose issuer is the CA certificate in `caCertFile` (by name). */
function readCrlsOf(dir: string, caCertFile: string): x509.X509Crl[] {
  if (!fs.existsSync(dir)) return [];
  const caName = Buffer.from(new x509.X509Certificate(fs.readFileSync(caCertFile, 'utf8')).subjectName.toArrayBuffer());
  const out: x509.X509Crl[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => /\.(pem|crl|der)$/i.test(f))) {
    try {
      for (const crl of parseCrls(fs.readFileSync(path.join(dir, file)), file)) {
        if (Buffer.from(crl.issuerName.toArrayBuffer()).equals(caName)) out.push(crl);
      }
    } catch {
      // an unreadable file is reported by the CRL store; it holds nothing to keep here
    }
  }
  return out;
}

async function generateDevPki(layout: PkiLayout): Promise<DevPkiManifest> {
  const now = Date.now();
  const notBefore = new Date(now - 24 * 3600 * 1000);
  const dev = layout.devDir;
  const KU = x509.KeyUsageFlags;

  const root = await issueCertificate({
    subject: 'CN=ePost Development Root CA, O=ePost (development only), C=BE',
    ca: {},
    keyUsages: KU.keyCertSign | KU.cRLSign,
    notBefore,
    notAfter: new Date(now + 20 * YEAR),
  });
  const senderCa = await issueCertificate({
    subject: 'CN=ePost Development Sender CA, O=ePost (development only), C=BE',
    issuer: root,
    ca: { pathLength: 0 },
    keyUsages: KU.keyCertSign | KU.cRLSign,
    notBefore,
    notAfter: new Date(now + 10 * YEAR),
  });
  const tls = await issueCertificate({
    subject: 'CN=localhost, O=ePost (development only), C=BE',
    issuer: root,
    keyUsages: KU.digitalSignature | KU.keyEncipherment,
    extendedKeyUsages: [x509.ExtendedKeyUsage.serverAuth],
    subjectAltNames: [
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
    ],
    notBefore,
    notAfter: new Date(now + 2 * YEAR),
  });
  // The sealing and timestamping keys sign four times per registered mail: ECDSA P-256 signs about
  // ten times faster than RSA-2048. Production keys (files or PKCS#11) may be either; the sealer and
  // the TSA take the signature algorithm from the key.
  const sealing = await issueCertificate({
    subject: 'CN=ePost Development Sealing, O=ePost (development only), C=BE',
    issuer: root,
    key: P256,
    keyUsages: KU.digitalSignature | KU.nonRepudiation,
    notBefore,
    notAfter: new Date(now + 10 * YEAR),
  });
  const tsa = await issueCertificate({
    subject: 'CN=ePost Development Timestamping Authority, O=ePost (development only), C=BE',
    issuer: root,
    key: P256,
    keyUsages: KU.digitalSignature | KU.nonRepudiation,
    extendedKeyUsages: [x509.ExtendedKeyUsage.timeStamping],
    extendedKeyUsageCritical: true,
    notBefore,
    notAfter: new Date(now + 10 * YEAR),
  });

  const manifest: DevPkiManifest = {
    createdAt: new Date(now).toISOString(),
    rootCaCert: path.join(dev, 'root-ca.pem'),
    rootCaKey: path.join(dev, 'root-ca.key.pem'),
    senderCaCert: path.join(dev, 'sender-ca.pem'),
    senderCaKey: path.join(dev, 'sender-ca.key.pem'),
    senders: [],
  };
  save(root, manifest.rootCaCert, manifest.rootCaKey);
  save(senderCa, manifest.senderCaCert, manifest.senderCaKey);
  writePem(path.join(layout.anchorsDir, 'dev-root-ca.pem'), root.certPem, false);
  writePem(path.join(layout.intermediatesDir, 'dev-sender-ca.pem'), senderCa.certPem, false);
  save(tls, layout.tlsCert, layout.tlsKey);
  save(sealing, layout.sealingCert, layout.sealingKey);
  save(tsa, layout.tsaCert, layout.tsaKey);

  for (const demo of DEMO_SENDERS) {
    const sender = await issueCertificate({
      subject: `CN=${demo.name} ePost sender, O=${demo.name}, 2.5.4.97=NTRBE-${demo.enterpriseNumber}, C=BE`,
      issuer: senderCa,
      keyUsages: KU.digitalSignature | KU.nonRepudiation,
      extendedKeyUsages: [x509.ExtendedKeyUsage.clientAuth],
      notBefore,
      notAfter: new Date(now + 2 * YEAR),
    });
    const certFile = path.join(dev, `sender-${demo.slug}.pem`);
    const keyFile = path.join(dev, `sender-${demo.slug}.key.pem`);
    save(sender, certFile, keyFile);
    manifest.senders.push({ ...demo, certFile, keyFile });
  }
  // The manifest is written last: its presence means the whole PKI exists.
  fs.writeFileSync(layout.devManifest, JSON.stringify(manifest, null, 2));
  return manifest;
}
