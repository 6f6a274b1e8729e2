import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { LakeSession } from '../../core/adapters/ducklake/session.ts';
import { ensureLakeTables } from '../../core/adapters/ducklake/tables.ts';
import type { LakeLocation } from '../../core/adapters/select.ts';
import { deadLetters, prices, type IngestedDataset } from '../../core/datasets/index.ts';
import { resolveExtensionDir, EMBEDDED_CATALOG_FILE } from '../../core/lake-location.ts';
import type { BusMessage } from '../../core/ports/bus.ts';
import { toPriceRecord } from '../../core/records/price.ts';
import { commitFlush } from '../../processor/commit.ts';
import { Stager } from '../../processor/staging.ts';

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

const encoder = new TextEncoder();

/**
 * A DuckLake lake in a temporary folder (SQLite catalog, local data files) for tests, written the
 * way the processor writes it: records are staged, validated, deduplicated and committed with
 * their rollups by the processor's own commit step, one commit per `write`.
 */
export class FixtureLake {
  private constructor(
    readonly root: string,
    readonly location: LakeLocation,
    private readonly session: LakeSession,
    private readonly connection: DuckDBConnection,
  ) {}

  static async create(options: { synthetic?: boolean } = {}): Promise<FixtureLake> {
    const root = await mkdtemp(join(tmpdir(), 'cryptolake-lake-'));
    const location: LakeLocation = {
      kind: 'local',
      root,
      catalog: { kind: 'sqlite', path: join(root, EMBEDDED_CATALOG_FILE) },
      extensionDir: resolveExtensionDir({ duckdbExtensionDir: process.env.DUCKDB_EXTENSION_DIR }),
      synthetic: options.synthetic ?? false,
    };
    const session = await LakeSession.open(location, { readOnly: false, threads: 1 });
    const connection = await session.connect();
    await ensureLakeTables(connection);
    return new FixtureLake(root, location, session, connection);
  }

  /**
   * A fixture writer on a lake that exists elsewhere (an isolated lake on the stack's PostgreSQL and
   * MinIO): its tables are created when missing; `remove()` only closes it, and `root` is ''.
   */
  static async at(location: LakeLocation): Promise<FixtureLake> {
    const session = await LakeSession.open(location, { readOnly: false, threads: 1 });
    const connection = await session.connect();
    await ensureLakeTables(connection);
    return new FixtureLake('', location, session, connection);
  }

  /** Commits records of one dataset (each must pass its contract); keys the lake holds already are dropped. */
  async write(dataset: IngestedDataset, records: readonly object[]): Promise<void> {
    const now = Date.now() + 365 * 86_400_000;
    const messages: BusMessage[] = records.map((record, offset) => ({
      key: '',
      value: encoder.encode(JSON.stringify(record)),
      topic: dataset.name,
      partition: 0,
      offset,
      timestamp: now,
    }));
    const stager = new Stager(this.connection, new Map([[dataset.name, dataset]]));
    const staged = await stager.stage(
      { ranges: [{ tp: { topic: dataset.name, partition: 0 }, from: undefined, to: 0, messages }], records: 0, bytes: 0 },
      now,
    );
    if (staged.rejected > 0) throw new Error(`${staged.rejected} fixture records of ${dataset.name} fail their contract`);
    const outcome = await commitFlush(this.connection, [], staged.datasets, { author: 'fixture' });
    await stager.clear(staged);
    if (!outcome.ok) throw new Error('the fixture commit was fenced');
  }

  /** Commits prices; the id is `source:SYMBOL:ts` as the scraper makes it. */
  async writePrices(list: readonly FixturePrice[]): Promise<void> {
    await this.write(
      prices,
      list.map((p) =>
        toPriceRecord(
          {
            source: p.source ?? 'fixture',
            symbol: p.symbol,
            ts: p.ts,
            price_usd: p.price,
            volume_24h_usd: p.volume24hUsd ?? null,
            change_24h_pct: p.change24hPct ?? null,
          },
          p.ingestedAt ?? p.ts + 500,
        ),
      ),
    );
  }

  async writeDeadLetters(letters: readonly FixtureDeadLetter[]): Promise<void> {
    await this.write(
      deadLetters,
      letters.map((letter) => ({ ...letter, payload: letter.payload ?? '{}' })),
    );
  }

  /** Runs SQL on the fixture's own (read-write) session, e.g. to look at the catalog. */
  async rows(sql: string): Promise<Record<string, unknown>[]> {
    return (await this.connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  }

  async remove(): Promise<void> {
    this.session.close();
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}
