// What the command-line scripts share: the connection to ePost and the sender identity.
import fs from 'node:fs';
import path from 'node:path';
import { SenderClient } from '../app/client/index.js';
import { loadConfig, projectRoot } from '../app/config/index.js';
import { pkiLayout } from '../app/pki/layout.js';

export interface ConnectionArgs {
  url?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  ca?: string | undefined;
}

export const connectionOptions = {
  url: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
} as const;

/** A client from --url/--cert/--key/--ca, defaulting to the local service and the development PKI. */
export function clientFrom(args: ConnectionArgs): SenderClient {
  const config = loadConfig();
  const layout = pkiLayout(config.certsDir);
  let cert = args.cert;
  let key = args.key;
  if (!cert || !key) {
    // Without --cert/--key: the first demo sender of the development PKI, as `npm start` prints.
    const manifestFile = layout.devManifest;
    if (!fs.existsSync(manifestFile)) fail('--cert and --key are required (no development PKI found)');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { senders: { certFile: string; keyFile: string }[] };
    cert ??= manifest.senders[0]!.certFile;
    key ??= manifest.senders[0]!.keyFile;
  }
  const caFiles = args.ca
    ? [args.ca]
    : fs.existsSync(layout.anchorsDir)
      ? fs.readdirSync(layout.anchorsDir).filter((f) => f.endsWith('.pem')).map((f) => path.join(layout.anchorsDir, f))
      : [];
  if (caFiles.length === 0) fail('--ca is required (no trust anchors under certs/anchors)');
  return new SenderClient({
    baseUrl: args.url ?? `https://localhost:${config.port}`,
    certificatePem: readFile(cert),
    privateKeyPem: readFile(key),
    tlsCaPem: caFiles.map(readFile),
  });
}

export function readFile(file: string): string {
  const resolved = path.resolve(process.cwd(), file);
  if (!fs.existsSync(resolved)) fail(`${file}: no such file`);
  return fs.readFileSync(resolved, 'utf8');
}

export function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(2);
}

/** Runs a script's main, printing a SOAP fault or error as one readable line. */
export function run(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    const e = err as { name?: string; faultCode?: string; reason?: string; message?: string; code?: string };
    if (e?.name === 'SoapFault') console.error(`ePost refused the request: ${e.faultCode}: ${e.reason}`);
    else if (e?.code === 'ECONNREFUSED') console.error('error: ePost is not reachable (is `npm start` running?)');
    else console.error(`error: ${e?.message ?? String(err)}`);
    process.exit(1);
  });
}

export { projectRoot };
