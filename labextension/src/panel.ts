/**
 * The Stork sidebar: a toolbar (Analyze, Migrate… on the current notebook), the
 * analysis of that notebook, and tabs Datasets / Jobs / Records with a detail view.
 */
import { Notification } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { PartialJSONObject } from '@lumino/coreutils';
import { Panel, Widget } from '@lumino/widgets';
import type { IDataset, IJob, IRecord, ListKind } from './api';
import { AnalysisView } from './analysis';
import type { StorkContext } from './context';
import { DetailView } from './detail';
import { button, h } from './dom';
import { storkIcon } from './icon';
import type { ListView } from './lists';
import { datasetsList, jobsList, recordsList } from './lists';
import { FolderMigrateDialog } from './folderDialog';
import { MigrateDialog } from './migrateDialog';
import { Poller } from './poll';

type AnyList = ListView<IDataset> | ListView<IJob> | ListView<IRecord>;

const TABS: [ListKind, string][] = [
  ['datasets', 'Datasets'],
  ['jobs', 'Jobs'],
  ['records', 'Records']
];

export class StorkPanel extends Panel {
  private readonly analyzeButton: HTMLButtonElement;
  private readonly migrateButton: HTMLButtonElement;
  private readonly folderButton: HTMLButtonElement;
  private readonly hint: HTMLElement;
  private readonly analysis: AnalysisView;
  private readonly tabButtons = new Map<ListKind, HTMLButtonElement>();
  private readonly lists: Record<ListKind, AnyList>;
  private readonly detail: DetailView;
  private tab: ListKind = 'datasets';
  /** Re-reads the Jobs list while one of its jobs runs and the panel is visible. */
  private readonly jobsPoller: Poller;

  constructor(
    private readonly ctx: StorkContext,
    activateNotebook: (panel: NotebookPanel) => void
  ) {
    super();
    this.id = 'stork-panel';
    this.addClass('jp-StorkPanel');
    this.title.icon = storkIcon;
    this.title.caption = 'Stork';

    this.analyzeButton = button(
      'Analyze',
      'Find the data accesses of the current notebook (its open content, unsaved edits included)',
      () => void this.analyze(),
      'jp-mod-accept'
    );
    this.migrateButton = button(
      'Migrate…',
      'Move the current notebook\'s data to a destination and rewrite its cells',
      () => this.openMigrate()
    );
    this.folderButton = button(
      'Migrate folder…',
      'Migrate every notebook of the folder open in the file browser as one project',
      () => FolderMigrateDialog.open(this.ctx, this.ctx.folder())
    );
    this.folderButton.classList.add('jp-Stork-migrateFolder');
    this.hint = h('div', { class: 'jp-Stork-hint' });
    const toolbar = new Widget({
      node: h(
        'div',
        { class: 'jp-Stork-toolbar' },
        h('div', { class: 'jp-Stork-title' }, 'Stork'),
        h(
          'div',
          { class: 'jp-Stork-toolbarButtons' },
          this.analyzeButton,
          this.migrateButton,
          this.folderButton
        ),
        this.hint
      )
    });

    this.analysis = new AnalysisView(activateNotebook);

    const tabs = h('div', { class: 'jp-Stork-tabs', role: 'tablist' });
    for (const [kind, label] of TABS) {
      const tab = h(
        'button',
        {
          type: 'button',
          role: 'tab',
          class: 'jp-Stork-tab',
          'data-tab': kind,
          title: `Show the ${kind} of this project`
        },
        label
      );
      tab.addEventListener('click', () => this.selectTab(kind));
      this.tabButtons.set(kind, tab);
      tabs.append(tab);
    }

    this.lists = {
      datasets: datasetsList(ctx),
      jobs: jobsList(ctx),
      records: recordsList(ctx)
    };
    this.detail = new DetailView(ctx);
    this.detail.hide();
    this.detail.closed.connect(() => this.closeDetail());

    this.addWidget(toolbar);
    this.addWidget(this.analysis);
    this.addWidget(new Widget({ node: tabs }));
    for (const [kind] of TABS) {
      const list = this.lists[kind];
      (list.opened as AnyList['opened']).connect((_: unknown, item: { id: number }) =>
        this.openDetail(kind, item.id)
      );
      list.hide();
      this.addWidget(list);
    }
    this.addWidget(this.detail);

    this.jobsPoller = new Poller(
      async () => {
        if (!this.isVisible || this.tab !== 'jobs' || !this.detail.isHidden) {
          return false;
        }
        await this.lists.jobs.refresh();
        return this.jobsRunning();
      },
      2000,
      3600
    );
    ctx.storeChanged.connect(() => {
      if (this.isVisible) {
        void this.refresh();
      }
    });
    this.selectTab('datasets', false);
    this.updateNotebook();
  }

  /** The current notebook changed: enable the actions, reload the (project's) lists. */
  updateNotebook(): void {
    const panel = this.ctx.notebook();
    this.analyzeButton.disabled = !panel;
    this.migrateButton.disabled = !panel;
    this.hint.textContent = panel
      ? panel.context.localPath
      : 'Open a notebook to analyze or migrate it.';
    this.hint.title = this.hint.textContent;
    this.hint.classList.toggle('jp-mod-none', !panel);
    if (this.isVisible) {
      void this.refresh();
    }
  }

  /** Reload the visible list (and keep polling it while a job runs). */
  async refresh(): Promise<void> {
    await this.lists[this.tab].refresh();
    if (this.tab === 'jobs' && this.jobsRunning() && this.isVisible) {
      this.jobsPoller.start();
    }
  }

  selectTab(kind: ListKind, reload = true): void {
    this.tab = kind;
    for (const [k, b] of this.tabButtons) {
      b.classList.toggle('jp-mod-current', k === kind);
      b.setAttribute('aria-selected', String(k === kind));
    }
    this.closeDetail(false);
    if (reload) {
      void this.refresh();
    }
  }

  private jobsRunning(): boolean {
    return (this.lists.jobs.items as IJob[]).some(
      j => (j.status === 'running' || j.status === 'pending') && j.state !== 'interrupted'
    );
  }

  private openDetail(kind: ListKind, id: number): void {
    for (const [k] of TABS) {
      this.lists[k].hide();
    }
    this.detail.show();
    void this.detail.open(kind, id);
  }

  private closeDetail(reload = true): void {
    this.detail.hide();
    for (const [k] of TABS) {
      this.lists[k].setHidden(k !== this.tab);
    }
    if (reload) {
      void this.refresh();
    }
  }

  private async analyze(): Promise<void> {
    const panel = this.ctx.notebook();
    const model = panel?.content.model;
    if (!panel || !model) {
      return;
    }
    this.analyzeButton.disabled = true;
    try {
      await panel.context.ready; // a notebook still loading has no cells to send yet
      const analysis = await this.ctx.api.analyze(
        panel.context.localPath,
        model.toJSON() as unknown as PartialJSONObject
      );
      this.analysis.showAnalysis(panel, analysis);
      this.ctx.storeChanged.emit(); // the analysis is recorded as a job with datasets
    } catch (error) {
      Notification.error(`Stork: ${(error as Error).message}`, { autoClose: 8000 });
    } finally {
      this.analyzeButton.disabled = !this.ctx.notebook();
    }
  }

  private openMigrate(): void {
    const panel = this.ctx.notebook();
    if (panel) {
      MigrateDialog.open(this.ctx, panel);
    }
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  protected onAfterHide(): void {
    this.jobsPoller.stop();
  }
}
