import type { IChartApi, ISeriesApi, Time, UTCTimestamp } from 'lightweight-charts';
import type { TradeCandle } from './api.ts';
import { DOWN, UP, applyChartTheme, createCandleChart, fitPricePrecision } from './candle-chart.ts';
import { formatCount, formatPrice } from './format.ts';
import { buyShare, formatQty } from './trade-format.ts';

/**
 * The candlesticks of one market's trades with their volume (base currency) as a histogram on its
 * own scale below, in UTC. A legend line shows the figures of the candle under the cursor, else
 * of the last one. Colours follow the theme.
 */
export class TradeChart {
  private readonly chart: IChartApi;
  private readonly candles: ISeriesApi<'Candlestick'>;
  private readonly volume: ISeriesApi<'Histogram'>;
  private byTime = new Map<number, TradeCandle>();
  private last: TradeCandle | undefined;
  private key = '';

  constructor(
    container: HTMLElement,
    private readonly legend: HTMLElement,
  ) {
    const { chart, candles, volume } = createCandleChart(container, {
      volumeTop: 0.78,
      candlesBottom: 0.26,
      volumePriceLine: false,
    });
    this.chart = chart;
    this.candles = candles;
    this.volume = volume;
    this.chart.subscribeCrosshairMove((param) => {
      const hovered = param.time === undefined ? undefined : this.byTime.get(Number(param.time as Time) * 1000);
      this.showLegend(hovered ?? this.last);
    });
    this.applyTheme();
  }

  /** Reads the colours of the current theme from the CSS variables. */
  applyTheme(): void {
    applyChartTheme(this.chart);
  }

  /** Shows the candles; fits the view only when the market or interval changed, so a refresh keeps the user's zoom. */
  show(key: string, candles: TradeCandle[]): void {
    this.last = candles.at(-1);
    if (this.last) fitPricePrecision(this.candles, this.last.close);
    this.byTime = new Map(candles.map((c) => [c.time, c]));
    this.candles.setData(candles.map((c) => ({ time: at(c), open: c.open, high: c.high, low: c.low, close: c.close })));
    this.volume.setData(candles.map((c) => ({ time: at(c), value: c.volume, color: c.close >= c.open ? `${UP}80` : `${DOWN}80` })));
    if (key !== this.key) {
      this.chart.timeScale().fitContent();
      this.key = key;
    }
    this.showLegend(this.last);
  }

  private showLegend(candle: TradeCandle | undefined): void {
    if (!candle) {
      this.legend.textContent = this.legend.title = '';
      return;
    }
    const buyers = buyShare(candle);
    this.legend.textContent = this.legend.title = [
      `${new Date(candle.time).toISOString().slice(5, 16).replace('T', ' ')} UTC`,
      `O ${formatPrice(candle.open)} H ${formatPrice(candle.high)} L ${formatPrice(candle.low)} C ${formatPrice(candle.close)}`,
      `vol ${formatQty(candle.volume)}`,
      `${formatCount(candle.trades)} trades`,
      buyers === null ? '' : `buys ${Math.round(buyers)}%`,
    ]
      .filter(Boolean)
      .join(' · ');
  }
}

const at = (c: TradeCandle) => (c.time / 1000) as UTCTimestamp;
