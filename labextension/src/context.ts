/** What the panel's views share: the REST client, the active notebook, change signals. */
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import type { StorkApi } from './api';

export class StorkContext {
  /** Emitted when jobs (or what they moved) may have changed: refresh the lists. */
  readonly storeChanged = new Signal<StorkContext, void>(this);

  constructor(
    readonly api: StorkApi,
    private readonly currentNotebook: () => NotebookPanel | null,
    /** The folder open in the file browser ('' for the server root). */
    readonly folder: () => string = () => ''
  ) {}

  /** The active notebook panel, if the current widget is one. */
  notebook(): NotebookPanel | null {
    const panel = this.currentNotebook();
    return panel && !panel.isDisposed ? panel : null;
  }

  /**
   * The `path` that picks the project (nearest stork.toml): the notebook, else the
   * folder open in the file browser (a folder migrated from there lists its jobs).
   */
  project(): string {
    return this.notebook()?.context.localPath ?? this.folder();
  }
}
