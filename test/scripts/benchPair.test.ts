// npm run bench:pair: the figures of two bench reports side by side, and a real pair run (a short
// section, this tree against its own HEAD, both at once) that leaves the comparison and no worktree.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../../app/config/index.js';
import { compareReports } from '../../scripts/benchPair.js';
import { run } from '../helpers/run.js';

const TSX_LOADER = pathToFileURL(path.join(projectRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')).href;
const benchPair = (args: string[]) => run(process.execPath, ['--import', TSX_LOADER, path.join(projectRoot, 'scripts', 'benchPair.ts'), ...args], { cwd: projectRoot, timeoutMs: 240_000 });
const worktrees = () => execFileSync('git', ['worktree', 'list', '--porcelain'], { cwd: projectRoot, encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('worktree '));

describe('npm run bench:pair', function () {
  it('puts the numeric figures both reports have side by side, with this ÷ base', () => {
    const base = { sections: { 'throughput-sqlite': { backend: 'sqlite', '3KB.c16.sendsPerSecond': 400, '3KB.c16.p99Ms': 80, '3KB.c64.sendsPerSecond': 0 }, 'cost-floor': { tsaTokenMicros: 100 } } };
    const current = { sections: { 'throughput-sqlite': { backend: 'sqlite', '3KB.c16.sendsPerSecond': 500, '3KB.c16.p99Ms': 60, '3KB.c64.sendsPerSecond': 10, '3KB.c32.sendsPerSecond': 450 } } };
    expect(compareReports(base, current)).to.deep.equal([
      { section: 'throughput-sqlite', figure: '3KB.c16.sendsPerSecond', base: 400, current: 500, ratio: 1.25 },
      { section: 'throughput-sqlite', figure: '3KB.c16.p99Ms', base: 80, current: 60, ratio: 0.75 },
      // A base of 0 has no ratio; a figure or section only one report has is left out.
      { section: 'throughput-sqlite', figure: '3KB.c64.sendsPerSecond', base: 0, current: 10, ratio: undefined },
    ]);
  });

  it('refuses to run without a revision, or with one that names no commit', async () => {
    const none = await benchPair([]);
    expect(none.status).to.equal(1);
    expect(none.stderr).to.match(/usage: npm run bench:pair -- <rev>/);
    const unknown = await benchPair(['no-such-revision-here']);
    expect(unknown.status).to.equal(1);
    expect(unknown.stderr).to.match(/"no-such-revision-here" names no commit of this repository/);
  });

  describe('in a git checkout', () => {
    before(function () {
      try {
        worktrees();
      } catch {
        console.log('      skipped: this checkout is not a git repository, and the base is checked out with git worktree');
        this.skip();
      }
    });

    it('runs both benches at once and writes the comparison, then removes the base worktree', async function () {
      this.timeout(240_000);
      const before = worktrees();
      const pair = await benchPair(['HEAD', '--only', 'cost-floor', '--iterations', '20']);
      expect(pair.status, pair.stderr + pair.stdout).to.equal(0);
      expect(pair.stdout).to.match(/^\[this\] cost-floor: /m);
      expect(pair.stdout).to.match(/^\[base\] cost-floor: /m);
      const file = /comparison written to (\S+)/.exec(pair.stdout)?.[1];
      expect(file, pair.stdout).to.be.a('string');
      const report = JSON.parse(fs.readFileSync(path.join(projectRoot, file!), 'utf8')) as { rows: Array<{ section: string; figure: string; base: number; current: number }> };
      expect(report.rows.map((r) => r.figure)).to.include.members(['ecdsaP256SignMicros', 'tsaTokenMicros', 'sqliteCommitWalFullMicros']);
      expect(report.rows.every((r) => r.section === 'cost-floor' && r.base > 0 && r.current > 0)).to.equal(true);
      expect(fs.existsSync(path.join(projectRoot, file!.replace(/\.json$/, '-base.json')))).to.equal(true);
      expect(worktrees()).to.deep.equal(before);
    });

    it('fails with the bench\'s own error when a bench fails, and still removes the base worktree', async function () {
      this.timeout(60_000);
      const before = worktrees();
      const pair = await benchPair(['HEAD', '--only', 'no-such-section']);
      expect(pair.status).to.equal(1);
      expect(pair.stderr).to.match(/no bench section "no-such-section"/);
      expect(pair.stderr).to.match(/error: the (this|base) bench ended with code 1/);
      expect(worktrees()).to.deep.equal(before);
    });
  });
});
