/**
 * A separate process that reads the lake as any DuckDB client would, from the init SQL of
 * `npm run sql -- --print-init` (a file named by argv[2]): one read after another, `intervalMs`
 * (argv[3]) apart, it prints one JSON line with the rows and distinct keys of each dataset, or the
 * error of that read. For tests: it shows what another engine sees while the lake is written and
 * maintained.
 */
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const [initFile, every] = process.argv.slice(2);
const instance = await DuckDBInstance.create(':memory:');
const db = await instance.connect();
for (const statement of readFileSync(initFile!, 'utf8').split(';\n')) {
  if (statement.trim() && !statement.trim().startsWith('--')) await db.run(statement);
}
const sql = `SELECT (SELECT count(*) FROM prices)::INTEGER AS prices, (SELECT count(DISTINCT id) FROM prices)::INTEGER AS price_ids,
                    (SELECT coalesce(sum(ticks), 0) FROM candles_1m)::INTEGER AS ticks,
                    (SELECT count(*) FROM dead_letters)::INTEGER AS dead_letters,
                    (SELECT count(*) FROM trades)::INTEGER AS trades, (SELECT count(DISTINCT id) FROM trades)::INTEGER AS trade_ids`;
for (;;) {
  const started = Date.now();
  try {
    const row = (await db.runAndReadAll(sql)).getRowObjectsJS()[0];
    process.stdout.write(`${JSON.stringify({ ...row, started, ended: Date.now() })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: String(error).split('\n')[0], started, ended: Date.now() })}\n`);
  }
  await new Promise((resolve) => setTimeout(resolve, Number(every ?? 1000)));
}
