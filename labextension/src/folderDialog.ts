/**
 * The "Migrate folder…" dialog: every notebook of the folder open in the file browser
 * migrated as one project (`stork migrate FOLDER --to DEST -o OUTDIR` or `--in-place`).
 * Preview lists what happens to each notebook; Migrate follows the job and reports per
 * notebook; Undo restores every notebook the job wrote.
 *
 * Unlike the notebook dialog nothing is applied to an open document: the server writes
 * the notebooks (copies under the output folder, or the notebooks themselves in place).
 */
import { Widget } from '@lumino/widgets';
import type { IJobDetail, IProjectNotebook, IProjectRequest } from './api';
import { StorkApiError } from './api';
import type { StorkContext } from './context';
import { button, cellNumber, closeOnEscape, formatBytes, h, pathLabel, plural, progressBar } from './dom';
import { followJob } from './migration';

export class FolderMigrateDialog extends Widget {
  private readonly target: HTMLInputElement;
  private readonly output: HTMLInputElement;
  private readonly inPlace: HTMLInputElement;
  private readonly status: HTMLElement;
  private readonly result: HTMLElement;
  private readonly previewButton: HTMLButtonElement;
  private readonly migrateButton: HTMLButtonElement;
  private readonly undoButton: HTMLButtonElement;
  private busy = false;
  private jobId: number | null = null;
  /** The notebooks as the last preview found them (the report after the migration). */
  private outcomes: IProjectNotebook[] = [];

  constructor(
    private readonly ctx: StorkContext,
    private readonly folder: string
  ) {
    super();
    this.addClass('jp-Dialog');
    this.addClass('jp-Stork-dialog');
    this.addClass('jp-Stork-folderDialog');
    const label = folder || 'the server root';
    this.target = h('input', {
      type: 'text',
      class: 'jp-mod-styled jp-Stork-destInput',
      placeholder: 'a destination name, folder, s3:// or postgresql:// URL',
      title: 'Where the data goes: a name from stork.toml, a folder inside the server root, or a URL',
      'aria-label': 'Destination name, folder or URL'
    });
    this.output = h('input', {
      type: 'text',
      class: 'jp-mod-styled jp-Stork-outputInput',
      title: 'The folder the rewritten copies go to (they keep their paths inside the folder)',
      'aria-label': 'Output folder'
    });
    this.output.value = `${folder ? `${folder}` : 'notebooks'}-migrated`;
    this.inPlace = h('input', { type: 'checkbox', class: 'jp-Stork-inPlace' });
    this.inPlace.addEventListener('change', () => {
      this.output.disabled = this.inPlace.checked;
    });
    this.status = h('div', { class: 'jp-Stork-dialogStatus', 'aria-live': 'polite' });
    this.result = h('div', { class: 'jp-Stork-preview' });
    this.previewButton = button(
      'Preview',
      'Show what would happen to each notebook (nothing moves)',
      () => void this.preview()
    );
    this.migrateButton = button(
      'Migrate',
      'Move the data of every notebook of the folder and write the rewritten notebooks',
      () => void this.migrate(),
      'jp-mod-accept'
    );
    this.undoButton = button(
      'Undo',
      'Restore every notebook this migration wrote (they read the local files again)',
      () => void this.undo()
    );
    this.undoButton.classList.add('jp-Stork-undoProject');
    this.undoButton.hidden = true;
    const close = button(
      'Close',
      'Close this dialog (a running migration goes on)',
      () => this.dispose(),
      'jp-Stork-reject'
    );
    this.node.append(
      h(
        'div',
        { class: 'jp-Dialog-content jp-Stork-dialogContent', role: 'dialog', 'aria-modal': 'true' },
        h(
          'div',
          { class: 'jp-Dialog-header' },
          h('div', { class: 'jp-Dialog-title' }, `Migrate every notebook of ${label}`)
        ),
        h(
          'div',
          { class: 'jp-Dialog-body jp-Stork-dialogBody' },
          h('label', { class: 'jp-Stork-field' }, h('span', {}, 'Destination'), this.target),
          h('label', { class: 'jp-Stork-field' }, h('span', {}, 'Copies to'), this.output),
          h(
            'label',
            { class: 'jp-Stork-check', title: 'Rewrite the notebooks themselves instead of copies' },
            this.inPlace,
            h('span', {}, 'In place: rewrite the notebooks themselves')
          ),
          this.status,
          this.result
        ),
        h(
          'div',
          { class: 'jp-Stork-dialogFooter' },
          close,
          this.undoButton,
          this.previewButton,
          this.migrateButton
        )
      )
    );
    closeOnEscape(this);
  }

  static open(ctx: StorkContext, folder: string): FolderMigrateDialog {
    const dialog = new FolderMigrateDialog(ctx, folder);
    Widget.attach(dialog, document.body);
    void dialog.loadDestination();
    return dialog;
  }

  /** The first destination of stork.toml, if any, as a starting value. */
  private async loadDestination(): Promise<void> {
    try {
      const [first] = await this.ctx.api.destinations(this.folder);
      if (first && !this.target.value) {
        this.target.value = first.name;
      }
    } catch {
      // no stork.toml, or none readable: the user types a destination
    }
    this.target.focus();
  }

  private request(): IProjectRequest | null {
    const to = this.target.value.trim();
    if (!to) {
      this.setStatus('Choose a destination: a name, a folder or a URL.', 'error');
      this.target.focus();
      return null;
    }
    if (this.inPlace.checked) {
      return { path: this.folder, to, in_place: true };
    }
    const output = this.output.value.trim();
    if (!output) {
      this.setStatus('Name the folder the copies go to, or choose In place.', 'error');
      return null;
    }
    return { path: this.folder, to, output };
  }

  private async preview(): Promise<boolean> {
    const request = this.request();
    if (!request || this.busy) {
      return false;
    }
    this.setBusy(true);
    this.setStatus('Previewing…');
    try {
      const result = await this.ctx.api.previewProject(request);
      this.outcomes = result.notebooks;
      const migrated = result.notebooks.filter(n => n.status === 'migrated').length;
      this.result.replaceChildren(this.report(result.notebooks, false));
      this.setStatus(
        `${plural(result.datasets.length, 'file')} would be copied to ${result.destination}; ` +
          `${plural(migrated, 'notebook')} of ${result.notebooks.length} would change.`
      );
      return true;
    } catch (error) {
      this.showError(error);
      return false;
    } finally {
      this.setBusy(false);
    }
  }

  private async migrate(): Promise<void> {
    if (this.busy || this.jobId !== null || !(await this.preview())) {
      return;
    }
    const request = this.request();
    if (!request) {
      return;
    }
    this.setBusy(true);
    this.setStatus('Starting the migration…');
    try {
      const started = await this.ctx.api.migrateProject(request);
      if (started.job_id === null) {
        this.setStatus(started.message ?? 'Nothing to migrate.', 'success');
        return;
      }
      this.jobId = started.job_id;
      this.ctx.storeChanged.emit();
      const progress = h('div', { class: 'jp-Stork-jobProgress' });
      this.result.replaceChildren(progress, this.report(this.outcomes, false));
      const job = await followJob(
        this.ctx,
        this.folder,
        started.job_id,
        j => {
          this.setStatus(`Job #${j.id}: ${j.state || j.status}`);
          progress.replaceChildren(
            progressBar(
              j.progress,
              `${j.totals.transfers_done}/${j.totals.transfers} files · ` +
                `${formatBytes(j.totals.bytes_done)} of ${formatBytes(j.totals.bytes_total)}`
            )
          );
        },
        () => !this.isDisposed
      );
      this.finished(job);
    } catch (error) {
      this.showError(error);
    } finally {
      this.ctx.storeChanged.emit();
      this.setBusy(false);
    }
  }

  private finished(job: IJobDetail | null): void {
    if (!job) {
      return;
    }
    if (job.status !== 'completed') {
      this.setStatus(
        `Job #${job.id} ${job.state || job.status}${job.error ? `: ${job.error}` : ''} ` +
          '(the Jobs tab resumes or cancels it)',
        'error'
      );
      return;
    }
    // what the job did, not what its preview said; the notebooks it left alone as previewed
    if (job.notebooks) {
      const done: IProjectNotebook[] = job.notebooks.map(n => ({
        notebook: n.notebook ?? '',
        status: n.status,
        output: n.output,
        cells: n.cells,
        diff: '',
        blockers: []
      }));
      const left = this.outcomes.filter(
        n => n.status !== 'migrated' && !done.some(d => d.notebook === n.notebook)
      );
      this.outcomes = [...done, ...left];
    }
    const migrated = this.outcomes.filter(n => n.status === 'migrated');
    const cells = migrated.reduce((sum, n) => sum + n.cells, 0);
    this.setStatus(
      `Done (job #${job.id}): ${plural(job.totals.transfers, 'file')} copied, ` +
        `${plural(cells, 'cell')} rewritten in ${plural(migrated.length, 'notebook')}.`,
      'success'
    );
    this.result.replaceChildren(this.report(this.outcomes, true));
    this.undoButton.hidden = false;
  }

  private async undo(): Promise<void> {
    if (this.jobId === null || this.busy) {
      return;
    }
    this.setBusy(true);
    try {
      const undone = await this.ctx.api.undoJob(this.jobId, this.folder);
      const cells = undone.notebooks.reduce((sum, n) => sum + n.cells, 0);
      this.setStatus(
        `Undone: ${plural(cells, 'cell')} restored in ${plural(undone.notebooks.length, 'notebook')}; ` +
          'they read the local files again (the copied data stays at the destination).',
        'success'
      );
      this.result.replaceChildren(
        h(
          'ul',
          { class: 'jp-Stork-plain jp-Stork-projectReport' },
          undone.notebooks.map(n =>
            h(
              'li',
              { class: 'jp-Stork-projectNotebook', 'data-status': 'undone' },
              pathLabel(n.notebook),
              h('span', { class: 'jp-Stork-muted' }, ` · undone, ${plural(n.cells, 'cell')} restored`)
            )
          )
        )
      );
      this.undoButton.hidden = true;
      this.ctx.storeChanged.emit();
    } catch (error) {
      this.showError(error);
    } finally {
      this.setBusy(false);
    }
  }

  /** One line per notebook: its status, cells rewritten, where its copy goes, blockers. */
  private report(notebooks: IProjectNotebook[], done: boolean): HTMLElement {
    return h(
      'ul',
      { class: 'jp-Stork-plain jp-Stork-projectReport' },
      notebooks.map(n => {
        const what =
          n.status === 'migrated'
            ? `${done ? 'migrated' : 'would migrate'}, ${plural(n.cells, 'cell')} rewritten`
            : n.status;
        return h(
          'li',
          { class: 'jp-Stork-projectNotebook', 'data-status': n.status },
          h(
            'div',
            { class: 'jp-Stork-rowHead' },
            pathLabel(n.notebook, 'jp-Stork-rowTitle'),
            h('span', { class: `jp-Stork-badge jp-mod-${n.status.replace(/ /g, '-')}` }, what)
          ),
          n.output && n.output !== n.notebook
            ? h('div', { class: 'jp-Stork-rowMeta jp-Stork-pathMeta' }, '→', pathLabel(n.output))
            : null,
          n.blockers.length
            ? h(
                'ul',
                { class: 'jp-Stork-plain jp-Stork-blockers' },
                n.blockers.map(b =>
                  h('li', {}, `cell ${cellNumber(b.cell_index)}:${b.line} `, h('code', {}, b.code), ` — ${b.reason}`)
                )
              )
            : null
        );
      })
    );
  }

  private showError(error: unknown): void {
    const message = (error as Error).message;
    this.setStatus(message, 'error');
    if (error instanceof StorkApiError && error.blockers.length) {
      this.result.replaceChildren(
        h(
          'ul',
          { class: 'jp-Stork-plain jp-Stork-blockers' },
          error.blockers.map(b =>
            h(
              'li',
              {},
              `${(b as { notebook?: string }).notebook ?? ''} cell ${cellNumber(b.cell_index)}:${b.line} `,
              h('code', {}, b.code),
              ` — ${b.reason}`
            )
          )
        )
      );
    }
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    this.previewButton.disabled = busy || this.jobId !== null;
    this.migrateButton.disabled = busy || this.jobId !== null;
    this.undoButton.disabled = busy;
  }

  private setStatus(text: string, kind: 'info' | 'error' | 'success' = 'info'): void {
    if (this.isDisposed) {
      return;
    }
    this.status.textContent = text;
    this.status.className = `jp-Stork-dialogStatus jp-mod-${kind}`;
  }
}
