import type { GapItem, Streams } from './api.ts';
import { el, fill } from './dom.ts';
import { formatAge, formatCount } from './format.ts';
import { countLabel, formatIdRange, formatUtcSpan, streamState } from './trade-format.ts';

/** How to turn the trade streams on, for the empty states of the trades and streams cards. */
export function streamsOffMessage(): HTMLElement {
  return el(
    'div',
    { class: 'empty' },
    'Trade streams are off. Start the scraper with ',
    el('code', {}, 'STREAM_VENUES=binance,coinbase,kraken'),
    ' to read exchange trades.',
  );
}

const STATE_LABEL = { connected: 'CONNECTED', paused: 'PAUSED', disconnected: 'DISCONNECTED' } as const;

/**
 * The streams: each venue over the replicas (its state, what it received, dropped, refilled and lost,
 * what waits for the bus, the last error), each replica and its connections, and the duplicates the
 * lake dropped.
 */
export function renderStreams(container: HTMLElement, report: Streams, now: number): void {
  if (report.venues.length === 0 && report.replicas.length === 0) {
    container.replaceChildren(streamsOffMessage());
    return;
  }
  const figure = (label: string, value: string, cls = '') =>
    el('span', { class: `kv ${cls}` }, el('span', { class: 'label' }, label), value);
  const venues = report.venues.map((v) => {
    const state = streamState(v);
    return el(
      'div',
      { class: `provider stream ${state === 'connected' ? 'ok' : state === 'paused' ? 'paused' : 'down'}`, data: { venue: v.venue } },
      el('span', { class: 'dot', title: state }),
      el('span', { class: 'name', title: v.markets.join(', ') }, v.venue, el('span', { class: 'tag' }, `${v.markets.length} markets`)),
      el('span', { class: `state ${state === 'connected' ? 'up' : state === 'paused' ? 'warn' : 'down'}` }, STATE_LABEL[state]),
      el(
        'div',
        { class: 'figures-row' },
        figure('trades', formatCount(v.tradesReceived)),
        figure('dupes dropped', formatCount(v.duplicatesDropped)),
        figure('refilled', formatCount(v.tradesRefilled)),
        ...(v.tradesCoveredByReplicas > 0 ? [figure('had by replicas', formatCount(v.tradesCoveredByReplicas))] : []),
        figure('gaps', formatCount(v.gapsRecorded), v.gapsRecorded > 0 ? 'warn' : ''),
        figure('buffered', `${formatCount(v.buffered)}${v.paused ? ' · paused' : ''}`, v.paused ? 'warn' : ''),
        figure('last trade', v.lastTradeAt === null ? '—' : `${formatAge(v.lastTradeAt, now)} ago`),
        ...(v.malformedFrames > 0 ? [el('span', { class: 'chip' }, `malformed ×${formatCount(v.malformedFrames)}`)] : []),
      ),
      ...(v.lastError ? [el('div', { class: 'error' }, `${v.lastError} · ${formatAge(v.lastErrorAt, now)} ago`)] : []),
    );
  });
  fill(
    container,
    [...(report.ok ? [] : [el('div', { class: 'alert' }, report.detail)]), ...venues, replicasList(report, now), lakeLine(report)],
    report.detail,
  );
}

/** One line per replica: its name, whether it reports, and each venue's connection and connection count. */
function replicasList(report: Streams, now: number): HTMLElement {
  const rows = report.replicas.map((replica) =>
    el(
      'li',
      { class: `replica ${replica.reporting ? '' : 'silent'}`, data: { replica: replica.instance } },
      el('span', { class: 'name' }, replica.instance),
      ...(replica.reporting ? [] : [el('span', { class: 'chip' }, `silent ${formatAge(replica.updatedAt, now)}`)]),
      ...replica.venues.map((v) =>
        el(
          'span',
          {
            class: `kv ${v.connected ? '' : 'warn'}`,
            title: `${formatCount(v.connections)} connections opened`,
            data: { replicaVenue: v.venue },
          },
          el('span', { class: 'label' }, v.venue),
          `${v.connected ? 'up' : 'down'} · ${formatCount(v.connections)} conn`,
        ),
      ),
    ),
  );
  const title = `${report.replicas.length} ${report.replicas.length === 1 ? 'replica' : 'replicas'}`;
  return el('div', { class: 'replicas' }, el('div', { class: 'label' }, title), el('ul', {}, ...rows));
}

/** What the lake dropped as duplicates of what the replicas published (trades, and prices of the tickers). */
function lakeLine(report: Streams): HTMLElement {
  const dropped = report.lake.duplicatesDropped;
  const text =
    report.lake.processors === 0
      ? 'No processor is reporting: the duplicates the lake dropped are unknown.'
      : `The lake dropped ${formatCount(dropped.trades ?? 0)} duplicate trades and ${formatCount(dropped.prices ?? 0)} duplicate prices (${report.lake.processors} ${report.lake.processors === 1 ? 'processor' : 'processors'}, since they started).`;
  return el('div', { class: 'lake-duplicates', data: { trades: String(dropped.trades ?? 0) } }, text);
}

/** The recent gaps, newest first: which trades are missing, when, why; and their count on the card's badge. */
export function renderGaps(list: HTMLElement, badge: HTMLElement, gaps: GapItem[], limit: number, now: number): void {
  badge.textContent = countLabel(gaps.length, limit, 'gap');
  badge.className = `count-badge ${gaps.length > 0 ? 'warn' : 'ok'}`;
  const missing = gaps.reduce((sum, gap) => sum + gap.missing, 0);
  badge.title = gaps.length > 0 ? `${formatCount(missing)} trades missing in the lake` : 'No trades missing in the lake';
  if (gaps.length === 0) {
    list.replaceChildren(el('li', { class: 'empty' }, 'No gaps recorded.'));
    return;
  }
  list.replaceChildren(
    ...gaps.map((gap) =>
      el(
        'li',
        { class: 'gap', title: `${gap.id} · detected ${formatAge(gap.detectedAt, now)} ago`, data: { gap: gap.id } },
        el('span', { class: 'tag' }, gap.cause),
        el('span', { class: 'market' }, `${gap.venue} · ${gap.market}`),
        el('span', { class: 'num missing' }, `${formatCount(gap.missing)} missing`),
        el('span', { class: 'num muted ids' }, `ids ${formatIdRange(gap.firstTradeId, gap.lastTradeId)}`),
        el('span', { class: 'num muted span' }, formatUtcSpan(gap.fromTs, gap.toTs)),
        el('span', { class: 'reason' }, gap.reason),
      ),
    ),
  );
}
