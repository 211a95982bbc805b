// The whole suite again, against PostgreSQL (each test service on a fresh database of the server at
// EPOST_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test). Where no server answers, it
// says so in one line and skips, so `npm test` still passes on a machine without PostgreSQL.
import { spawn } from 'node:child_process';
import knexModule from 'knex';

const url = process.env.EPOST_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const probe = knexModule({ client: 'pg', connection: { connectionString: url, connectionTimeoutMillis: 3000 }, pool: { min: 0, max: 1 } });
let reachable = false;
try {
  await probe.raw('select 1');
  reachable = true;
} catch (err) {
  console.log(`PostgreSQL not reachable at ${url} (${(err as Error).message}): skipping the PostgreSQL run of the suite.`);
} finally {
  await probe.destroy();
}

if (reachable) {
  console.log(`\nRunning the whole suite again against PostgreSQL at ${url}\n`);
  const mocha = spawn(process.execPath, ['node_modules/mocha/bin/mocha.js', ...(process.argv.slice(2).length ? process.argv.slice(2) : ['test/**/*.test.ts'])], {
    stdio: 'inherit',
    env: { ...process.env, EPOST_TEST_BACKEND: 'postgres' },
  });
  mocha.on('close', (code) => process.exit(code ?? 1));
}
