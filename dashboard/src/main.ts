import './styles.css';
import { api, type Health } from './api.ts';
import { PriceChart } from './chart.ts';
import { byId, el } from './dom.ts';
import { renderLatest, renderPartitions, renderPipeline, renderProviders, updatedLine } from './panels.ts';

const REFRESH_MS = 5_000;
const INTERVALS = ['1m', '5m', '15m', '1h', '4h', '1d'];
const state = { symbol: new URLSearchParams(location.search).get('symbol') ?? 'BTC', interval: '1m' };

const chart = new PriceChart(byId('chart'));
const intervalPicker = byId('intervals');
for (const interval of INTERVALS) {
  const button = el('button', { data: { interval } }, interval);
  button.addEventListener('click', () => {
    state.interval = interval;
    void refreshChart();
  });
  intervalPicker.append(button);
}

/** Shows an error in a panel's message line, or clears it. */
function notice(id: string, error: unknown): void {
  const line = byId(id);
  line.textContent = error === undefined ? '' : error instanceof Error ? error.message : String(error);
  line.hidden = error === undefined;
}

async function refreshChart(): Promise<void> {
  byId('chart-title').textContent = `${state.symbol} · ${state.interval}`;
  for (const button of intervalPicker.querySelectorAll('button'))
    button.classList.toggle('active', button.dataset.interval === state.interval);
  try {
    const { candles } = await api.candles(state.symbol, state.interval);
    chart.show(state.symbol, state.interval, candles);
    notice('chart-notice', candles.length === 0 ? new Error(`No ${state.symbol} prices in this range yet.`) : undefined);
  } catch (error) {
    notice('chart-notice', error);
  }
}

function pick(symbol: string): void {
  state.symbol = symbol;
  void refresh();
}

function showHealth(health: Health, now: number): void {
  byId('synthetic').hidden = !health.synthetic;
  const status = byId('status');
  status.className = `status ${health.ok ? 'ok' : 'down'}`;
  status.textContent = health.ok ? 'All parts up' : 'Degraded';
  renderProviders(byId('providers'), health, now);
  renderPipeline(byId('pipeline'), health, now);
}

async function refresh(): Promise<void> {
  const now = Date.now();
  const [health, latest, partitions] = await Promise.allSettled([api.health(), api.latest(), api.partitions(), refreshChart()]);
  if (health.status === 'fulfilled') showHealth(health.value, now);
  notice('health-notice', health.status === 'rejected' ? health.reason : undefined);
  if (latest.status === 'fulfilled') {
    const symbols = latest.value.prices.map((p) => p.symbol);
    if (symbols.length > 0 && !symbols.includes(state.symbol)) return pick(symbols[0]!);
    renderLatest(byId('latest'), latest.value.prices, state.symbol, now, pick);
  }
  notice('latest-notice', latest.status === 'rejected' ? latest.reason : undefined);
  if (partitions.status === 'fulfilled') renderPartitions(byId('partitions'), partitions.value.partitions);
  notice('partitions-notice', partitions.status === 'rejected' ? partitions.reason : undefined);
  byId('updated').textContent = updatedLine(now);
}

void refresh();
setInterval(() => void refresh(), REFRESH_MS);
