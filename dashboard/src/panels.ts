import type { Health, LatestPrice, Partition } from './api.ts';
import { el, fill } from './dom.ts';
import { changeClass, formatAge, formatBytes, formatCount, formatPct, formatPrice, formatUsdCompact, formatUtcTime } from './format.ts';

/** The latest-prices table body; a click on a row picks its symbol for the chart. */
export function renderLatest(
  body: HTMLElement,
  prices: LatestPrice[],
  selected: string,
  now: number,
  onPick: (symbol: string) => void,
): void {
  const rows = prices.map((p) => {
    const row = el(
      'tr',
      { class: p.symbol === selected ? 'selected' : '', data: { symbol: p.symbol } },
      el('td', { class: 'sym' }, p.symbol),
      el('td', { class: 'num' }, formatPrice(p.priceUsd)),
      el('td', { class: `num ${changeClass(p.change24hPct)}` }, formatPct(p.change24hPct)),
      el('td', { class: 'num muted' }, formatUsdCompact(p.volume24hUsd)),
      el('td', { class: 'muted' }, p.source),
      el('td', { class: 'num muted', title: new Date(p.ts).toISOString() }, formatAge(p.ts, now)),
    );
    row.addEventListener('click', () => onPick(p.symbol));
    return row;
  });
  if (rows.length === 0)
    body.replaceChildren(
      el('tr', {}, el('td', { class: 'empty' }, 'The lake has no prices yet. They appear once the processor writes its first file.')),
    );
  else body.replaceChildren(...rows);
  body.querySelector('td.empty')?.setAttribute('colspan', '6');
}

/** Each provider: up or down, latency, and when down, what failed and how. */
export function renderProviders(container: HTMLElement, health: Health, now: number): void {
  const status = health.scraper.status;
  if (!status) return fill(container, [], `Scraper: ${health.scraper.detail}`);
  const items = status.providers.map((p) =>
    el(
      'div',
      { class: `provider ${p.ok ? 'ok' : 'down'}` },
      el('span', { class: 'dot' }),
      el('span', { class: 'name' }, p.name),
      el('span', { class: 'muted' }, p.kind),
      el(
        'span',
        { class: 'num muted' },
        p.ok ? `${p.lastLatencyMs ?? '—'} ms` : `${formatCount(p.failures)}/${formatCount(p.requests)} failed`,
      ),
      ...(p.lastError ? [el('div', { class: 'error' }, `${p.lastError} (${formatAge(p.lastErrorAt, now)} ago)`)] : []),
    ),
  );
  const summary = health.scraper.ok ? [] : [el('div', { class: 'alert' }, health.scraper.detail)];
  fill(container, [...summary, ...items], 'No providers configured.');
}

/** One line of pipeline figures: records written, files, last flush, lag. */
export function renderPipeline(container: HTMLElement, health: Health, now: number): void {
  const status = health.processor.status;
  const parts = Object.entries(health.parts).map(([name, part]) =>
    el('span', { class: `part ${part.ok ? 'ok' : 'down'}`, title: part.detail }, name),
  );
  if (!status)
    return fill(
      container,
      [el('div', { class: 'muted' }, `Processor: ${health.processor.detail}`), el('div', { class: 'parts' }, ...parts)],
      '',
    );
  const lag = Object.values(status.lag).reduce((sum, n) => sum + n, 0);
  const figure = (label: string, value: string) =>
    el('span', { class: 'figure' }, el('span', { class: 'label' }, label), el('span', { class: 'num' }, value));
  fill(
    container,
    [
      el(
        'div',
        { class: 'figures' },
        figure('records', formatCount(status.recordsWritten)),
        figure('files', formatCount(status.filesWritten)),
        figure('last flush', status.lastFlushAt ? `${formatAge(status.lastFlushAt, now)} ago` : 'never'),
        figure('lag', formatCount(lag)),
        figure('dead letters', formatCount(status.deadLettered)),
      ),
      ...(health.processor.ok ? [] : [el('div', { class: 'error' }, health.processor.detail)]),
      el('div', { class: 'parts' }, ...parts),
    ],
    '',
  );
}

/** The day folders of the lake, newest first. */
export function renderPartitions(body: HTMLElement, partitions: Partition[]): void {
  const rows = partitions.map((p) =>
    el(
      'tr',
      {},
      el('td', {}, p.date),
      el('td', { class: 'num' }, formatCount(p.files)),
      el('td', { class: 'num' }, formatCount(p.rows)),
      el('td', { class: 'num' }, formatBytes(p.bytes)),
    ),
  );
  if (rows.length === 0) body.replaceChildren(el('tr', {}, el('td', { class: 'empty' }, 'No partitions yet.')));
  else body.replaceChildren(...rows);
  body.querySelector('td.empty')?.setAttribute('colspan', '4');
}

/** `Updated 14:03:27 UTC`. */
export function updatedLine(now: number): string {
  return `Updated ${formatUtcTime(now)}`;
}
