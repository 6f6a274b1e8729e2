import type { Indicators } from './api.ts';
import { el } from './dom.ts';
import { changeClass, formatPct, formatPrice } from './format.ts';

/** The indicator strip under the chart title: SMA, EMA, volatility, 24h change, provider spread. */
export function renderIndicators(container: HTMLElement, ind: Indicators): void {
  const item = (label: string, value: string, cls = '', title = '') =>
    el('span', { class: 'ind', title }, el('span', { class: 'label' }, label), el('span', { class: `num ${cls}` }, value));
  container.replaceChildren(
    item('SMA 20', formatPrice(ind.sma)),
    item('EMA 20', formatPrice(ind.ema)),
    item(
      'Vol σ',
      ind.volatility === null ? '—' : `${(ind.volatility * 100).toFixed(3)}%`,
      '',
      'Stdev of log returns between candle closes',
    ),
    item('24h', formatPct(ind.change24hPct), changeClass(ind.change24hPct)),
    item(
      'Spread',
      ind.spread ? `${ind.spread.spreadPct.toFixed(3)}% · ${ind.spread.sources.length} src` : '—',
      '',
      'Max - min over median across providers in the latest minute',
    ),
  );
}
