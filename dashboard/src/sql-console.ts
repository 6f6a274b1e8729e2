import { api, type SqlResult } from './api.ts';
import { byId, el } from './dom.ts';
import { formatCount } from './format.ts';

/** Rows shown in the page; the CSV download has all the rows the API returned. */
const SHOWN_ROWS = 500;

/** The SQL console: Ctrl/Cmd-Enter or the Run button runs, results in a table, CSV download. */
export function setUpSqlConsole(): { setSql(sql: string): void } {
  const input = byId<HTMLTextAreaElement>('sql-input');
  const run = byId<HTMLButtonElement>('sql-run');
  const download = byId<HTMLButtonElement>('sql-csv');
  const status = byId('sql-status');
  const output = byId('sql-result');
  let last: SqlResult | undefined;

  async function execute(): Promise<void> {
    const sql = input.value.trim();
    if (!sql) return;
    run.disabled = true;
    status.className = 'sql-status loading';
    status.textContent = 'Running…';
    try {
      last = await api.sql(sql);
      download.disabled = last.rowCount === 0;
      status.className = `sql-status ${last.truncated ? 'warn' : 'ok'}`;
      status.textContent = `${formatCount(last.rowCount)} rows in ${formatCount(last.elapsedMs)} ms` + cutNote(last);
      output.replaceChildren(table(last));
    } catch (error) {
      last = undefined;
      download.disabled = true;
      status.className = 'sql-status error';
      status.setAttribute('role', 'alert');
      status.textContent = error instanceof Error ? error.message : String(error);
      output.replaceChildren();
    } finally {
      run.disabled = false;
    }
  }

  run.addEventListener('click', () => void execute());
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      void execute();
    }
  });
  download.addEventListener('click', () => {
    if (!last) return;
    const url = URL.createObjectURL(new Blob([toCsv(last)], { type: 'text/csv' }));
    const link = el('a') as HTMLAnchorElement;
    link.href = url;
    link.download = `cryptolake-${new Date().toISOString().slice(0, 19).replaceAll(':', '')}.csv`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 1_000);
  });
  return {
    setSql(sql) {
      input.value = sql;
      input.focus();
    },
  };
}

/** What cut the rows, and what to do about it; empty when nothing was cut. */
function cutNote(result: SqlResult): string {
  if (!result.truncated) return '';
  if (result.truncatedBy === 'bytes') {
    return ` · cut at ${formatCount(Math.round(result.maxBytes / 1024))} KiB of results, select fewer or narrower columns, or aggregate`;
  }
  return ` · cut at ${formatCount(result.maxRows)} rows, add a LIMIT or aggregate`;
}

function table(result: SqlResult): HTMLElement {
  const numeric = result.columns.map((c) => /INT|DOUBLE|DECIMAL|FLOAT|REAL|HUGEINT/.test(c.type));
  const head = el('tr', {}, ...result.columns.map((c, i) => el('th', { class: numeric[i] ? 'num' : '', title: c.type }, c.name)));
  const rows = result.rows
    .slice(0, SHOWN_ROWS)
    .map((row) => el('tr', {}, ...row.map((value, i) => el('td', { class: numeric[i] ? 'num' : '' }, cell(value)))));
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { class: 'empty' }, 'No rows.')));
  return el('table', { class: 'result' }, el('thead', {}, head), el('tbody', {}, ...rows));
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** RFC 4180 CSV of a result. */
export function toCsv(result: SqlResult): string {
  const quote = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
  const lines = [result.columns.map((c) => quote(c.name)).join(',')];
  for (const row of result.rows) lines.push(row.map((v) => (v === null || v === undefined ? '' : quote(cell(v)))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
