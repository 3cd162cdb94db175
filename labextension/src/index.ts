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
    // the default file browser's folder, read off its widget (id "filebrowser") so
    // that the panel needs no @jupyterlab/filebrowser dependency of its own
    const folder = (): string => {
      for (const widget of shell.widgets('left')) {
        if (widget.id === 'filebrowser') {
          return (widget as unknown as { model?: { path?: string } }).model?.path ?? '';
        }
      }
      return '';
    };
    const ctx = new StorkContext(new StorkApi(), current, folder);
    const panel = new StorkPanel(ctx, nb => shell.activateById(nb.id));
    shell.add(panel, 'left', { rank: 600 });
    tracker.currentChanged.connect(() => panel.updateNotebook());
    connectKernelComms(tracker, ctx);
    addUndoKeys(app, tracker);
  }
};

export default plugin;
