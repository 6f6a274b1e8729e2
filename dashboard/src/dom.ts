/** A tiny element builder: text always goes in as text, never as HTML, so provider errors cannot inject markup. */
export function el(
  tag: string,
  props: { class?: string; title?: string; data?: Record<string, string> } = {},
  ...children: (Node | string)[]
): HTMLElement {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.title) node.title = props.title;
  for (const [key, value] of Object.entries(props.data ?? {})) node.dataset[key] = value;
  node.append(...children);
  return node;
}

/** The element with this id; the page is static, so a missing one is a bug in index.html. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`index.html has no #${id}`);
  return node as T;
}

/** Replaces a container's content with rows, or with one muted message when there are none. */
export function fill(container: HTMLElement, nodes: Node[], emptyMessage: string): void {
  container.replaceChildren(...(nodes.length > 0 ? nodes : [el('div', { class: 'empty' }, emptyMessage)]));
}
