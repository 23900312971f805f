// Runs DuckDB one-liners and dumps their id columns for compare.py.
// usage: node duckdb_dump.mjs JOBS.tsv   (run in the export folder; the
// script is copied next to the node_modules holding @duckdb/node-api)
// Each line of JOBS.tsv is DUMP_DIR <TAB> ID_COLUMNS <TAB> SQL; the id
// columns of the query's result go to DUMP_DIR/<column>.txt, one line per
// row, \N for NULL. CAST(... AS VARCHAR) renders a BIGINT exactly and a
// DOUBLE as DuckDB prints it, so a float id shows up as a difference.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
for (const job of readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l)) {
  const [dump, cols, sql] = job.split('\t');
  const inner = sql.trim().replace(/;$/, '');
  mkdirSync(dump, { recursive: true });
  const types = await c.runAndReadAll(`DESCRIBE ${inner}`);
  const typeOf = Object.fromEntries(types.getRows().map((r) => [r[0], r[1]]));
  for (const col of cols.split(',')) {
    const r = await c.runAndReadAll(`SELECT CAST("${col}" AS VARCHAR) FROM (${inner})`);
    const lines = r.getRows().map((row) => (row[0] === null ? '\\N' : row[0]));
    writeFileSync(join(dump, `${col}.txt`), lines.map((s) => s + '\n').join(''));
    writeFileSync(join(dump, `${col}.type`), String(typeOf[col]));
  }
}
