import { Alert } from '../core/records/alert.ts';
import { DeadLetter } from '../core/records/dead-letter.ts';
import { GAP_COLUMNS, Gap } from '../core/records/gap.ts';
import { PRICE_COLUMNS, describeIssues, validatePrice, type PriceRecord } from '../core/records/price.ts';
import { DATASETS } from '../core/records/topics.ts';
import { TRADE_COLUMNS, validateTrade, type Trade } from '../core/records/trade.ts';
import type { TableSpec } from './parquet.ts';

/** What parsing one bus message gives: a row of the dataset, or why it cannot be one. */
export type Parsed<Row> = { ok: true; row: Row } | { ok: false; reason: string };

/**
 * A lake dataset fed by one bus topic: everything the batcher and the lake writer need to know,
 * so that a new dataset (candles, alerts, trades) plugs in without touching them.
 */
export interface Dataset<Row> {
  /** The lake folder, e.g. `prices`. */
  folder: string;
  /** The bus topic it is consumed from. */
  topic: string;
  /** Parses and validates one message value. Never throws. */
  parse(value: string): Parsed<Row>;
  /** The event time (epoch ms UTC) that picks the row's day folder. */
  eventTime(row: Row): number;
  /** Columns with DuckDB types, and the sort order inside a file. */
  table: TableSpec<Row>;
}

/** Any dataset, for collections that mix row types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDataset = Dataset<any>;

/** Price observations from the scraper, validated against `PriceRecord`. */
export function pricesDataset(topic: string): Dataset<PriceRecord> {
  return {
    folder: DATASETS.prices,
    topic,
    parse(value) {
      const json = parseJson(value);
      if (!json.ok) return json;
      const validated = validatePrice(json.row);
      return validated.ok ? { ok: true, row: validated.value } : validated;
    },
    eventTime: (row) => row.ts,
    table: {
      columns: PRICE_COLUMNS.map(([name, type]) => ({ name, type, value: (row: PriceRecord) => row[name] })),
      sortBy: ['symbol', 'ts'],
    },
  };
}

/**
 * Dead letters: the scraper's rejects from their topic, and the processor's own rejects of any
 * topic, partitioned by the day they were rejected (`at`).
 */
export function deadLetterDataset(topic: string): Dataset<DeadLetter> {
  return {
    folder: DATASETS.deadLetter,
    topic,
    parse(value) {
      const json = parseJson(value);
      if (!json.ok) return json;
      const parsed = DeadLetter.safeParse(json.row);
      return parsed.success ? { ok: true, row: parsed.data } : { ok: false, reason: describeIssues(parsed.error) };
    },
    eventTime: (row) => row.at,
    table: {
      columns: [
        { name: 'at', type: 'TIMESTAMP', value: (row) => row.at },
        { name: 'stage', type: 'VARCHAR', value: (row) => row.stage },
        { name: 'source', type: 'VARCHAR', value: (row) => row.source },
        { name: 'reason', type: 'VARCHAR', value: (row) => row.reason },
        { name: 'payload', type: 'VARCHAR', value: (row) => row.payload },
      ],
      sortBy: ['at', 'source'],
    },
  };
}

/**
 * Alerts raised by the alerter, partitioned by the event time of the price that fired them (`ts`).
 * After a crash the alerter may publish an alert again with the same id: readers keep one row per id.
 */
export function alertsDataset(topic: string): Dataset<Alert> {
  return {
    folder: DATASETS.alerts,
    topic,
    parse(value) {
      const json = parseJson(value);
      if (!json.ok) return json;
      const parsed = Alert.safeParse(json.row);
      return parsed.success ? { ok: true, row: parsed.data } : { ok: false, reason: describeIssues(parsed.error) };
    },
    eventTime: (row) => row.ts,
    table: {
      columns: [
        { name: 'id', type: 'VARCHAR', value: (row) => row.id },
        { name: 'ts', type: 'TIMESTAMP', value: (row) => row.ts },
        { name: 'rule', type: 'VARCHAR', value: (row) => row.rule },
        { name: 'type', type: 'VARCHAR', value: (row) => row.type },
        { name: 'symbol', type: 'VARCHAR', value: (row) => row.symbol },
        { name: 'source', type: 'VARCHAR', value: (row) => row.source },
        { name: 'value', type: 'DOUBLE', value: (row) => row.value },
        { name: 'threshold', type: 'DOUBLE', value: (row) => row.threshold },
        { name: 'message', type: 'VARCHAR', value: (row) => row.message },
        { name: 'raised_at', type: 'TIMESTAMP', value: (row) => row.raised_at },
      ],
      sortBy: ['symbol', 'ts'],
    },
  };
}

/**
 * Exchange trades from the stream readers, validated by `validateTrade` (the id must match venue,
 * market and trade id), partitioned by trade time and sorted in the venue's order inside a file.
 */
export function tradesDataset(topic: string): Dataset<Trade> {
  return {
    folder: DATASETS.trades,
    topic,
    parse(value) {
      const json = parseJson(value);
      if (!json.ok) return json;
      const validated = validateTrade(json.row);
      return validated.ok ? { ok: true, row: validated.value } : validated;
    },
    eventTime: (row) => row.ts,
    table: {
      columns: TRADE_COLUMNS.map(([name, type]) => ({ name, type, value: (row: Trade) => row[name] })),
      sortBy: ['venue', 'market', 'trade_id'],
    },
  };
}

/**
 * Trade ranges the stream readers missed and could not fetch back, partitioned by the time of the
 * trade before the hole (`from_ts`). The same gap may be published twice after a crash: readers
 * keep one row per id.
 */
export function gapsDataset(topic: string): Dataset<Gap> {
  return {
    folder: DATASETS.gaps,
    topic,
    parse(value) {
      const json = parseJson(value);
      if (!json.ok) return json;
      const parsed = Gap.safeParse(json.row);
      return parsed.success ? { ok: true, row: parsed.data } : { ok: false, reason: describeIssues(parsed.error) };
    },
    eventTime: (row) => row.from_ts,
    table: {
      columns: GAP_COLUMNS.map(([name, type]) => ({ name, type, value: (row: Gap) => row[name] })),
      sortBy: ['venue', 'market', 'first_trade_id'],
    },
  };
}

function parseJson(value: string): Parsed<unknown> {
  try {
    return { ok: true, row: JSON.parse(value) as unknown };
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
}
