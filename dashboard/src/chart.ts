import { CandlestickSeries, ColorType, createChart, type IChartApi, type ISeriesApi, type UTCTimestamp } from 'lightweight-charts';
import type { Candle } from './api.ts';
import { priceDecimals } from './format.ts';

/** The candlestick chart of one symbol, dark-themed, in UTC. */
export class PriceChart {
  private readonly chart: IChartApi;
  private readonly series: ISeriesApi<'Candlestick'>;
  private key = '';

  constructor(container: HTMLElement) {
    this.chart = createChart(container, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: '#0f141b' }, textColor: '#8b98a9', fontFamily: 'inherit' },
      grid: { vertLines: { color: '#1b232d' }, horzLines: { color: '#1b232d' } },
      rightPriceScale: { borderColor: '#243040' },
      timeScale: { borderColor: '#243040', timeVisible: true, secondsVisible: false },
      crosshair: { mode: 1 },
    });
    this.series = this.chart.addSeries(CandlestickSeries, {
      upColor: '#26a69a',
      downColor: '#ef5350',
      borderVisible: false,
      wickUpColor: '#26a69a',
      wickDownColor: '#ef5350',
    });
  }

  /** Shows the candles; fits the view only when the symbol or interval changed, so a refresh keeps the user's zoom. */
  show(symbol: string, interval: string, candles: Candle[]): void {
    const last = candles.at(-1);
    if (last) {
      const decimals = priceDecimals(last.close);
      this.series.applyOptions({ priceFormat: { type: 'price', precision: decimals, minMove: 10 ** -decimals } });
    }
    this.series.setData(
      candles.map((c) => ({ time: (c.time / 1000) as UTCTimestamp, open: c.open, high: c.high, low: c.low, close: c.close })),
    );
    const key = `${symbol}/${interval}`;
    if (key !== this.key) {
      this.chart.timeScale().fitContent();
      this.key = key;
    }
  }
}
