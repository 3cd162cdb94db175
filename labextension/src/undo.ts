/**
 * Ctrl+Z for a Stork rewrite.
 *
 * A rewrite is one item on the notebook's undo stack (see edits.ts), which
 * `notebook:undo-cell-action` (`z` in command mode) pops. JupyterLab 4.6 binds Ctrl+Z
 * in command mode to the Edit menu's undo instead, which undoes the active cell's own
 * text edits only, so it would not touch the rewrite. Here Ctrl+Z / Ctrl+Shift+Z in
 * command mode undo / redo the rewrite when it is the latest notebook-level change and
 * the active cell was not typed in since; otherwise they do what they always did.
 * The stack items of a rewrite carry a `stork` meta flag, carried over from the undo
 * stack to the redo stack and back.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { INotebookModel, INotebookTracker } from '@jupyterlab/notebook';
import { NotebookActions } from '@jupyterlab/notebook';

const META = 'stork-rewrite';
const COMMAND_MODE = '.jp-Notebook.jp-mod-commandMode:not(.jp-mod-readWrite) :focus';

type SharedNotebook = INotebookModel['sharedModel'];
type SharedCell = SharedNotebook['cells'][number];

/** The part of Y.UndoManager used here (YNotebook and YCell expose one as `undoManager`). */
interface IStackItem {
  meta: Map<unknown, unknown>;
}
interface UndoManager {
  undoStack: IStackItem[];
  redoStack: IStackItem[];
  stopCapturing(): void;
  on(
    name: 'stack-item-popped',
    f: (event: { stackItem: IStackItem; type: 'undo' | 'redo' }) => void
  ): void;
}
type StackItem = IStackItem;

function managerOf(shared: SharedNotebook | SharedCell): UndoManager | null {
  return (shared as unknown as { undoManager?: UndoManager | null }).undoManager ?? null;
}

const tracked = new WeakSet<UndoManager>();
/** The top of each cell's own undo stack when the last rewrite was applied. */
const cellTopAtRewrite = new WeakMap<SharedCell, StackItem | undefined>();

function top(stack: StackItem[]): StackItem | undefined {
  return stack[stack.length - 1];
}

function cellTop(cell: SharedCell): StackItem | undefined {
  const manager = managerOf(cell);
  return manager ? top(manager.undoStack) : undefined;
}

/** Keep the flag on the item that an undo (redo) of a flagged item pushes on the redo (undo) stack. */
function track(manager: UndoManager): void {
  if (tracked.has(manager)) {
    return;
  }
  tracked.add(manager);
  manager.on('stack-item-popped', ({ stackItem, type }) => {
    if (stackItem.meta.get(META)) {
      top(type === 'undo' ? manager.redoStack : manager.undoStack)?.meta.set(META, true);
    }
  });
}

/** Run `change` (one transaction) as its own undo stack item, flagged as a rewrite. */
export function asRewrite(shared: SharedNotebook, change: () => void): void {
  const manager = managerOf(shared);
  if (!manager) {
    change();
    return;
  }
  track(manager);
  for (const cell of shared.cells) {
    cellTopAtRewrite.set(cell, cellTop(cell));
  }
  manager.stopCapturing(); // not merged with an edit made just before
  const before = top(manager.undoStack);
  change();
  const item = top(manager.undoStack);
  if (item && item !== before) {
    item.meta.set(META, true);
  }
  manager.stopCapturing(); // nor with the next one
}

/** Ctrl+Z / Ctrl+Shift+Z in command mode: the rewrite when it is the latest change. */
export function addUndoKeys(app: JupyterFrontEnd, tracker: INotebookTracker): void {
  const latestIsRewrite = (redo: boolean): boolean => {
    const notebook = tracker.currentWidget?.content;
    const shared = notebook?.model?.sharedModel;
    if (!notebook || !shared) {
      return false;
    }
    const manager = managerOf(shared);
    if (!manager) {
      return false;
    }
    const item = top(redo ? manager.redoStack : manager.undoStack);
    if (!item?.meta.get(META)) {
      return false;
    }
    // typed in the active cell since the rewrite: Ctrl+Z undoes that typing first
    const cell = notebook.activeCell?.model.sharedModel;
    return redo || !cell || !cellTopAtRewrite.has(cell) || cellTop(cell) === cellTopAtRewrite.get(cell);
  };
  const run = (redo: boolean): Promise<unknown> | void => {
    const notebook = tracker.currentWidget?.content;
    if (notebook && latestIsRewrite(redo)) {
      return redo ? NotebookActions.redo(notebook) : NotebookActions.undo(notebook);
    }
    return app.commands.execute(redo ? 'editmenu:redo' : 'editmenu:undo');
  };
  app.commands.addCommand('stork-jupyter:undo', {
    label: 'Undo (the Stork rewrite when it is the latest change)',
    execute: () => run(false)
  });
  app.commands.addCommand('stork-jupyter:redo', {
    label: 'Redo (the Stork rewrite when it is the latest undone change)',
    execute: () => run(true)
  });
  app.commands.addKeyBinding({
    command: 'stork-jupyter:undo',
    keys: ['Accel Z'],
    selector: COMMAND_MODE
  });
  app.commands.addKeyBinding({
    command: 'stork-jupyter:redo',
    keys: ['Accel Shift Z'],
    selector: COMMAND_MODE
  });
}
