import {
  createSeriesMarkers,
  type IChartApi,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import type { AlertItem, Candle } from './api.ts';
import { DOWN, UP, applyChartTheme, createCandleChart, fitPricePrecision } from './candle-chart.ts';

/** The candlestick chart of one symbol with a tick-count histogram below, in UTC; colours follow the theme. */
export class PriceChart {
  private readonly chart: IChartApi;
  private readonly candles: ISeriesApi<'Candlestick'>;
  private readonly volume: ISeriesApi<'Histogram'>;
  private readonly markers: ISeriesMarkersPluginApi<Time>;
  private key = '';

  constructor(container: HTMLElement) {
    const { chart, candles, volume } = createCandleChart(container, { volumeTop: 0.82, candlesBottom: 0.22 });
    this.chart = chart;
    this.candles = candles;
    this.volume = volume;
    this.markers = createSeriesMarkers(this.candles, []);
    this.applyTheme();
  }

  /** Reads the colours of the current theme from the CSS variables. */
  applyTheme(): void {
    applyChartTheme(this.chart);
  }

  /** Shows the candles; fits the view only when the symbol, interval or range changed, so a refresh keeps the user's zoom. */
  show(key: string, candles: Candle[]): void {
    const last = candles.at(-1);
    if (last) fitPricePrecision(this.candles, last.close);
    this.candles.setData(candles.map(toBar));
    this.volume.setData(candles.map(toVolume));
    if (key !== this.key) {
      this.chart.timeScale().fitContent();
      this.key = key;
    }
  }

  /** Marks each alert on the candle of its time: above the bar for a rise, below for a fall. */
  showAlerts(alerts: AlertItem[], intervalMs: number): void {
    const marks = alerts
      .map((alert) => {
        // A level crossing says its direction; the other kinds carry a signed move.
        const rising = alert.type === 'price_cross' ? alert.message.includes('above') : alert.value >= 0;
        return {
          time: ((Math.floor(alert.ts / intervalMs) * intervalMs) / 1000) as UTCTimestamp,
          position: rising ? ('aboveBar' as const) : ('belowBar' as const),
          color: rising ? UP : DOWN,
          shape: rising ? ('arrowDown' as const) : ('arrowUp' as const),
          text: alert.rule,
        };
      })
      .sort((a, b) => a.time - b.time);
    this.markers.setMarkers(marks);
  }

  /** Updates (or appends) one candle, the last one as live prices arrive. */
  update(candle: Candle): void {
    this.candles.update(toBar(candle));
    this.volume.update(toVolume(candle));
  }
}

function toBar(c: Candle) {
  return { time: (c.time / 1000) as UTCTimestamp, open: c.open, high: c.high, low: c.low, close: c.close };
}

function toVolume(c: Candle) {
  return { time: (c.time / 1000) as UTCTimestamp, value: c.count, color: c.close >= c.open ? `${UP}66` : `${DOWN}66` };
}
