import { api, INTERVAL_MS, rangeStart, type TradeItem, type TradeMarket } from './api.ts';
import { byId, el } from './dom.ts';
import { PAGE_DEFAULTS } from './page-defaults.ts';
import { formatAge, formatCount, formatPrice } from './format.ts';
import { renderGaps, renderStreams, streamsOffMessage } from './streams.ts';
import { TradeChart } from './trade-chart.ts';
import { formatQty, formatTapeTime, marketKey, parseMarketKey } from './trade-format.ts';

/** The trades and streams cards, as `main.ts` drives them. */
export interface TradesSection {
  /** The candle interval of the trades chart. */
  readonly interval: string;
  setInterval(interval: string): void;
  /** Reloads the markets, streams and gaps, then the chart and tape of the chosen market. Never rejects. */
  refresh(): Promise<void>;
  applyTheme(): void;
}

/** Wires the trades card (market picker, chart, tape) and the streams card (venues, gaps) of index.html. */
export function setUpTrades(initialInterval: string, notice: (id: string, error: unknown, kind?: 'error' | 'info') => void): TradesSection {
  const select = byId<HTMLSelectElement>('trade-market');
  const chartBox = byId('trade-chart');
  const chart = new TradeChart(chartBox, byId('trade-legend'));
  let markets: TradeMarket[] = [];
  let selected = new URLSearchParams(location.search).get('market') ?? '';
  let interval = INTERVAL_MS[initialInterval] ? initialInterval : '1m';
  let marketLoad = 0;

  select.addEventListener('change', () => {
    selected = select.value;
    const url = new URL(location.href);
    url.searchParams.set('market', selected);
    history.replaceState(null, '', url);
    showSummary();
    void refreshMarket();
  });

  function showMarkets(list: TradeMarket[], streamsOn: boolean): void {
    const keys = list.map((m) => marketKey(m.venue, m.market));
    // Rebuilt only when the list changes: replacing the options would close the picker under the user.
    if (keys.join('\n') !== markets.map((m) => marketKey(m.venue, m.market)).join('\n')) {
      select.replaceChildren(
        ...list.map((m, i) => {
          const option = el('option', {}, `${m.venue} · ${m.market}`) as HTMLOptionElement;
          option.value = keys[i]!;
          return option;
        }),
      );
    }
    markets = list;
    if (!keys.includes(selected)) selected = keys[0] ?? '';
    select.value = selected;
    select.disabled = list.length === 0;
    select.parentElement!.hidden = list.length === 0;
    byId('trade-intervals').hidden = list.length === 0;
    byId('trades-body').hidden = list.length === 0;
    const empty = byId('trades-empty');
    empty.hidden = list.length > 0;
    if (list.length === 0) notice('trades-notice', undefined);
    empty.replaceChildren(
      streamsOn
        ? el('div', { class: 'empty' }, 'Trade streams are on, but no trades reached the lake in the last 24 hours yet.')
        : streamsOffMessage(),
    );
    showSummary();
  }

  function showSummary(): void {
    const market = markets.find((m) => marketKey(m.venue, m.market) === selected);
    byId('trade-summary').textContent = market
      ? `${formatCount(market.trades)} trades · ${formatQty(market.volume)} ${market.symbol} in 24 h · last ${formatAge(market.lastTs, Date.now())} ago`
      : '';
  }

  async function refreshMarket(): Promise<void> {
    const load = ++marketLoad;
    const market = parseMarketKey(selected);
    if (!market) return;
    const width = INTERVAL_MS[interval]!;
    chartBox.setAttribute('aria-busy', 'true');
    const [candles, tape] = await Promise.allSettled([
      api.tradeCandles(market.venue, market.market, interval, rangeStart(Date.now(), PAGE_DEFAULTS.tradeCandles * width, interval)),
      api.trades(market.venue, market.market, PAGE_DEFAULTS.tape),
    ]);
    if (load !== marketLoad) return;
    chartBox.removeAttribute('aria-busy');
    if (candles.status === 'fulfilled') {
      chart.show(`${selected}/${interval}`, candles.value.candles);
      chartBox.dataset.loaded = `${selected}/${interval}`;
      chartBox.dataset.candles = String(candles.value.candles.length);
      const none = candles.value.candles.length === 0 ? `No ${market.venue} · ${market.market} trades in this range yet.` : undefined;
      notice('trades-notice', none, 'info');
    } else notice('trades-notice', candles.reason);
    if (tape.status === 'fulfilled') renderTape(byId('tape'), tape.value.trades);
    else byId('tape').replaceChildren(emptyRow(`Trades unavailable: ${(tape.reason as Error).message}`));
  }

  return {
    get interval() {
      return interval;
    },
    setInterval(value) {
      interval = value;
      void refreshMarket();
    },
    async refresh() {
      const now = Date.now();
      const [list, streams, gaps] = await Promise.allSettled([api.tradeMarkets(), api.streams(), api.gaps(PAGE_DEFAULTS.gaps)]);
      if (streams.status === 'fulfilled') renderStreams(byId('streams'), streams.value, now);
      notice('streams-notice', streams.status === 'rejected' ? streams.reason : undefined);
      if (gaps.status === 'fulfilled') renderGaps(byId('gaps'), byId('gap-count'), gaps.value.gaps, PAGE_DEFAULTS.gaps, now);
      else {
        byId('gap-count').textContent = 'gaps unknown';
        byId('gap-count').className = 'count-badge warn';
      }
      notice('gaps-notice', gaps.status === 'rejected' ? gaps.reason : undefined);
      if (list.status === 'rejected') {
        notice('trades-notice', list.reason);
        return;
      }
      showMarkets(
        list.value.markets,
        streams.status === 'fulfilled' && (streams.value.venues.length > 0 || streams.value.replicas.length > 0),
      );
      await refreshMarket();
    },
    applyTheme: () => chart.applyTheme(),
  };
}

/** The tape: newest first, the taker's side in colour, a `rest` badge on trades fetched back after a gap. */
function renderTape(body: HTMLElement, trades: TradeItem[]): void {
  if (trades.length === 0) {
    body.replaceChildren(emptyRow('No trades yet.'));
    return;
  }
  body.replaceChildren(
    ...trades.map((t) =>
      el(
        'tr',
        { data: { side: t.side, via: t.via, trade: String(t.tradeId) } },
        el('td', { class: 'num', title: new Date(t.ts).toISOString() }, formatTapeTime(t.ts)),
        el('td', { class: `num ${t.side === 'buy' ? 'up' : 'down'}` }, formatPrice(t.price)),
        el('td', { class: 'num' }, formatQty(t.qty)),
        el(
          'td',
          { class: `side ${t.side === 'buy' ? 'up' : 'down'}` },
          t.side,
          ...(t.via === 'rest'
            ? [el('span', { class: 'tag rest', title: "Fetched back from the venue's REST history after a gap" }, 'rest')]
            : []),
        ),
      ),
    ),
  );
}

function emptyRow(message: string): HTMLElement {
  const cell = el('td', { class: 'empty' }, message);
  cell.setAttribute('colspan', '4');
  return el('tr', {}, cell);
}
