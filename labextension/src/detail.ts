/**
 * The detail of one dataset, job or record, with a Back button. A job that runs is
 * polled every second while this view is visible (Pause/Resume/Cancel as its status
 * allows).
 */
import { Notification } from '@jupyterlab/apputils';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import type { IDatasetDetail, IJobDetail, IRecord, ListKind } from './api';
import type { StorkContext } from './context';
import { renderDiff } from './diff';
import { applyJob } from './migration';
import { button, cellNumber, formatBytes, formatTime, h, pathLabel, plural, progressBar } from './dom';
import { Poller } from './poll';

const ACTIVE = new Set(['pending', 'running']);

function table(rows: [string, Node | string][]): HTMLElement {
  return h(
    'table',
    { class: 'jp-Stork-props' },
    h(
      'tbody',
      {},
      rows.map(([key, value]) => h('tr', {}, h('th', {}, key), h('td', {}, value)))
    )
  );
}

function mono(text: string): HTMLElement {
  return h('code', { class: 'jp-Stork-mono', title: text }, text);
}

export function renderDataset(d: IDatasetDetail): HTMLElement {
  const schema = d.schema ?? [];
  return h(
    'div',
    { class: 'jp-Stork-detailBody' },
    h('h3', { class: 'jp-Stork-detailTitle' }, pathLabel(d.source_path)),
    table([
      ['Format', d.format ?? '–'],
      ['Size', formatBytes(d.size)],
      ['Rows', d.row_count != null ? String(d.row_count) : '–'],
      ['SHA-256', d.sha256 ? mono(d.sha256) : '–'],
      ['Version', String(d.version)],
      ['Updated', formatTime(d.updated_at ?? d.created_at) || '–']
    ]),
    h('h4', {}, `Schema (${schema.length})`),
    schema.length
      ? h(
          'table',
          { class: 'jp-Stork-grid' },
          h('thead', {}, h('tr', {}, h('th', {}, 'name'), h('th', {}, 'type'))),
          h(
            'tbody',
            {},
            schema.map(f =>
              h('tr', {}, h('td', {}, String(f.name ?? '')), h('td', {}, String(f.type ?? '')))
            )
          )
        )
      : h('p', { class: 'jp-Stork-muted' }, 'No schema recorded (not read as a table).'),
    h('h4', {}, `Locations (${d.locations.length})`),
    h(
      'ul',
      { class: 'jp-Stork-plain' },
      d.locations.map(l =>
        h(
          'li',
          {},
          mono(l.url),
          l.job_id != null ? h('span', { class: 'jp-Stork-muted' }, ` job #${l.job_id}`) : null
        )
      )
    )
  );
}

export function renderRecord(r: IRecord): HTMLElement {
  return h(
    'div',
    { class: 'jp-Stork-detailBody' },
    h('h3', { class: 'jp-Stork-detailTitle' }, `Record #${r.id}`),
    table([
      ['Notebook', r.path ?? r.notebook],
      ['Cell', `${r.cell_index != null ? cellNumber(r.cell_index) : '–'}${r.cell_id ? ` (${r.cell_id})` : ''}`],
      ['Line', r.line != null ? String(r.line) : '–'],
      ['API', r.api ?? '–'],
      ['Status', r.status],
      ['Job', r.job_id != null ? `#${r.job_id}` : '–']
    ]),
    h('h4', {}, 'Original → rewritten'),
    renderDiff(r.original_source, r.new_source)
  );
}

export function renderJob(
  j: IJobDetail,
  act: (action: 'pause' | 'resume' | 'cancel' | 'undo') => void,
  apply: (() => void) | null = null
): HTMLElement {
  const state = j.state || j.status;
  const canPause = j.status === 'running' && state !== 'interrupted';
  const canResume =
    j.kind !== 'analyze' &&
    (j.status === 'paused' || j.status === 'failed' || state === 'interrupted');
  const canCancel = !['completed', 'cancelled'].includes(j.status) && j.kind !== 'analyze';
  const actions = h('div', { class: 'jp-Stork-actions' });
  const pause = button('Pause', 'Pause this job (its transfers stop within a second)', () =>
    act('pause')
  );
  const resume = button('Resume', 'Continue this job in the background', () =>
    act('resume')
  );
  const cancel = button(
    'Cancel',
    'Cancel this job and remove what it left at the destination',
    () => act('cancel'),
    'jp-Stork-danger'
  );
  pause.disabled = !canPause;
  resume.disabled = !canResume;
  cancel.disabled = !canCancel;
  actions.append(pause, resume, cancel);
  // A migration that completed after a pause or a failure (resumed here, or from the
  // CLI) has edits nobody applied yet: the open notebook can take them now.
  const applyRow =
    apply && j.status === 'completed' && j.edits.length
      ? h(
          'div',
          { class: 'jp-Stork-actions' },
          button(
            'Apply to notebook',
            'Rewrite the cells of the open notebook as this job did (unsaved; ' +
              'Esc, then Ctrl+Z undoes)',
            apply
          )
        )
      : null;
  // A completed migration that wrote notebooks on disk (the CLI, the magics, a folder
  // migrated from the panel) is undone here; one the panel applied to an open document
  // (its copy under .stork/outputs/) is undone in that document (Esc, then Z).
  const wrote = j.output_notebook && !j.output_notebook.startsWith('.stork/outputs/');
  const applied = j.edits.some(e => e.status === 'applied');
  if (j.kind === 'migrate' && j.status === 'completed' && wrote && applied) {
    actions.append(
      button(
        'Undo',
        `Restore the cells this job rewrote in ${j.output_notebook} (the data it copied stays)`,
        () => act('undo'),
        'jp-Stork-danger'
      )
    );
  }
  const t = j.totals;
  return h(
    'div',
    { class: 'jp-Stork-detailBody' },
    h(
      'h3',
      { class: 'jp-Stork-detailTitle' },
      `Job #${j.id} ${j.kind}`,
      h('span', { class: `jp-Stork-badge jp-mod-${state}` }, state)
    ),
    table([
      ['Notebook', j.source_notebook ?? j.path ?? j.notebook ?? '–'],
      [
        'Output',
        j.output_notebook
          ? j.output_notebook === j.source_notebook
            ? 'in place'
            : j.output_notebook
          : '–'
      ],
      ['Destination', j.destination ? pathLabel(j.destination, '', j.project_root) : '–'],
      ['Started', formatTime(j.started_at ?? j.created_at) || '–'],
      ['Finished', formatTime(j.finished_at) || '–'],
      ['Transfers', `${t.transfers_done} of ${t.transfers} done`],
      ['Bytes', `${formatBytes(t.bytes_done)} of ${formatBytes(t.bytes_total)}`]
    ]),
    progressBar(j.progress),
    j.error ? h('div', { class: 'jp-Stork-error', role: 'alert' }, j.error) : null,
    j.kind === 'analyze' ? null : actions,
    applyRow,
    h('h4', {}, `Transfers (${j.transfers.length})`),
    h(
      'ul',
      { class: 'jp-Stork-transfers' },
      j.transfers.map(tr =>
        h(
          'li',
          { class: 'jp-Stork-transfer' },
          h(
            'div',
            { class: 'jp-Stork-rowHead' },
            pathLabel(tr.source, 'jp-Stork-rowTitle'),
            h('span', { class: `jp-Stork-badge jp-mod-${tr.status}` }, tr.status)
          ),
          h('div', { class: 'jp-Stork-rowMeta jp-Stork-pathMeta' }, '→', pathLabel(tr.target, '', j.project_root)),
          progressBar(
            tr.bytes_total ? tr.bytes_done / tr.bytes_total : tr.status === 'completed' ? 1 : 0,
            `${formatBytes(tr.bytes_done)} / ${formatBytes(tr.bytes_total)}` +
              (tr.rows != null ? ` · ${tr.rows.toLocaleString('en')} rows` : '')
          ),
          tr.error ? h('div', { class: 'jp-Stork-error' }, tr.error) : null
        )
      )
    ),
    j.edits.length
      ? h(
          'p',
          { class: 'jp-Stork-muted' },
          `${plural(j.edits.length, 'cell')} rewritten` +
            (j.edits.every(e => e.status === 'undone') ? ', then undone.' : '.')
        )
      : null
  );
}

export class DetailView extends Widget {
  /** The user pressed Back. */
  readonly closed = new Signal<DetailView, void>(this);
  private kind: ListKind | null = null;
  private itemId = 0;
  private readonly body: HTMLElement;
  private readonly poller = new Poller(() => this.load(), 1000, 7200);

  constructor(private readonly ctx: StorkContext) {
    super();
    this.addClass('jp-Stork-detail');
    this.body = h('div', {});
    this.node.append(
      h(
        'div',
        { class: 'jp-Stork-detailBar' },
        button('‹ Back', 'Back to the list', () => this.closed.emit())
      ),
      this.body
    );
  }

  async open(kind: ListKind, id: number): Promise<void> {
    this.poller.stop();
    this.kind = kind;
    this.itemId = id;
    this.body.replaceChildren(h('p', { class: 'jp-Stork-muted' }, 'Loading…'));
    if (await this.load()) {
      this.poller.start();
    }
  }

  /** Re-read a running job while visible; tell whether to poll again. */
  private async load(): Promise<boolean> {
    const { kind, itemId } = this;
    const project = this.ctx.project();
    try {
      if (kind === 'datasets') {
        this.body.replaceChildren(renderDataset(await this.ctx.api.dataset(itemId, project)));
      } else if (kind === 'records') {
        this.body.replaceChildren(renderRecord(await this.ctx.api.record(itemId, project)));
      } else if (kind === 'jobs') {
        const job = await this.ctx.api.job(itemId, project);
        if (kind !== this.kind || itemId !== this.itemId) {
          return false;
        }
        const open = this.ctx.notebook();
        const apply =
          open && job.kind === 'migrate' && job.path === open.context.localPath
            ? () => void applyJob(open, job)
            : null;
        this.body.replaceChildren(renderJob(job, a => void this.act(a), apply));
        // a paused job's transfers stop at their next progress flush: follow them too
        const moving = job.transfers.some(t => t.status === 'running');
        return (
          ((ACTIVE.has(job.status) && job.state !== 'interrupted') || moving) &&
          this.isVisible
        );
      }
    } catch (error) {
      this.body.replaceChildren(
        h('div', { class: 'jp-Stork-error', role: 'alert' }, (error as Error).message)
      );
    }
    return false;
  }

  private async act(action: 'pause' | 'resume' | 'cancel' | 'undo'): Promise<void> {
    const project = this.ctx.project();
    try {
      if (action === 'undo') {
        const undone = await this.ctx.api.undoJob(this.itemId, project);
        const cells = undone.notebooks.reduce((sum, n) => sum + n.cells, 0);
        Notification.success(
          `Stork: job #${this.itemId} undone: ${plural(cells, 'cell')} restored in ` +
            undone.notebooks.map(n => n.notebook).join(', '),
          { autoClose: 5000 }
        );
      } else {
        await this.ctx.api.jobAction(this.itemId, action, project);
        Notification.info(`Stork: job #${this.itemId} ${action} requested.`, {
          autoClose: 3000
        });
      }
    } catch (error) {
      Notification.error(`Stork: ${(error as Error).message}`);
    }
    this.ctx.storeChanged.emit();
    void this.open('jobs', this.itemId);
  }

  protected onAfterShow(): void {
    if (this.kind === 'jobs' && this.itemId) {
      void this.open('jobs', this.itemId);
    }
  }

  protected onAfterHide(): void {
    this.poller.stop();
  }

  dispose(): void {
    this.poller.stop();
    super.dispose();
  }
}
