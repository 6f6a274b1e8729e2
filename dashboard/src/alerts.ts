import type { AlertItem } from './api.ts';
import { el } from './dom.ts';
import { formatAge } from './format.ts';

const KIND: Record<string, string> = { price_cross: 'level', move: 'move', zscore: 'anomaly', divergence: 'divergence' };

/** The list of recent alerts, newest first; a click picks the alert's symbol. */
export function renderAlerts(container: HTMLElement, alerts: AlertItem[], now: number, pick: (symbol: string) => void): void {
  if (alerts.length === 0) {
    container.replaceChildren(el('li', { class: 'empty' }, 'No alerts yet. Rules are set with ALERT_RULES or ALERT_RULES_FILE.'));
    return;
  }
  container.replaceChildren(
    ...alerts.map((alert) => {
      const symbol = el('button', { class: 'link' }, alert.symbol) as HTMLButtonElement;
      symbol.type = 'button';
      symbol.addEventListener('click', () => pick(alert.symbol));
      return el(
        'li',
        { class: `alert ${alert.type}`, title: alert.id },
        el('span', { class: 'tag' }, KIND[alert.type] ?? alert.type),
        symbol,
        el('span', { class: 'message' }, `${alert.message} (${alert.source})`),
        el('span', { class: 'muted num' }, formatAge(alert.ts, now)),
      );
    }),
  );
}
