/** Small DOM helpers shared by the panel's views (plain DOM keeps the bundle small). */

type Attrs = Record<string, string | number | boolean | undefined>;
type Child = Node | string | null | undefined | false;

/** An element with attributes (`class`, `title`, ...; `false`/undefined are skipped). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) {
      continue;
    }
    el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    el.append(child);
  }
  return el;
}

/** A keyboard-reachable button with a tooltip. */
export function button(
  label: string,
  title: string,
  onClick: () => void,
  extraClass = ''
): HTMLButtonElement {
  const el = h('button', {
    type: 'button',
    class: `jp-Stork-button jp-mod-styled ${extraClass}`.trim(),
    title
  }, label);
  el.addEventListener('click', onClick);
  return el;
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) {
    return '–';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A stored timestamp as the CLI and the widgets show it: `2026-12-02 16:40`, local time. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) {
    return '';
  }
  const date = new Date(iso);
  if (isNaN(date.getTime())) {
    return iso;
  }
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}`
  );
}

/** `path` relative to the project `root` when it is inside it (else as it is). */
export function relativeTo(path: string, root?: string | null): string {
  const prefix = root ? root.replace(/\/+$/, '') + '/' : null;
  return prefix && path.startsWith(prefix) && path.length > prefix.length
    ? path.slice(prefix.length)
    : path;
}

/** A file name longer than this is elided in its middle, its last NAME_END characters kept. */
const LONG_NAME = 32;
const NAME_END = 12;

/**
 * A path elided in the middle: the folders shrink behind an ellipsis, the file name
 * stays whole, the full path is the tooltip (a long absolute path must neither wrap
 * character by character nor hide the name at the end).
 */
export function pathLabel(full: string, extraClass = '', root?: string | null): HTMLElement {
  const path = relativeTo(full, root);
  const cut = path.replace(/\/+$/, '').lastIndexOf('/') + 1;
  const name = path.slice(cut);
  // a very long file name is elided in its middle too: its end (the date, the part
  // number, the extension) stays, after the folders have given way
  const keep = name.length > LONG_NAME ? NAME_END : 0;
  return h(
    'span',
    { class: `jp-Stork-path ${extraClass}`.trim(), title: full },
    cut > 0 ? h('span', { class: 'jp-Stork-pathHead' }, path.slice(0, cut)) : null,
    h('span', { class: 'jp-Stork-pathTail' }, name.slice(0, name.length - keep)),
    keep ? h('span', { class: 'jp-Stork-pathEnd' }, name.slice(-keep)) : null
  );
}

/** A progress bar (0..1) with its percentage as text, readable in both themes. */
export function progressBar(fraction: number, label?: string): HTMLElement {
  const pct = Math.max(0, Math.min(1, fraction || 0)) * 100;
  const fill = h('div', { class: 'jp-Stork-progressFill' });
  fill.style.width = `${pct.toFixed(1)}%`;
  return h(
    'div',
    {
      class: 'jp-Stork-progress',
      role: 'progressbar',
      'aria-valuemin': 0,
      'aria-valuemax': 100,
      'aria-valuenow': Math.round(pct)
    },
    fill,
    h('span', { class: 'jp-Stork-progressText' }, label ?? `${Math.round(pct)}%`)
  );
}

/** `1 cell`, `7 cells`. */
/**
 * The number JupyterLab shows for the cell at 0-based `index` ("Cell 9/21" is index 8):
 * the store and the REST API keep `cell_index`, people read this.
 */
export function cellNumber(index: number | null | undefined): string {
  return index === null || index === undefined ? '?' : String(index + 1);
}

/** `cell 9`, or `cell 9, line 3` with a line. */
export function cellLabel(index: number | null | undefined, line?: number | null): string {
  return `cell ${cellNumber(index)}` + (line !== null && line !== undefined ? `, line ${line}` : '');
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Escape closes `widget` (a dialog), and goes no further: the notebook under it keeps
 * its mode. */
export function closeOnEscape(widget: { node: HTMLElement; dispose(): void }): void {
  widget.node.addEventListener('keydown', event => {
    if (event.key === 'Escape') {
      event.stopPropagation();
      widget.dispose();
    }
  });
}
