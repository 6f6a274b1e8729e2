import { CandlestickSeries, ColorType, HistogramSeries, createChart, type IChartApi, type ISeriesApi } from 'lightweight-charts';
import { priceDecimals } from './format.ts';

/** Colour of a rising candle (and its volume bar). */
export const UP = '#26a69a';
/** Colour of a falling candle (and its volume bar). */
export const DOWN = '#ef5350';

/** A chart with its two series: the candlesticks and, on its own scale below them, a volume histogram. */
export interface CandleChart {
  chart: IChartApi;
  candles: ISeriesApi<'Candlestick'>;
  volume: ISeriesApi<'Histogram'>;
}

/** Where the two series sit, as shares of the chart's height from the top and the bottom. */
export interface CandleChartLayout {
  /** Share of the height above the volume bars (they fill the rest, down to the bottom). */
  volumeTop: number;
  /** Share of the height below the candles, left to the volume bars. */
  candlesBottom: number;
  /** Whether the volume series draws a line at its last value. Default true, as lightweight-charts has it. */
  volumePriceLine?: boolean;
}

/**
 * Creates the dashboard's candlestick chart in `container`: sized to it, UTC time axis to the minute,
 * UP/DOWN candles without borders and a volume histogram below. Colours of the theme are applied by
 * `applyChartTheme`, which the caller runs now and on each theme change.
 */
export function createCandleChart(container: HTMLElement, layout: CandleChartLayout): CandleChart {
  const chart = createChart(container, {
    autoSize: true,
    layout: { background: { type: ColorType.Solid, color: 'transparent' }, fontFamily: 'inherit', attributionLogo: false },
    timeScale: { timeVisible: true, secondsVisible: false },
    crosshair: { mode: 1 },
  });
  const candles = chart.addSeries(CandlestickSeries, {
    upColor: UP,
    downColor: DOWN,
    borderVisible: false,
    wickUpColor: UP,
    wickDownColor: DOWN,
  });
  const volume = chart.addSeries(HistogramSeries, {
    priceScaleId: 'volume',
    priceFormat: { type: 'volume' },
    lastValueVisible: false,
    priceLineVisible: layout.volumePriceLine ?? true,
  });
  chart.priceScale('volume').applyOptions({ scaleMargins: { top: layout.volumeTop, bottom: 0 } });
  candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: layout.candlesBottom } });
  return { chart, candles, volume };
}

/** Reads the colours of the current theme from the CSS variables and applies them to `chart`. */
export function applyChartTheme(chart: IChartApi): void {
  const css = getComputedStyle(document.documentElement);
  const line = css.getPropertyValue('--grid').trim() || '#1b232d';
  chart.applyOptions({
    layout: { textColor: css.getPropertyValue('--muted').trim() || '#8b98a9' },
    grid: { vertLines: { color: line }, horzLines: { color: line } },
    rightPriceScale: { borderColor: line },
    timeScale: { borderColor: line },
  });
}

/** Shows the candles' prices with as many decimals as `price` (the latest close) needs. */
export function fitPricePrecision(candles: ISeriesApi<'Candlestick'>, price: number): void {
  const decimals = priceDecimals(price);
  candles.applyOptions({ priceFormat: { type: 'price', precision: decimals, minMove: 10 ** -decimals } });
}
