// Independent verification of a sealed proof, with tools that share no code with ePost: xmlsec1 for
// the XML signature, lxml (Python) for the exclusive C14N of ds:SignatureValue, and `openssl ts`
// for the RFC 3161 token over it.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface IndependentVerdict {
  xmlsec1: { ok: boolean; output: string };
  openssl: { ok: boolean; output: string };
}

const EXTRACT_TIMESTAMP = `
import sys, base64
from lxml import etree
DS = 'http://www.w3.org/2000/09/xmldsig#'
XADES = 'http://uri.etsi.org/01903/v1.3.2#'
doc = etree.parse(sys.argv[1], etree.XMLParser(resolve_entities=False, no_network=True))
sv = doc.find('.//{%s}SignatureValue' % DS)
open(sys.argv[2], 'wb').write(etree.tostring(sv, method='c14n', exclusive=True))
token = doc.find('.//{%s}EncapsulatedTimeStamp' % XADES)
open(sys.argv[3], 'wb').write(base64.b64decode(token.text))
`;

export function verifyProofIndependently(proof: Buffer, rootCaFile: string, tsaCertFile: string): IndependentVerdict {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-verify-'));
  const proofFile = path.join(dir, 'proof.xml');
  fs.writeFileSync(proofFile, proof);
  const xmlsec = spawnSync('xmlsec1', ['--verify', '--trusted-pem', rootCaFile, proofFile], { encoding: 'utf8' });
  const c14nFile = path.join(dir, 'signature-value.c14n.xml');
  const tokenFile = path.join(dir, 'token.der');
  execFileSync('/usr/bin/python3', ['-c', EXTRACT_TIMESTAMP, proofFile, c14nFile, tokenFile]);
  const ts = spawnSync(
    'openssl',
    ['ts', '-verify', '-data', c14nFile, '-in', tokenFile, '-token_in', '-CAfile', rootCaFile, '-untrusted', tsaCertFile],
    { encoding: 'utf8' },
  );
  return {
    xmlsec1: { ok: xmlsec.status === 0, output: `${xmlsec.stdout}${xmlsec.stderr}` },
    openssl: { ok: ts.status === 0, output: `${ts.stdout}${ts.stderr}` },
  };
}
