/**
 * The "Migrate…" dialog: pick a destination (from stork.toml, or type a folder/URL),
 * preview the per-cell rewrite (dry run of the open document), then migrate: follow the
 * job and apply its edits to the open notebook (unsaved, one undo step).
 *
 * Its own modal widget (with JupyterLab's dialog classes) rather than `showDialog`,
 * because Preview must not close it and the progress updates in place.
 */
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { PartialJSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';
import type { IBlocker, IDestination, IJobDetail, IMigrateRequest, IMigrationPreview } from './api';
import { StorkApiError } from './api';
import type { StorkContext } from './context';
import { renderDiff } from './diff';
import { button, cellLabel, cellNumber, closeOnEscape, formatBytes, h, plural, progressBar } from './dom';
import { applyJob, followJob } from './migration';

export class MigrateDialog extends Widget {
  private readonly select: HTMLSelectElement;
  private readonly target: HTMLInputElement;
  private readonly partial: HTMLInputElement;
  private readonly status: HTMLElement;
  private readonly result: HTMLElement;
  private readonly previewButton: HTMLButtonElement;
  private readonly migrateButton: HTMLButtonElement;
  private busy = false;
  private started = false;
  private readonly project: string;

  constructor(
    private readonly ctx: StorkContext,
    private readonly panel: NotebookPanel
  ) {
    super();
    this.addClass('jp-Dialog');
    this.addClass('jp-Stork-dialog');
    this.project = panel.context.localPath;
    this.select = h('select', {
      class: 'jp-mod-styled jp-Stork-destSelect',
      title: 'A destination named in stork.toml',
      'aria-label': 'Destination'
    });
    this.target = h('input', {
      type: 'text',
      class: 'jp-mod-styled jp-Stork-destInput',
      placeholder: 'a destination name, folder, s3:// or postgresql:// URL',
      title: 'Where the data goes: a name from stork.toml, a folder inside the server root, or a URL',
      'aria-label': 'Destination name, folder or URL'
    });
    this.partial = h('input', { type: 'checkbox', class: 'jp-Stork-partial' });
    this.select.addEventListener('change', () => {
      if (this.select.value) {
        this.target.value = this.select.value;
      }
    });
    this.target.addEventListener('input', () => {
      this.select.value = '';
    });
    this.status = h('div', { class: 'jp-Stork-dialogStatus', 'aria-live': 'polite' });
    this.result = h('div', { class: 'jp-Stork-preview' });
    this.previewButton = button(
      'Preview',
      'Show how each cell would be rewritten (nothing moves)',
      () => void this.preview()
    );
    this.migrateButton = button(
      'Migrate',
      'Move the data and rewrite the open notebook (unsaved until you save)',
      () => void this.migrate(),
      'jp-mod-accept'
    );
    const close = button('Close', 'Close this dialog (a running migration goes on)', () =>
      this.dispose()
    , 'jp-Stork-reject');
    const content = h(
      'div',
      { class: 'jp-Dialog-content jp-Stork-dialogContent', role: 'dialog', 'aria-modal': 'true' },
      h(
        'div',
        { class: 'jp-Dialog-header' },
        h('div', { class: 'jp-Dialog-title' }, `Migrate the data of ${this.project}`)
      ),
      h(
        'div',
        { class: 'jp-Dialog-body jp-Stork-dialogBody' },
        h(
          'label',
          { class: 'jp-Stork-field' },
          h('span', {}, 'Destination'),
          this.select
        ),
        h('label', { class: 'jp-Stork-field' }, h('span', {}, 'or'), this.target),
        h(
          'label',
          { class: 'jp-Stork-check', title: 'Leave the accesses that cannot move local and migrate the rest' },
          this.partial,
          h('span', {}, 'Migrate what can be moved, leave the rest local')
        ),
        this.status,
        this.result
      ),
      h('div', { class: 'jp-Stork-dialogFooter' }, close, this.previewButton, this.migrateButton)
    );
    this.node.append(content);
    closeOnEscape(this);
    // a click on the backdrop closes it, as JupyterLab's dialogs do
    this.node.addEventListener('mousedown', event => {
      if (event.target === this.node) {
        this.dispose();
      }
    });
  }

  /** Open the dialog for `panel` and load the project's destinations. */
  static open(ctx: StorkContext, panel: NotebookPanel): MigrateDialog {
    const dialog = new MigrateDialog(ctx, panel);
    Widget.attach(dialog, document.body);
    void dialog.loadDestinations();
    return dialog;
  }

  private async loadDestinations(): Promise<void> {
    let destinations: IDestination[] = [];
    try {
      destinations = await this.ctx.api.destinations(this.project);
    } catch (error) {
      this.setStatus((error as Error).message, 'error');
    }
    this.select.replaceChildren(
      h('option', { value: '' }, destinations.length ? 'choose…' : 'none in stork.toml'),
      ...destinations.map(d =>
        h('option', { value: d.name, title: d.url }, `${d.name} (${d.kind}: ${d.url})`)
      )
    );
    if (destinations.length) {
      this.select.value = destinations[0].name;
      this.target.value = destinations[0].name;
    }
    this.target.focus();
  }

  private request(partial = this.partial.checked): IMigrateRequest | null {
    const to = this.target.value.trim();
    if (!to) {
      this.setStatus('Choose a destination or type a folder or URL.', 'error');
      this.target.focus();
      return null;
    }
    const model = this.panel.content.model;
    if (!model) {
      this.setStatus(`${this.project} is not loaded.`, 'error');
      return null;
    }
    // the open document, unsaved edits included
    const content = model.toJSON() as unknown as PartialJSONObject;
    return { path: this.project, to, partial, content };
  }

  private async preview(partial?: boolean): Promise<void> {
    await this.panel.context.ready; // a notebook still loading has no cells yet
    const request = this.request(partial);
    if (!request || this.busy) {
      return;
    }
    this.setBusy(true);
    this.setStatus('Previewing…');
    try {
      const preview = await this.ctx.api.preview(request);
      this.showPreview(preview);
      this.setStatus(
        `${plural(preview.changes.length, 'cell')} would change; data goes to ${preview.destination}.`
      );
    } catch (error) {
      this.showError(error, true);
    } finally {
      this.setBusy(false);
    }
  }

  private showPreview(preview: IMigrationPreview): void {
    const parts: Node[] = [];
    if (preview.blockers.length) {
      parts.push(this.blockers(preview.blockers, 'stay local'));
    }
    if (preview.setup_cell) {
      parts.push(
        h(
          'section',
          { class: 'jp-Stork-change jp-mod-setup' },
          h('h4', {}, `Setup cell added (before ${cellLabel(preview.setup_cell.index)})`),
          renderDiff('', preview.setup_cell.source)
        )
      );
    }
    for (const change of preview.changes) {
      parts.push(
        h(
          'section',
          { class: 'jp-Stork-change', 'data-cell-index': change.cell_index },
          h('h4', {}, `Cell ${cellNumber(change.cell_index)}${change.cell_id ? ` (${change.cell_id})` : ''}`),
          renderDiff(change.original_source, change.new_source)
        )
      );
    }
    if (!preview.changes.length) {
      parts.push(h('p', { class: 'jp-Stork-muted' }, 'No cell changes.'));
    }
    this.result.replaceChildren(...parts);
  }

  private blockers(blockers: IBlocker[], verb: string): HTMLElement {
    return h(
      'div',
      { class: 'jp-Stork-blockers' },
      h('h4', {}, `${blockers.length === 1 ? '1 access' : `${blockers.length} accesses`} cannot be migrated (${blockers.length === 1 ? 'it' : 'they'} ${verb}):`),
      h(
        'ul',
        { class: 'jp-Stork-plain' },
        blockers.map(b =>
          h(
            'li',
            {},
            h('span', { class: 'jp-Stork-where' }, `cell ${cellNumber(b.cell_index)}:${b.line}`),
            ' ',
            h('code', {}, b.code),
            ` — ${b.reason}`
          )
        )
      )
    );
  }

  /** Show a failure; a refused migration lists its blockers and offers the rest. */
  private showError(error: unknown, previewing: boolean): void {
    const message = (error as Error).message;
    this.setStatus(message, 'error');
    if (error instanceof StorkApiError && error.status === 409 && error.blockers.length) {
      const rest = button(
        previewing ? 'Preview the rest' : 'Migrate the rest',
        'Leave these accesses local and migrate the others (partial)',
        () => {
          this.partial.checked = true;
          void (previewing ? this.preview(true) : this.migrate(true));
        },
        'jp-mod-accept'
      );
      this.result.replaceChildren(this.blockers(error.blockers, 'block the migration'), rest);
    }
  }

  private async migrate(partial?: boolean): Promise<void> {
    await this.panel.context.ready; // a notebook still loading has no cells yet
    const request = this.request(partial);
    if (!request || this.busy || this.started) {
      return;
    }
    this.setBusy(true);
    this.setStatus('Starting the migration…');
    let jobId: number | null = null;
    try {
      const started = await this.ctx.api.migrate(request);
      if (started.job_id === null) {
        this.setStatus(started.message ?? 'Nothing to migrate.');
        this.setBusy(false);
        return;
      }
      jobId = started.job_id;
    } catch (error) {
      this.showError(error, false);
      this.setBusy(false);
      return;
    }
    this.started = true;
    this.ctx.storeChanged.emit();
    const progress = h('div', { class: 'jp-Stork-jobProgress' });
    this.result.replaceChildren(progress);
    const panel = this.panel;
    let job: IJobDetail | null = null;
    try {
      job = await followJob(
        this.ctx,
        this.project,
        jobId,
        j => {
          if (!this.isDisposed) {
            this.setStatus(`Job #${j.id}: ${j.state || j.status}`);
            progress.replaceChildren(
              progressBar(
                j.progress,
                `${j.totals.transfers_done}/${j.totals.transfers} files · ` +
                  `${formatBytes(j.totals.bytes_done)} of ${formatBytes(j.totals.bytes_total)}`
              )
            );
          }
        },
        () => !panel.isDisposed
      );
    } catch (error) {
      this.setStatus((error as Error).message, 'error');
    }
    this.ctx.storeChanged.emit();
    this.setBusy(false);
    if (!job) {
      return;
    }
    if (job.status === 'completed') {
      const applied = applyJob(panel, job);
      if (typeof applied !== 'string') {
        this.setStatus(
          `Done: ${plural(applied.cells, 'cell')} rewritten in the open notebook (unsaved). ` +
            'Save to keep them; Esc, then Ctrl+Z (or Z) in the notebook undoes them.',
          'success'
        );
      } else {
        this.setStatus(`The data moved, but nothing was applied. ${applied}`, 'error');
      }
    } else if (job.status === 'paused') {
      this.setStatus(
        `Job #${job.id} is paused: resume it from the Jobs tab, then press its ` +
          '"Apply to notebook".',
        'error'
      );
    } else {
      this.setStatus(`Job #${job.id} ${job.state || job.status}${job.error ? `: ${job.error}` : ''}`, 'error');
    }
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    this.previewButton.disabled = busy || this.started;
    this.migrateButton.disabled = busy || this.started;
  }

  private setStatus(text: string, kind: 'info' | 'error' | 'success' = 'info'): void {
    if (this.isDisposed) {
      return;
    }
    this.status.textContent = text;
    this.status.className = `jp-Stork-dialogStatus jp-mod-${kind}`;
  }
}
