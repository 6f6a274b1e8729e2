import './styles.css';
import './reference.css';
import { byId, el } from './dom.ts';
import { setUpTheme } from './theme.ts';

/** The parts of an OpenAPI 3.1 document this page reads. */
interface Schema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  anyOf?: Schema[];
  oneOf?: Schema[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
}
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema: Schema;
}
interface Operation {
  summary?: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Schema }> }>;
}
interface Document {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

/**
 * The API reference page (`/reference.html`): built from `/api/openapi.json`, which lake-query
 * generates from its route declarations, so the page shows exactly what the server serves. Each
 * operation lists its parameters, body and answers (components shown inline, one level deep at a
 * time), and GET and POST routes can be tried from the page against this server.
 */
async function main(): Promise<void> {
  setUpTheme(byId<HTMLButtonElement>('theme'), () => undefined);
  const container = byId('reference');
  let doc: Document;
  try {
    const response = await fetch('/api/openapi.json', { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`/api/openapi.json answered HTTP ${response.status}`);
    doc = (await response.json()) as Document;
  } catch (error) {
    const notice = byId('reference-notice');
    notice.hidden = false;
    notice.textContent = `Could not load the API description: ${error instanceof Error ? error.message : String(error)}`;
    container.textContent = '';
    return;
  }
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation, id: anchor(method, path) })),
  );
  byId('reference-toc').replaceChildren(
    el(
      'ul',
      {},
      ...operations.map(({ path, method, id }) => {
        const link = el('a', {}, el('span', { class: `method ${method}` }, method.toUpperCase()), ` ${path}`);
        link.setAttribute('href', `#${id}`);
        return el('li', {}, link);
      }),
    ),
  );
  container.replaceChildren(
    el('h1', {}, `${doc.info.title} `, el('span', { class: 'muted' }, `v${doc.info.version}`)),
    el('p', { class: 'muted' }, doc.info.description ?? ''),
    ...operations.map(({ path, method, operation, id }) => renderOperation(doc, path, method, operation, id)),
  );
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}

function renderOperation(doc: Document, path: string, method: string, operation: Operation, id: string): HTMLElement {
  const section = el('section', { class: 'card operation', data: { path, method } });
  section.id = id;
  section.append(el('h2', {}, el('span', { class: `method ${method}` }, method.toUpperCase()), ' ', el('code', {}, path)));
  if (operation.summary) section.append(el('p', {}, operation.summary));
  const parameters = operation.parameters ?? [];
  if (parameters.length > 0) {
    section.append(
      el('h3', {}, 'Parameters'),
      el(
        'table',
        { class: 'params' },
        el('thead', {}, el('tr', {}, el('th', {}, 'name'), el('th', {}, 'type'), el('th', {}, 'description'))),
        el(
          'tbody',
          {},
          ...parameters.map((p) =>
            el(
              'tr',
              {},
              el('td', {}, el('code', {}, p.name), p.required ? el('span', { class: 'required' }, ' required') : ''),
              el('td', {}, describeType(doc, p.schema)),
              el('td', {}, p.description ?? p.schema.description ?? ''),
            ),
          ),
        ),
      ),
    );
  }
  const body = operation.requestBody?.content['application/json']?.schema;
  if (body) section.append(el('h3', {}, 'Body (application/json)'), renderSchema(doc, body));
  section.append(el('h3', {}, 'Answers'));
  for (const [status, answer] of Object.entries(operation.responses)) {
    const [type, media] = Object.entries(answer.content ?? {})[0] ?? [];
    const details = el('details', { class: `answer s${status[0]}xx` }) as HTMLDetailsElement;
    details.append(
      el('summary', {}, el('code', {}, status), ` ${answer.description}`, type ? el('span', { class: 'muted' }, ` · ${type}`) : ''),
    );
    if (media && type === 'application/json') details.append(renderSchema(doc, media.schema));
    if (status === '200') details.open = true;
    section.append(details);
  }
  section.append(renderTry(path, method, parameters, Boolean(body)));
  return section;
}

/** A form that calls the route on this server and shows the answer as it came. */
function renderTry(path: string, method: string, parameters: Parameter[], hasBody: boolean): HTMLElement {
  const form = el('form', { class: 'try' }) as HTMLFormElement;
  const inputs = parameters.map((p) => {
    const input = el('input', {}) as HTMLInputElement;
    input.name = p.name;
    input.placeholder = p.schema.default !== undefined ? String(p.schema.default) : p.required ? 'required' : '';
    if (p.name === 'symbol' && p.required) input.value = 'BTC';
    return el('label', {}, el('span', { class: 'muted' }, p.name), input);
  });
  const text = el('textarea', {}) as HTMLTextAreaElement;
  text.rows = 3;
  text.value = 'SELECT symbol, count(*) AS n FROM prices GROUP BY 1 ORDER BY 1';
  text.setAttribute('aria-label', 'SQL');
  const button = el('button', { class: 'primary' }, `Try ${method.toUpperCase()} ${path}`) as HTMLButtonElement;
  button.type = 'submit';
  const output = el('pre', { class: 'try-output' });
  output.hidden = true;
  form.append(...inputs, ...(hasBody ? [text] : []), button, output);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const input of form.querySelectorAll('input')) if (input.value) query.set(input.name, input.value);
    const url = `${path}${query.size > 0 ? `?${query}` : ''}`;
    output.hidden = false;
    output.textContent = `${method.toUpperCase()} ${url} …`;
    void call(url, method, hasBody ? JSON.stringify({ sql: text.value }) : undefined).then((shown) => (output.textContent = shown));
  });
  // The event stream never ends: it is opened in a tab of its own instead.
  if (path === '/api/stream' || path === '/metrics') {
    const open = el('a', { class: 'ghost-link' }, `Open ${path}`);
    open.setAttribute('href', path);
    return el('div', { class: 'try' }, open);
  }
  return form;
}

async function call(url: string, method: string, body: string | undefined): Promise<string> {
  try {
    const response = await fetch(url, {
      method: method.toUpperCase(),
      ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}),
    });
    const text = await response.text();
    let shown = text;
    try {
      shown = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Not JSON: shown as it came.
    }
    return `HTTP ${response.status}\n${shown.length > 20_000 ? `${shown.slice(0, 20_000)}\n…` : shown}`;
  } catch (error) {
    return `The request failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** A schema as a nested list of fields with their types, components resolved in place. */
function renderSchema(doc: Document, schema: Schema, depth = 0): HTMLElement {
  const resolved = resolve(doc, schema);
  const node = el('div', { class: 'schema' }, describeType(doc, schema));
  if (resolved.description && depth === 0) node.append(el('span', { class: 'muted' }, ` ${resolved.description}`));
  const fields = resolved.properties ?? resolve(doc, resolved.items ?? {}).properties;
  if (fields && depth < 6) {
    const required = new Set(resolved.properties ? (resolved.required ?? []) : (resolve(doc, resolved.items ?? {}).required ?? []));
    node.append(
      el(
        'ul',
        {},
        ...Object.entries(fields).map(([name, field]) =>
          el(
            'li',
            {},
            el('code', {}, name),
            required.has(name) ? '' : el('span', { class: 'muted' }, '?'),
            ': ',
            renderSchema(doc, field, depth + 1),
            field.description ? el('span', { class: 'muted' }, ` — ${field.description}`) : '',
          ),
        ),
      ),
    );
  }
  return node;
}

/** One line for a type: `string`, `number | null`, `one of 1m, 5m`, `array of Candle`, ... */
function describeType(doc: Document, schema: Schema): string {
  if (schema.$ref) return refName(schema.$ref);
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return variants.map((variant) => describeType(doc, variant)).join(' | ');
  if (schema.enum)
    return `one of ${schema.enum.map(String).join(', ')}${schema.default !== undefined ? ` (default ${String(schema.default)})` : ''}`;
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : ['any'];
  const named = types.map((type) => {
    if (type === 'array') return `array of ${describeType(doc, schema.items ?? {})}`;
    if (type === 'object' && !schema.properties && typeof schema.additionalProperties === 'object')
      return `map of ${describeType(doc, schema.additionalProperties)}`;
    return type;
  });
  const bounds = [
    schema.minimum !== undefined ? `≥ ${schema.minimum}` : '',
    schema.maximum !== undefined ? `≤ ${schema.maximum}` : '',
    schema.default !== undefined ? `default ${String(schema.default)}` : '',
  ].filter(Boolean);
  return `${named.join(' | ')}${bounds.length > 0 ? ` (${bounds.join(', ')})` : ''}`;
}

function resolve(doc: Document, schema: Schema): Schema {
  return schema.$ref ? (doc.components?.schemas?.[refName(schema.$ref)] ?? {}) : schema;
}

function refName(ref: string): string {
  return ref.split('/').at(-1) ?? ref;
}

function anchor(method: string, path: string): string {
  return `${method}-${path.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '')}`;
}

void main();
