// The development PKI, generated on first start so that `npm start` needs nothing but Node:
// a root CA, a sender CA under it, two demo sender institutions, the ePost TLS server, the ePost
// sealing certificate and a timestamping authority whose only (critical) EKU is id-kp-timeStamping.
import fs from 'node:fs';
import path from 'node:path';
import { enterpriseNumberFrom } from '../identifiers/index.js';
import { issueCertificate, x509, type IssuedCertificate } from './issue.js';
import { pkiLayout, type PkiLayout } from './layout.js';

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
}

const DEMO_SENDERS = [
  { slug: 'finance', name: 'FPS Finance (demo)', enterpriseNumber: enterpriseNumberFrom('03085143') },
  { slug: 'socialsecurity', name: 'National Social Security Office (demo)', enterpriseNumber: enterpriseNumberFrom('02063552') },
];

const YEAR = 365 * 24 * 3600 * 1000;

function writePem(file: string, pem: string, secret: boolean): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, pem, { mode: secret ? 0o600 : 0o644 });
}

function save(issued: IssuedCertificate, certFile: string, keyFile: string): void {
  writePem(certFile, issued.certPem, false);
  writePem(keyFile, issued.keyPem, true);
}

/** Loads the development PKI's manifest, generating the whole PKI first if it does not exist. */
export async function ensureDevPki(certsDir: string): Promise<DevPkiManifest> {
  const layout = pkiLayout(certsDir);
  if (fs.existsSync(layout.devManifest)) {
    return JSON.parse(fs.readFileSync(layout.devManifest, 'utf8')) as DevPkiManifest;
  }
  return generateDevPki(layout);
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
  const sealing = await issueCertificate({
    subject: 'CN=ePost Development Sealing, O=ePost (development only), C=BE',
    issuer: root,
    keyUsages: KU.digitalSignature | KU.nonRepudiation,
    notBefore,
    notAfter: new Date(now + 10 * YEAR),
  });
  const tsa = await issueCertificate({
    subject: 'CN=ePost Development Timestamping Authority, O=ePost (development only), C=BE',
    issuer: root,
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
