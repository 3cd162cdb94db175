/**
 * Apply a migration's cell edits and setup cell to an open notebook's model.
 *
 * Nothing is written to disk: the document becomes dirty and the user saves it (or not).
 *
 * Undo. In JupyterLab 4.6 the setting `documentWideUndoRedo` is off by default, so each
 * cell has its own Y.UndoManager (tracking transactions whose origin is that cell) and
 * the notebook has one more (origin: the YNotebook, scope: the whole `cells` array,
 * nested cell sources included). `notebook:undo-cell-action` (`z` in command mode, also
 * the Edit menu's Undo when the notebook is in command mode) pops the notebook's stack.
 * Every change below runs inside one `sharedModel.transact(...)`: the outer transaction's
 * origin is the YNotebook (the cells' own `transact` calls nest into it), so the notebook
 * undo manager records the source replacements AND the inserted setup cell as a single
 * stack item. A user presses Escape (command mode), then `z` once, to undo everything;
 * Shift+Z redoes it. Ctrl+Z / Ctrl+Shift+Z in command mode do the same (undo.ts).
 */
import type { INotebookModel } from '@jupyterlab/notebook';
import type { ICellEdit, ISetupCell } from './api';
import { cellLabel } from './dom';
import { asRewrite } from './undo';

/** The document no longer matches what the migration read: nothing was applied. */
export class EditConflictError extends Error {}

export interface IApplyResult {
  /** How many cells were rewritten (the setup cell not counted). */
  cells: number;
  /** Whether the setup cell was inserted (else replaced, or there was none). */
  setupInserted: boolean;
}

/** A cell of the shared (Yjs) notebook model. */
type ISharedCell = INotebookModel['sharedModel']['cells'][number];

const STORK_KEY = 'stork';

function isSetupCell(cell: ISharedCell): boolean {
  const meta = cell.getMetadata(STORK_KEY) as { setup?: unknown } | undefined;
  return !!meta && typeof meta === 'object' && !!meta.setup;
}

function describe(edit: ICellEdit): string {
  const where =
    edit.cell_index !== null && edit.cell_index !== undefined
      ? cellLabel(edit.cell_index)
      : 'a cell';
  return edit.cell_id ? `${where} (id ${edit.cell_id})` : where;
}

/** The cell an edit targets: by id, else by its index in the notebook as it was. */
function findCell(cells: ISharedCell[], edit: ICellEdit): ISharedCell | undefined {
  if (edit.cell_id) {
    const byId = cells.find(c => c.id === edit.cell_id);
    if (byId) {
      return byId;
    }
  }
  if (edit.cell_index !== null && edit.cell_index !== undefined) {
    return cells[edit.cell_index];
  }
  return undefined;
}

/**
 * Check every edit first, then apply all of them (and the setup cell) as one undoable
 * step. Throws EditConflictError, applying nothing, if an edited cell is missing or its
 * source is no longer the one the migration read. `outputHint` (where the migrated copy
 * of the notebook was written) is added to that message.
 */
export function applyMigrationEdits(
  model: INotebookModel,
  edits: ICellEdit[],
  setup: ISetupCell | null,
  outputHint = 'the migrated notebook is also in the project\'s .stork/outputs/ folder'
): IApplyResult {
  const shared = model.sharedModel;
  const cells = shared.cells;
  const targets: [ISharedCell, ICellEdit][] = [];
  const changed: string[] = [];
  for (const edit of edits) {
    const cell = findCell(cells, edit);
    if (!cell) {
      changed.push(`${describe(edit)} is gone`);
    } else if (cell.getSource() !== edit.original_source) {
      changed.push(`${describe(edit)} changed since the migration read it`);
    } else {
      targets.push([cell, edit]);
    }
  }
  if (changed.length) {
    throw new EditConflictError(
      `Stork applied nothing: ${changed.join('; ')}. Restore the cell or apply the ` +
        `rewrite by hand (${outputHint}).`
    );
  }
  if (!targets.length) {
    return { cells: 0, setupInserted: false };
  }
  let setupInserted = false;
  // One transaction with the notebook as origin: one undo step (see the module comment).
  asRewrite(shared, () => shared.transact(() => {
    for (const [cell, edit] of targets) {
      cell.setSource(edit.new_source);
    }
    if (!setup) {
      return;
    }
    const existing = shared.cells.find(isSetupCell);
    if (existing) {
      existing.setSource(setup.source);
      existing.setMetadata(setup.metadata);
      return;
    }
    let index = setup.index;
    if (setup.before_cell_id) {
      const before = shared.cells.findIndex(c => c.id === setup.before_cell_id);
      if (before >= 0) {
        index = before;
      }
    }
    index = Math.max(0, Math.min(index, shared.cells.length));
    shared.insertCell(index, {
      cell_type: 'code',
      source: setup.source,
      metadata: setup.metadata
    });
    setupInserted = true;
  }));
  model.dirty = true;
  return { cells: targets.length, setupInserted };
}
