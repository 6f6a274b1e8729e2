import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

/** A price for a fixture lake; unset fields get plausible values. Times are epoch ms UTC. */
export interface FixturePrice {
  symbol: string;
  ts: number;
  price: number;
  source?: string;
  change24hPct?: number | null;
  volume24hUsd?: number | null;
  ingestedAt?: number;
}

export interface FixtureDeadLetter {
  at: number;
  stage: 'scraper' | 'processor';
  source: string;
  reason: string;
  payload?: string;
}

/** A lake in a temporary folder, written file by file in the processor's layout. For tests only. */
export class FixtureLake {
  private files = 0;

  private constructor(readonly root: string) {}

  static async create(): Promise<FixtureLake> {
    return new FixtureLake(await mkdtemp(join(tmpdir(), 'cryptolake-lake-')));
  }

  /** Writes the prices as one Snappy Parquet file per UTC day; returns the paths written. */
  async writePrices(prices: FixturePrice[]): Promise<string[]> {
    const rows = prices.map((p) => {
      const source = p.source ?? 'fixture';
      return [
        lit(`${source}:${p.symbol}:${p.ts}`),
        `make_timestamp(${p.ts * 1000})`,
        lit(p.symbol),
        lit(source),
        String(p.price),
        p.volume24hUsd == null ? 'NULL' : String(p.volume24hUsd),
        'NULL',
        p.change24hPct == null ? 'NULL' : String(p.change24hPct),
        `make_timestamp(${(p.ingestedAt ?? p.ts + 500) * 1000})`,
      ];
    });
    const columns = 'id, ts, symbol, source, price_usd, volume_24h_usd, market_cap_usd, change_24h_pct, ingested_at';
    const types = 'VARCHAR, TIMESTAMP, VARCHAR, VARCHAR, DOUBLE, DOUBLE, DOUBLE, DOUBLE, TIMESTAMP'.split(', ');
    return this.writeByDay(
      'prices',
      prices.map((p) => p.ts),
      rows,
      columns,
      types,
    );
  }

  async writeDeadLetters(letters: FixtureDeadLetter[]): Promise<string[]> {
    const rows = letters.map((l) => [`make_timestamp(${l.at * 1000})`, lit(l.stage), lit(l.source), lit(l.reason), lit(l.payload ?? '{}')]);
    return this.writeByDay(
      'dead-letter',
      letters.map((l) => l.at),
      rows,
      'at, stage, source, reason, payload',
      ['TIMESTAMP', 'VARCHAR', 'VARCHAR', 'VARCHAR', 'VARCHAR'],
    );
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  private async writeByDay(dataset: string, times: number[], rows: string[][], columns: string, types: string[]): Promise<string[]> {
    const byDay = new Map<string, string[][]>();
    rows.forEach((row, i) => {
      const day = new Date(times[i]!).toISOString().slice(0, 10);
      byDay.set(day, [...(byDay.get(day) ?? []), row]);
    });
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const written: string[] = [];
    try {
      for (const [day, dayRows] of byDay) {
        const [year, month, date] = day.split('-');
        const folder = join(this.root, dataset, `year=${year}`, `month=${month}`, `day=${date}`);
        await mkdir(folder, { recursive: true });
        const first = this.files;
        this.files += dayRows.length;
        const path = join(folder, `part-p0-o${first}-o${this.files - 1}.parquet`);
        const values = dayRows.map((row) => `(${row.map((value, c) => `CAST(${value} AS ${types[c]})`).join(', ')})`).join(',\n');
        await connection.run(
          `COPY (SELECT * FROM (VALUES ${values}) AS t(${columns
            .split(', ')
            .map((c) => `"${c}"`)
            .join(', ')})) TO ${lit(path)} (FORMAT parquet, COMPRESSION snappy)`,
        );
        written.push(path);
      }
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    return written;
  }
}

function lit(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
