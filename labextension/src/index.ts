import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Widget } from '@lumino/widgets';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'stork-jupyter:plugin',
  description: 'The Stork sidebar panel.',
  autoStart: true,
  requires: [ILabShell],
  activate: (app: JupyterFrontEnd, shell: ILabShell) => {
    const panel = new Widget();
    panel.id = 'stork-panel';
    panel.addClass('jp-StorkPanel');
    panel.title.caption = 'Stork';
    panel.title.label = 'Stork';
    shell.add(panel, 'left', { rank: 600 });
  }
};

export default plugin;
