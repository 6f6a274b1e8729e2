import type { LatestPrice, Partition, Pipeline, Providers } from './api.ts';
import { el, fill } from './dom.ts';
import { sparkline } from './sparkline.ts';
import { changeClass, formatAge, formatBytes, formatCount, formatPct, formatPrice, formatUsdCompact } from './format.ts';

/** The latest-prices table body; a row (a button for the keyboard) picks its symbol for the chart. */
export function renderLatest(
  body: HTMLElement,
  prices: LatestPrice[],
  selected: string,
  now: number,
  spark: (symbol: string) => number[],
  onPick: (symbol: string) => void,
): void {
  const rows = prices.map((p) => {
    const change = p.change24hPct ?? changeOf(spark(p.symbol));
    const pick = el('button', { class: 'sym-button', title: `Chart ${p.symbol}` }, p.symbol);
    pick.addEventListener('click', () => onPick(p.symbol));
    return el(
      'tr',
      { class: p.symbol === selected ? 'selected' : '', title: `source: ${p.source}`, data: { symbol: p.symbol } },
      el('td', { class: 'sym' }, pick),
      el('td', { class: 'num price', data: { field: 'price' } }, formatPrice(p.priceUsd)),
      el('td', { class: `num ${changeClass(change)}` }, formatPct(change)),
      el('td', { class: 'spark-cell' }, sparkline(spark(p.symbol))),
      el('td', { class: 'num muted hide-narrow' }, formatUsdCompact(p.volume24hUsd)),
      el('td', { class: 'num muted', title: new Date(p.ts).toISOString() }, formatAge(p.ts, now)),
    );
  });
  if (rows.length === 0) {
    body.replaceChildren(
      el('tr', {}, el('td', { class: 'empty' }, 'The lake has no prices yet. They appear once the processor writes its first file.')),
    );
    body.querySelector('td.empty')?.setAttribute('colspan', '6');
  } else body.replaceChildren(...rows);
}

function changeOf(values: number[]): number | null {
  return values.length >= 2 && values[0]! > 0 ? (values.at(-1)! / values[0]! - 1) * 100 : null;
}

/** Each provider with its figures, the failures by kind and the last error; then the recent fallbacks. */
export function renderProviders(container: HTMLElement, report: Providers, now: number): void {
  const figure = (label: string, value: string) => el('span', { class: 'kv' }, el('span', { class: 'label' }, label), value);
  const items = report.providers.map((p) =>
    el(
      'div',
      { class: `provider ${p.ok ? 'ok' : 'down'}`, data: { provider: p.name } },
      el('span', { class: 'dot', title: p.ok ? 'answering' : 'failing' }),
      el('span', { class: 'name' }, p.name, el('span', { class: 'tag' }, p.kind)),
      el('span', { class: `state ${p.ok ? 'up' : 'down'}` }, p.ok ? 'UP' : 'DOWN'),
      el(
        'div',
        { class: 'figures-row' },
        figure('req', formatCount(p.requests)),
        figure('fail', formatCount(p.failures)),
        figure('latency', p.lastLatencyMs === null ? '—' : `${formatCount(p.lastLatencyMs)} ms`),
        figure('cache', formatCount(p.cacheHits)),
        figure('served', formatCount(p.recordsServed)),
        ...Object.entries(p.failuresByKind).map(([kind, n]) => el('span', { class: 'chip' }, `${kind} ×${formatCount(n)}`)),
      ),
      ...(p.lastError ? [el('div', { class: 'error' }, `${p.lastError} · ${formatAge(p.lastErrorAt, now)} ago`)] : []),
    ),
  );
  const fallbacks = report.recentFallbacks
    .slice(0, 6)
    .map((f) =>
      el(
        'li',
        {},
        el('span', { class: 'num muted' }, `${formatAge(f.at, now)} ago`),
        ` ${f.symbol}: ${f.from} → ${f.to ?? 'none'} `,
        el('span', { class: 'muted' }, f.reason),
      ),
    );
  const summary = report.ok ? [] : [el('div', { class: 'alert' }, report.detail)];
  const fallbackList = fallbacks.length > 0 ? [el('h3', {}, 'Recent fallbacks'), el('ul', { class: 'fallbacks' }, ...fallbacks)] : [];
  fill(container, [...summary, ...items, ...fallbackList], report.detail);
}

/** Lag, last flush, freshness and the live feed; then files and bytes per day as bars. */
export function renderPipeline(container: HTMLElement, report: Pipeline, now: number): void {
  const figure = (label: string, value: string, cls = '') =>
    el('span', { class: `figure ${cls}` }, el('span', { class: 'label' }, label), el('span', { class: 'num' }, value));
  const p = report.processor;
  const maxBytes = Math.max(1, ...report.days.map((d) => d.bytes));
  const days = report.days.slice(0, 10).map((d) => {
    const bar = el('span', { class: 'bar' });
    bar.style.width = `${Math.max(2, (d.bytes / maxBytes) * 100)}%`;
    return el(
      'div',
      { class: 'day' },
      el('span', { class: 'num' }, d.date),
      el('span', { class: 'bar-track' }, bar),
      el('span', { class: 'num muted' }, `${formatCount(d.files)} files · ${formatBytes(d.bytes)}`),
    );
  });
  fill(
    container,
    [
      el(
        'div',
        { class: 'figures' },
        figure('lag', formatCount(report.lag), report.lag > 1000 ? 'warn' : ''),
        figure('last flush', p?.lastFlushAt ? `${formatAge(p.lastFlushAt, now)} ago` : 'never'),
        figure('lake freshness', report.lakeFreshnessMs === null ? '—' : formatAge(now - report.lakeFreshnessMs, now)),
        figure('records', formatCount(p?.recordsWritten)),
        figure('files', formatCount(report.totals.files)),
        figure('size', formatBytes(report.totals.bytes)),
        figure(
          'live',
          report.live.following
            ? `on · ${formatCount(report.live.clients)} viewers${report.live.dropped > 0 ? ` · ${formatCount(report.live.dropped)} slow dropped` : ''}`
            : 'off',
          report.live.following ? '' : 'warn',
        ),
      ),
      ...(report.ok ? [] : [el('div', { class: 'alert' }, report.detail)]),
      ...report.brokenFiles.map((file) =>
        el('div', { class: 'alert', data: { brokenFile: file.path } }, `${file.table || 'lake'} file ${file.path}: ${file.problem}`),
      ),
      ...(days.length > 0 ? [el('div', { class: 'days' }, ...days)] : [el('div', { class: 'empty' }, 'No files in the lake yet.')]),
    ],
    '',
  );
}

/** The day folders of the lake, newest first; a day's button puts a query for it in the SQL console. */
export function renderPartitions(body: HTMLElement, partitions: Partition[], onQuery: (date: string) => void): void {
  const rows = partitions.map((p) => {
    const query = el('button', { class: 'link', title: `Query ${p.date} in the SQL console` }, 'query');
    query.addEventListener('click', () => onQuery(p.date));
    return el(
      'tr',
      {},
      el('td', { class: 'num' }, p.date),
      el('td', { class: 'num' }, formatCount(p.files)),
      el('td', { class: 'num' }, formatCount(p.rows)),
      el('td', { class: 'num' }, formatBytes(p.bytes)),
      el('td', {}, query),
    );
  });
  if (rows.length === 0) {
    body.replaceChildren(el('tr', {}, el('td', { class: 'empty' }, 'No partitions yet: the lake is empty.')));
    body.querySelector('td.empty')?.setAttribute('colspan', '5');
  } else body.replaceChildren(...rows);
}
