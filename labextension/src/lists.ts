/**
 * One paged list of the store (datasets, jobs or records) with a debounced text filter,
 * a status filter, Prev/Next paging and rows that open a detail view.
 */
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import type { IDataset, IJob, IRecord, ListKind } from './api';
import { JOB_STATES, RECORD_STATUSES } from './api';
import type { StorkContext } from './context';
import {
  button,
  cellNumber,
  formatBytes,
  formatTime,
  h,
  pathLabel,
  progressBar,
  relativeTo
} from './dom';

export const PAGE_SIZE = 25;
const SEARCH_DEBOUNCE_MS = 300;

interface IRow {
  title: string;
  /** Shown as a path elided in the middle (the file name kept) instead of `title`. */
  path?: string;
  meta: string;
  status?: string;
  progress?: number;
}

interface IListSpec<T> {
  kind: ListKind;
  noun: string;
  statuses?: string[];
  row(item: T): IRow;
}

export class ListView<T extends { id: number }> extends Widget {
  /** A row was clicked: show its detail. */
  readonly opened = new Signal<ListView<T>, T>(this);
  items: T[] = [];

  private offset = 0;
  private total = 0;
  private requestId = 0;
  private debounce: number | null = null;
  private readonly search: HTMLInputElement;
  private readonly status: HTMLSelectElement | null = null;
  private readonly list: HTMLElement;
  private readonly pageInfo: HTMLElement;
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly error: HTMLElement;

  constructor(
    private readonly ctx: StorkContext,
    private readonly spec: IListSpec<T>
  ) {
    super();
    this.addClass('jp-Stork-listView');
    this.id = `jp-Stork-list-${spec.kind}`;
    this.search = h('input', {
      type: 'search',
      class: 'jp-Stork-search jp-mod-styled',
      placeholder: `Filter ${spec.noun}…`,
      title: `Show the ${spec.noun} where this text occurs`,
      'aria-label': `Filter ${spec.noun}`
    });
    this.search.addEventListener('input', () => this.onSearch());
    const filters = h('div', { class: 'jp-Stork-filters' }, this.search);
    if (spec.statuses) {
      this.status = h(
        'select',
        {
          class: 'jp-Stork-status jp-mod-styled',
          title: `Show the ${spec.noun} with this status`,
          'aria-label': 'Status'
        },
        h('option', { value: '' }, 'any status'),
        spec.statuses.map(s => h('option', { value: s }, s))
      );
      this.status.addEventListener('change', () => {
        this.offset = 0;
        void this.refresh();
      });
      filters.append(this.status);
    }
    filters.append(
      button('⟳', `Reload the ${spec.noun}`, () => void this.refresh(), 'jp-Stork-iconButton')
    );
    this.list = h('ul', { class: 'jp-Stork-list', 'aria-label': spec.noun });
    this.prev = button('‹ Prev', 'Previous page', () => this.page(-1));
    this.next = button('Next ›', 'Next page', () => this.page(1));
    this.pageInfo = h('span', { class: 'jp-Stork-pageInfo' });
    this.error = h('div', { class: 'jp-Stork-error', role: 'alert' });
    this.node.append(
      filters,
      this.error,
      this.list,
      h('div', { class: 'jp-Stork-pager' }, this.prev, this.pageInfo, this.next)
    );
  }

  /** Load the current page again (newest first, as the server sorts). */
  async refresh(): Promise<void> {
    const request = ++this.requestId;
    try {
      const page = await this.ctx.api.list<T>(this.spec.kind, this.ctx.project(), {
        limit: PAGE_SIZE,
        offset: this.offset,
        search: this.search.value.trim(),
        status: this.status?.value
      });
      if (request !== this.requestId) {
        return; // a newer request (filter typed meanwhile) wins
      }
      if (page.items.length === 0 && page.total > 0 && this.offset > 0) {
        this.offset = Math.max(0, page.total - PAGE_SIZE);
        return this.refresh();
      }
      this.items = page.items;
      this.total = page.total;
      this.error.textContent = '';
      this.render();
    } catch (error) {
      if (request === this.requestId) {
        this.error.textContent = (error as Error).message;
      }
    }
  }

  private onSearch(): void {
    if (this.debounce !== null) {
      window.clearTimeout(this.debounce);
    }
    this.debounce = window.setTimeout(() => {
      this.debounce = null;
      this.offset = 0;
      void this.refresh();
    }, SEARCH_DEBOUNCE_MS);
  }

  private page(step: number): void {
    const offset = this.offset + step * PAGE_SIZE;
    if (offset < 0 || offset >= this.total) {
      return;
    }
    this.offset = offset;
    void this.refresh();
  }

  private render(): void {
    this.list.replaceChildren();
    if (!this.items.length) {
      const filtered = this.search.value.trim() || this.status?.value;
      this.list.append(
        h(
          'li',
          { class: 'jp-Stork-empty' },
          filtered
            ? `No ${this.spec.noun} match the filter.`
            : `No ${this.spec.noun} yet: analyze or migrate a notebook.`
        )
      );
    }
    for (const item of this.items) {
      const row = this.spec.row(item);
      const el = h(
        'button',
        {
          type: 'button',
          class: 'jp-Stork-row',
          title: `Show ${row.title}`,
          'data-id': item.id
        },
        h(
          'span',
          { class: 'jp-Stork-rowHead' },
          row.path
            ? pathLabel(row.path, 'jp-Stork-rowTitle')
            : h('span', { class: 'jp-Stork-rowTitle' }, row.title),
          row.status
            ? h('span', { class: `jp-Stork-badge jp-mod-${row.status}` }, row.status)
            : null
        ),
        h('span', { class: 'jp-Stork-rowMeta' }, row.meta),
        row.progress !== undefined ? progressBar(row.progress) : null
      );
      el.addEventListener('click', () => this.opened.emit(item));
      this.list.append(h('li', {}, el));
    }
    const first = this.total ? this.offset + 1 : 0;
    const last = this.offset + this.items.length;
    this.pageInfo.textContent = `${first}–${last} of ${this.total}`;
    this.prev.disabled = this.offset === 0;
    this.next.disabled = last >= this.total;
  }
}

export function datasetsList(ctx: StorkContext): ListView<IDataset> {
  return new ListView<IDataset>(ctx, {
    kind: 'datasets',
    noun: 'datasets',
    row: d => ({
      title: d.source_path,
      path: d.source_path,
      meta: [d.format, formatBytes(d.size), d.row_count != null ? `${d.row_count} rows` : '']
        .filter(Boolean)
        .join(' · ')
    })
  });
}

export function jobsList(ctx: StorkContext): ListView<IJob> {
  return new ListView<IJob>(ctx, {
    kind: 'jobs',
    noun: 'jobs',
    statuses: JOB_STATES,
    row: j => {
      const source = j.source_notebook ?? j.notebook ?? '';
      const output = j.output_notebook;
      const notebooks = output ? `${source} → ${output === source ? 'in place' : output}` : source;
      return {
        title:
          `#${j.id} ${j.kind}` +
          (j.destination ? ` → ${relativeTo(j.destination, j.project_root)}` : ''),
        meta: [notebooks, formatTime(j.created_at)].filter(Boolean).join(' · '),
        status: j.state || j.status,
        progress: j.status === 'running' || j.status === 'paused' ? j.progress : undefined
      };
    }
  });
}

export function recordsList(ctx: StorkContext): ListView<IRecord> {
  return new ListView<IRecord>(ctx, {
    kind: 'records',
    noun: 'records',
    statuses: RECORD_STATUSES,
    row: r => ({
      title:
        `${r.path ?? r.notebook}` +
        (r.cell_index != null ? ` · cell ${cellNumber(r.cell_index)}` : '') +
        (r.line != null ? `:${r.line}` : ''),
      meta: [r.api, r.job_id != null ? `job #${r.job_id}` : ''].filter(Boolean).join(' · '),
      status: r.status
    })
  });
}
