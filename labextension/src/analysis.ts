/**
 * The result of "Analyze": the notebook's data accesses; a click on one makes its cell
 * the active cell of that notebook and gives the notebook the focus.
 */
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';
import type { IAccess, IAnalysis } from './api';
import { button, cellLabel, cellNumber, h, plural } from './dom';

/** `pandas.DataFrame.to_parquet` with line-break opportunities after the dots. */
function breakable(api: string): (string | HTMLElement)[] {
  const parts: (string | HTMLElement)[] = [];
  api.split('.').forEach((part, i, all) => {
    parts.push(i < all.length - 1 ? `${part}.` : part);
    if (i < all.length - 1) {
      parts.push(document.createElement('wbr'));
    }
  });
  return parts;
}

export class AnalysisView extends Widget {
  private panel: NotebookPanel | null = null;

  constructor(private readonly activatePanel: (panel: NotebookPanel) => void) {
    super();
    this.addClass('jp-Stork-analysis');
    this.hide();
  }

  showAnalysis(panel: NotebookPanel, analysis: IAnalysis): void {
    this.panel = panel;
    const c = analysis.counts;
    const list = h('ul', { class: 'jp-Stork-list jp-Stork-accesses', 'aria-label': 'Data accesses' });
    for (const access of analysis.accesses) {
      list.append(h('li', {}, this.row(access)));
    }
    if (!analysis.accesses.length) {
      list.append(h('li', { class: 'jp-Stork-empty' }, 'No data access found.'));
    }
    const problems = analysis.problems.map(p =>
      h('li', { class: 'jp-Stork-error' }, `${cellLabel(p.cell_index, p.line)}: ${p.message}`)
    );
    this.node.replaceChildren(
      h(
        'div',
        { class: 'jp-Stork-sectionHead' },
        h(
          'span',
          { class: 'jp-Stork-sectionTitle', title: analysis.path },
          `Analysis: ${c.accesses === 1 ? '1 access' : `${c.accesses} accesses`}`
        ),
        button('×', 'Close the analysis', () => this.hide(), 'jp-Stork-iconButton')
      ),
      h(
        'div',
        { class: 'jp-Stork-muted jp-Stork-counts' },
        `${c.reads} read · ${c.writes} write · ${c.unresolved} unresolved` +
          (c.problems ? ` · ${plural(c.problems, 'cell')} not analysed` : '')
      ),
      list
    );
    if (problems.length) {
      this.node.append(h('ul', { class: 'jp-Stork-plain' }, problems));
    }
    this.show();
  }

  private row(a: IAccess): HTMLElement {
    const el = h(
      'button',
      {
        type: 'button',
        class: `jp-Stork-row jp-Stork-access${a.resolved ? '' : ' jp-mod-unresolved'}`,
        title: a.resolved
          ? `Go to ${cellLabel(a.cell_index, a.line)}`
          : `Unresolved: ${a.reason ?? 'the path is not a constant'} (${cellLabel(a.cell_index, a.line)})`,
        'data-cell-index': a.cell_index,
        'data-cell-id': a.cell_id ?? undefined
      },
      h(
        'span',
        { class: 'jp-Stork-rowHead' },
        h('span', { class: 'jp-Stork-rowTitle jp-Stork-api' }, ...breakable(a.api)),
        h('span', { class: `jp-Stork-badge jp-mod-${a.mode}` }, a.mode)
      ),
      h(
        'span',
        { class: 'jp-Stork-rowMeta jp-Stork-accessMeta' },
        h('span', { class: 'jp-Stork-where' }, `cell ${cellNumber(a.cell_index)}:${a.line}`),
        ' ',
        h(
          'span',
          { class: 'jp-Stork-path' },
          a.resolved ? a.path ?? '' : `⚠ unresolved${a.path ? `: ${a.path}` : ''}`
        )
      )
    );
    el.addEventListener('click', () => this.goTo(a));
    return el;
  }

  /** Activate the access's cell (found by id first: cells may have moved since). */
  private goTo(a: IAccess): void {
    const panel = this.panel;
    if (!panel || panel.isDisposed) {
      return;
    }
    const notebook = panel.content;
    let index = a.cell_id ? notebook.widgets.findIndex(c => c.model.id === a.cell_id) : -1;
    if (index < 0) {
      index = a.cell_index;
    }
    if (index < 0 || index >= notebook.widgets.length) {
      return;
    }
    this.activatePanel(panel);
    notebook.mode = 'command';
    notebook.deselectAll();
    notebook.activeCellIndex = index;
    void notebook.scrollToItem(index, 'smart');
    notebook.activate();
  }
}
