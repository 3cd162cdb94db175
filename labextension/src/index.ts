/**
 * stork-jupyter: the Stork sidebar (datasets, jobs, records; Analyze and Migrate on the
 * current notebook) and the kernel comm that lets `%stork migrate` rewrite the open
 * document.
 */
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { StorkApi } from './api';
import { connectKernelComms } from './comm';
import { StorkContext } from './context';
import { StorkPanel } from './panel';
import { addUndoKeys } from './undo';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'stork-jupyter:plugin',
  description: 'The Stork sidebar panel.',
  autoStart: true,
  requires: [ILabShell, INotebookTracker],
  activate: (app: JupyterFrontEnd, shell: ILabShell, tracker: INotebookTracker) => {
    // The notebook the actions apply to: the tracker's current one, which stays set
    // while the sidebar has the focus (it is the last focused notebook).
    const current = (): NotebookPanel | null => tracker.currentWidget;
    const ctx = new StorkContext(new StorkApi(), current);
    const panel = new StorkPanel(ctx, nb => shell.activateById(nb.id));
    shell.add(panel, 'left', { rank: 600 });
    tracker.currentChanged.connect(() => panel.updateNotebook());
    connectKernelComms(tracker, ctx);
    addUndoKeys(app, tracker);
  }
};

export default plugin;
