// npm run bench:pair -- <rev> [bench arguments]: the bench of this working tree and of commit <rev>,
// run at the same time, then their figures side by side with the ratio (this ÷ base).
//
// Why at the same time: this shared 2-core machine changes speed by up to 2× within minutes, so two
// runs one after the other compare the machine as much as the code. Run together, whatever else the
// machine does falls on both. Each has its own service and load generator and gets a share of the
// machine that need not be half: compare the server CPU per send, not the rates (an A/A pair gave
// 0.99 for the one and 0.73 for the other). A version that finishes first leaves the other's last
// levels alone on the machine; the end times are printed so that those levels can be told apart.
//
// <rev> is checked out into a temporary git worktree that uses this tree's node_modules (a warning
// says so when its package-lock.json differs), and removed afterwards.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../app/config/index.js';
import type { Figures } from './bench.js';

const TSX_LOADER = pathToFileURL(path.join(projectRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')).href;

/** The part of a bench result file that is compared. */
export interface BenchReport {
  sections: Record<string, Figures>;
}

export interface ComparedFigure {
  section: string;
  figure: string;
  base: number;
  current: number;
  /** current ÷ base, or undefined when the base is 0. */
  ratio: number | undefined;
}

/** The numeric figures both reports have, section by section, in the current report's order. */
export function compareReports(base: BenchReport, current: BenchReport): ComparedFigure[] {
  const rows: ComparedFigure[] = [];
  for (const [section, figures] of Object.entries(current.sections)) {
    const baseFigures = base.sections[section];
    if (!baseFigures) continue;
    for (const [figure, value] of Object.entries(figures)) {
      const baseValue = baseFigures[figure];
      if (typeof value !== 'number' || typeof baseValue !== 'number') continue;
      rows.push({ section, figure, base: baseValue, current: value, ratio: baseValue === 0 ? undefined : Number((value / baseValue).toFixed(3)) });
    }
  }
  return rows;
}

interface Run {
  label: string;
  /** The result file the bench wrote, from its own last lines. */
  resultFile: string;
  endedAt: Date;
}

/** Runs the bench in `cwd`, its output prefixed with `label`; resolves with the result file it wrote. */
function runBench(label: string, cwd: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, path.join(cwd, 'scripts', 'bench.ts'), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let resultFile: string | undefined;
    const relay = (stream: NodeJS.ReadableStream, out: NodeJS.WriteStream) => {
      let pending = '';
      stream.on('data', (chunk: Buffer) => {
        const lines = (pending + chunk.toString()).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          const written = /^results written to (\S+\.json)$/.exec(line);
          if (written) resultFile = path.resolve(cwd, written[1]!);
          out.write(`[${label}] ${line}\n`);
        }
      });
      stream.on('end', () => pending && out.write(`[${label}] ${pending}\n`));
    };
    relay(child.stdout, process.stdout);
    relay(child.stderr, process.stderr);
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0 || !resultFile) reject(new Error(`the ${label} bench ended with code ${code}${resultFile ? '' : ' and wrote no result file'}`));
      else resolve({ label, resultFile, endedAt: new Date() });
    });
  });
}

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8' }).trim();
}

async function main(): Promise<void> {
  const [rev, ...benchArgs] = process.argv.slice(2);
  if (!rev || rev.startsWith('-')) throw new Error('usage: npm run bench:pair -- <rev> [bench arguments, e.g. --only throughput-sqlite --levels 16 --sizes 3KB]');
  let commit: string;
  try {
    commit = git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  } catch {
    throw new Error(`"${rev}" names no commit of this repository`);
  }
  const worktree = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-bench-base-'));
  try {
    git(['worktree', 'add', '--detach', '--quiet', worktree, commit]);
  } catch (err) {
    fs.rmSync(worktree, { recursive: true, force: true });
    throw err;
  }
  try {
    fs.symlinkSync(path.join(projectRoot, 'node_modules'), path.join(worktree, 'node_modules'), 'dir');
    if (git(['diff', '--name-only', commit, '--', 'package-lock.json'])) {
      console.warn(`warning: package-lock.json differs at ${rev}; the base runs on this tree's node_modules`);
    }
    console.log(`bench of this tree and of ${rev} (${commit.slice(0, 12)}) at the same time: ${benchArgs.join(' ') || '(default sections)'}`);
    const started = new Date();
    // Both are waited for, even when one fails: the worktree must not go while the base still runs in it.
    const settled = await Promise.allSettled([runBench('this', projectRoot, benchArgs), runBench('base', worktree, benchArgs)]);
    const [current, base] = settled.map((outcome) => {
      if (outcome.status === 'rejected') throw outcome.reason;
      return outcome.value;
    }) as [Run, Run];
    const read = (run: Run) => JSON.parse(fs.readFileSync(run.resultFile, 'utf8')) as BenchReport;
    const rows = compareReports(read(base), read(current));

    console.log(`\nthis ÷ ${rev} (compare the server CPU per send: the two runs need not get equal shares of the machine, so their rates do not compare)`);
    // Named columns: the base comes first, and read unlabelled the order was easy to take the wrong way round.
    const line = (name: string, base: string, current: string, ratio: string) => `  ${name.padEnd(58)} ${base.padStart(12)} ${current.padStart(10)}  ${ratio}`;
    console.log(line('', rev.slice(0, 12), 'this', 'ratio'));
    for (const row of rows) console.log(line(`${row.section} ${row.figure}`, String(row.base), String(row.current), String(row.ratio ?? '—')));
    const seconds = (run: Run) => ((run.endedAt.getTime() - started.getTime()) / 1000).toFixed(0);
    console.log(`  ended after: this ${seconds(current)} s, base ${seconds(base)} s (the levels the later one ran after the other had ended ran alone: they do not compare)`);

    const outDir = path.join(projectRoot, 'bench-results');
    fs.mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, `pair-${started.toISOString().replace(/[:.]/g, '-')}.json`);
    const report = { at: started.toISOString(), base: { rev, commit, file: base.resultFile, endedAt: base.endedAt }, current: { file: current.resultFile, endedAt: current.endedAt }, arguments: benchArgs, rows };
    fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    // The base's result file lives in its worktree, which goes: keep a copy beside the comparison.
    fs.copyFileSync(base.resultFile, file.replace(/\.json$/, '-base.json'));
    console.log(`comparison written to ${path.relative(projectRoot, file)}`);
  } finally {
    git(['worktree', 'remove', '--force', worktree]);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
