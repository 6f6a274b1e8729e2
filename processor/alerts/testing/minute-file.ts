import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toPriceRecord, type PriceRecord } from '../../../core/records/price.ts';

/**
 * A real minute file of `../shared/data/real-prices/` (`open_time,open,high,low,close,volume`)
 * as BTC price records at each candle's close, for tests: the same reading wherever alerts are
 * checked against real prices.
 */
export function minuteFileRecords(name: string, source: string): PriceRecord[] {
  const path = fileURLToPath(new URL(`../../../../shared/data/real-prices/${name}`, import.meta.url));
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [time, , , , close] = line.split(',');
      const ts = Date.parse(time!.replace(' ', 'T').replace('+00:00', 'Z'));
      return toPriceRecord({ source, symbol: 'BTC', ts, price_usd: Number(close) }, ts);
    });
}
