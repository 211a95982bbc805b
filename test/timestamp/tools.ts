// Runs the independent tools the proofs must satisfy (openssl, xmlsec1, python3 with lxml) and
// prepares the development PKI once per test file in a temporary directory.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDevPki, type DevPkiManifest } from '../../app/pki/devPki.js';
import { pkiLayout, type PkiLayout } from '../../app/pki/layout.js';

export interface ToolResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], cwd?: string): ToolResult {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface TestPki {
  dir: string;
  manifest: DevPkiManifest;
  layout: PkiLayout;
  rootCaPem: string;
  read(file: string): string;
}

export async function makeTestPki(prefix: string): Promise<TestPki> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const manifest = await ensureDevPki(dir);
  return {
    dir,
    manifest,
    layout: pkiLayout(dir),
    rootCaPem: fs.readFileSync(manifest.rootCaCert, 'utf8'),
    read: (file) => fs.readFileSync(file, 'utf8'),
  };
}

/** A fresh scratch directory for files handed to the tools. */
export function scratchDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
