import './styles.css';
import { api, INTERVAL_MS, RANGES, rangeStart, type Candle, type CandleBasis, type LatestPrice, type Tick } from './api.ts';
import { PriceChart } from './chart.ts';
import { byId, el } from './dom.ts';
import { PAGE_DEFAULTS } from './page-defaults.ts';
import { LiveMerge, applyTick } from './live-merge.ts';
import { followLive } from './live.ts';
import { renderLatest, renderPartitions, renderPipeline, renderProviders } from './panels.ts';
import { renderIndicators } from './indicators.ts';
import { renderAlerts } from './alerts.ts';
import { setUpSqlConsole } from './sql-console.ts';
import { setUpTheme } from './theme.ts';
import { setUpTrades } from './trades.ts';
import { changeClass, formatPct, formatPrice, formatUtcTime } from './format.ts';

const REFRESH_MS = 5_000;
const SPARK_REFRESH_MS = 60_000;
const params = new URLSearchParams(location.search);
const state = {
  symbol: (params.get('symbol') ?? PAGE_DEFAULTS.symbol).toUpperCase(),
  interval: params.get('interval') ?? PAGE_DEFAULTS.interval,
  range: params.get('range') ?? PAGE_DEFAULTS.range,
  /** One source's prices on the chart; empty: the composite (the median across sources). */
  source: params.get('source') ?? '',
  /** An absolute range from the URL (`?from=2023-03-01&to=2023-03-22`), for history; the range picker clears it. */
  window: absoluteWindow(params.get('from'), params.get('to')),
};

/** `from`/`to` (ISO dates or times, UTC) as epoch ms, or undefined when absent or unreadable. */
function absoluteWindow(from: string | null, to: string | null): { from: number; to: number } | undefined {
  const start = from ? Date.parse(from) : NaN;
  const end = to ? Date.parse(to) : Date.now();
  return Number.isFinite(start) && Number.isFinite(end) && start < end ? { from: start, to: end } : undefined;
}
const latest = new Map<string, LatestPrice>();
/** Newest record time per symbol in the lake: live ticks after it are not in the lake yet. */
const lakeNewest = new Map<string, number>();
const sparks = new Map<string, number[]>();
const merge = new LiveMerge();
let candles: Candle[] = [];
let chartLoad = 0;

const chart = new PriceChart(byId('chart'));
const trades = setUpTrades(state.interval, notice);
setUpTheme(byId<HTMLButtonElement>('theme'), () => {
  chart.applyTheme();
  trades.applyTheme();
});
const sqlConsole = setUpSqlConsole();

/** A row of toggle buttons; `aria-pressed` marks the active one. */
function picker(id: string, values: string[], current: () => string, choose: (value: string) => void): void {
  const container = byId(id);
  for (const value of values) {
    const button = el('button', { data: { value } }, value);
    button.addEventListener('click', () => choose(value));
    container.append(button);
  }
  const sync = () => {
    for (const button of container.querySelectorAll('button'))
      button.setAttribute('aria-pressed', String(button.dataset.value === current()));
  };
  sync();
  container.addEventListener('click', () => queueMicrotask(sync));
}

picker(
  'intervals',
  Object.keys(INTERVAL_MS),
  () => state.interval,
  (value) => {
    state.interval = value;
    void refreshChart();
  },
);
picker(
  'trade-intervals',
  Object.keys(INTERVAL_MS),
  () => trades.interval,
  (value) => trades.setInterval(value),
);
picker(
  'ranges',
  Object.keys(RANGES),
  () => (state.window ? '' : state.range),
  (value) => {
    state.range = value;
    state.window = undefined;
    void refreshChart();
  },
);

byId<HTMLSelectElement>('chart-source').addEventListener('change', (event) => {
  state.source = (event.target as HTMLSelectElement).value;
  void refreshChart();
});

const search = byId<HTMLInputElement>('symbol-search');
search.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter') return;
  const symbol = search.value.trim().toUpperCase();
  if (/^[A-Z0-9]{1,20}$/.test(symbol)) pick(symbol);
});
search.addEventListener('change', () => {
  const symbol = search.value.trim().toUpperCase();
  if (latest.has(symbol)) pick(symbol);
});

/** Shows a message in a panel's notice line, or hides it. */
function notice(id: string, error: unknown, kind: 'error' | 'info' = 'error'): void {
  const line = byId(id);
  line.textContent = error === undefined ? '' : error instanceof Error ? error.message : String(error);
  line.className = `notice ${kind}`;
  line.hidden = error === undefined;
}

function syncUrl(): void {
  const url = new URL(location.href);
  url.searchParams.set('symbol', state.symbol);
  url.searchParams.set('interval', state.interval);
  url.searchParams.set('range', state.range);
  if (state.source) url.searchParams.set('source', state.source);
  else url.searchParams.delete('source');
  if (state.window) {
    url.searchParams.set('from', new Date(state.window.from).toISOString());
    url.searchParams.set('to', new Date(state.window.to).toISOString());
  } else {
    url.searchParams.delete('from');
    url.searchParams.delete('to');
  }
  history.replaceState(null, '', url);
}

async function refreshChart(): Promise<void> {
  const load = ++chartLoad;
  const { symbol, interval, range } = state;
  byId('chart-symbol').textContent = symbol;
  byId('chart').setAttribute('aria-busy', 'true');
  syncUrl();
  const rangeMs = Math.min(RANGES[range] ?? RANGES[PAGE_DEFAULTS.range]!, (INTERVAL_MS[interval] ?? 60_000) * 50_000);
  try {
    const width = INTERVAL_MS[interval] ?? 60_000;
    const from = state.window ? Math.floor(state.window.from / width) * width : rangeStart(Date.now(), rangeMs, interval);
    const to = state.window ? Math.ceil(state.window.to / width) * width : undefined;
    const [answer, alerts] = await Promise.all([
      api.candles(symbol, interval, from, to, state.source),
      api.alerts({ symbol, from, to, limit: 500 }).catch(() => ({ alerts: [] })),
      refreshIndicators(),
    ]);
    if (load !== chartLoad) return;
    candles = answer.candles;
    showBasis(answer);
    // Live ticks the lake has not written yet go on top of its candles; ids already applied stay out.
    for (const tick of merge.newerThan(symbol, lakeNewest.get(symbol) ?? 0))
      if (onChart(tick)) applyTick(candles, tick, INTERVAL_MS[interval]!);
    chart.show(`${symbol}/${interval}/${range}`, candles);
    chart.showAlerts(alerts.alerts, INTERVAL_MS[interval]!);
    byId('chart').dataset.loaded = `${symbol}/${interval}`;
    notice('chart-notice', candles.length === 0 ? `No ${symbol} prices in this range yet.` : undefined, 'info');
    showLastPrice();
  } catch (error) {
    if (load === chartLoad) notice('chart-notice', error);
  } finally {
    if (load === chartLoad) byId('chart').removeAttribute('aria-busy');
  }
}

async function refreshIndicators(): Promise<void> {
  try {
    renderIndicators(byId('indicators'), await api.indicators(state.symbol, state.interval, state.source));
  } catch (error) {
    byId('indicators').replaceChildren(el('span', { class: 'muted' }, `Indicators unavailable: ${(error as Error).message}`));
  }
}

/** Whether a live tick belongs on the chart: with one source chosen, only that source's. */
function onChart(tick: Tick): boolean {
  return !state.source || tick.source === state.source;
}

/** Says what the chart shows, and offers every source of the symbol besides the composite. */
function showBasis(answer: CandleBasis): void {
  const names = answer.sources;
  byId('chart-basis').textContent =
    answer.basis === 'source'
      ? `${state.source} alone`
      : `Composite: per candle, the median of ${names.length} source${names.length === 1 ? '' : 's'} (${names.join(', ') || 'none yet'})`;
  const select = byId<HTMLSelectElement>('chart-source');
  const offered = [...new Set([...names, ...(state.source ? [state.source] : [])])].sort();
  if (answer.basis === 'composite' || select.options.length <= 1)
    select.replaceChildren(new Option('Composite', ''), ...offered.map((name) => new Option(name, name)));
  select.value = state.source;
}

function showLastPrice(): void {
  const last = latest.get(state.symbol);
  const price = byId('last-price');
  price.textContent = last ? formatPrice(last.priceUsd) : '—';
  const change = byId('last-change');
  change.textContent = last ? formatPct(last.change24hPct) : '';
  change.className = `num ${changeClass(last?.change24hPct)}`;
}

function pick(symbol: string): void {
  // Another symbol has its own sources: its chart starts on the composite.
  if (symbol !== state.symbol) state.source = '';
  state.symbol = symbol;
  search.value = '';
  renderTable();
  void refreshChart();
}

function renderTable(): void {
  const prices = [...latest.values()].sort((a, b) => a.symbol.localeCompare(b.symbol));
  renderLatest(byId('latest'), prices, state.symbol, Date.now(), (s) => sparks.get(s) ?? [], pick);
  byId('symbols').replaceChildren(...prices.map((p) => el('option', {}, p.symbol)));
}

let tableQueued = false;
function onTick(tick: Tick): void {
  if (!merge.admit(tick)) return;
  merge.hold(tick);
  const known = latest.get(tick.symbol);
  if (!known || tick.ts >= known.ts) {
    latest.set(tick.symbol, {
      symbol: tick.symbol,
      source: tick.source,
      priceUsd: tick.price_usd,
      change24hPct: tick.change_24h_pct ?? known?.change24hPct ?? null,
      volume24hUsd: tick.volume_24h_usd ?? known?.volume24hUsd ?? null,
      marketCapUsd: known?.marketCapUsd ?? null,
      ts: tick.ts,
    });
  }
  if (tick.symbol === state.symbol && onChart(tick)) {
    const candle = applyTick(candles, tick, INTERVAL_MS[state.interval]!);
    if (candle) chart.update(candle);
    showLastPrice();
  }
  if (!tableQueued) {
    tableQueued = true;
    requestAnimationFrame(() => {
      tableQueued = false;
      renderTable();
    });
  }
}

async function refreshSparks(): Promise<void> {
  const from = rangeStart(Date.now(), 86_400_000, '15m');
  await Promise.all(
    [...latest.keys()].map(async (symbol) => {
      const { candles: hourly } = await api.candles(symbol, '15m', from).catch(() => ({ candles: [] as Candle[] }));
      sparks.set(
        symbol,
        hourly.map((c) => c.close),
      );
    }),
  );
  renderTable();
}

async function refresh(): Promise<void> {
  const now = Date.now();
  const [health, prices, providers, pipeline, alerts] = await Promise.allSettled([
    api.health(),
    api.latest(),
    api.providers(),
    api.pipeline(),
    api.alerts({ limit: PAGE_DEFAULTS.alerts }),
  ]);
  if (health.status === 'fulfilled') {
    byId('synthetic').hidden = !health.value.synthetic;
    const status = byId('status');
    status.className = `status ${health.value.ok ? 'ok' : 'down'}`;
    status.textContent = health.value.ok ? 'All systems up' : 'Degraded';
  } else {
    byId('status').className = 'status down';
    byId('status').textContent = 'API unreachable';
  }
  notice('health-notice', health.status === 'rejected' ? health.reason : undefined);
  if (prices.status === 'fulfilled') {
    const first = latest.size === 0;
    for (const p of prices.value.prices) {
      lakeNewest.set(p.symbol, p.ts);
      const known = latest.get(p.symbol);
      if (!known || p.ts >= known.ts) latest.set(p.symbol, p);
    }
    if (first && latest.size > 0) {
      if (!latest.has(state.symbol)) state.symbol = [...latest.keys()].sort()[0]!;
      void refreshChart();
      void refreshSparks();
    }
    renderTable();
    showLastPrice();
  }
  notice('latest-notice', prices.status === 'rejected' ? prices.reason : undefined);
  if (providers.status === 'fulfilled') renderProviders(byId('providers'), providers.value, now);
  notice('providers-notice', providers.status === 'rejected' ? providers.reason : undefined);
  if (pipeline.status === 'fulfilled') {
    renderPipeline(byId('pipeline'), pipeline.value, now);
    renderPartitions(byId('partitions'), pipeline.value.days, (date) =>
      sqlConsole.setSql(
        `SELECT symbol, source, count(*) AS n, min(price_usd) AS low, max(price_usd) AS high\n  FROM prices\n WHERE year = ${Number(date.slice(0, 4))} AND month = ${Number(date.slice(5, 7))} AND day = ${Number(date.slice(8, 10))}\n GROUP BY ALL ORDER BY n DESC`,
      ),
    );
  }
  notice('pipeline-notice', pipeline.status === 'rejected' ? pipeline.reason : undefined);
  if (alerts.status === 'fulfilled') renderAlerts(byId('alerts'), alerts.value.alerts, now, pick);
  notice('alerts-notice', alerts.status === 'rejected' ? alerts.reason : undefined);
  byId('updated').textContent = `Updated ${formatUtcTime(now)}`;
}

followLive(
  onTick,
  (live) => {
    const badge = byId('live');
    badge.className = `live ${live ? 'on' : 'off'}`;
    badge.textContent = live ? 'LIVE' : 'DELAYED';
    badge.title = live ? 'Prices stream in as they are published' : 'Live stream unavailable: prices appear as the lake is written';
  },
  () => void refreshChart(),
);
void refresh();
void trades.refresh();
setInterval(() => void refresh(), REFRESH_MS);
setInterval(() => void trades.refresh(), REFRESH_MS);
setInterval(() => void refreshChart(), REFRESH_MS * 2);
setInterval(() => void refreshSparks(), SPARK_REFRESH_MS);
