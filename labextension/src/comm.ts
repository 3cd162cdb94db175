/**
 * The `stork_jupyter` comm: lets `%stork migrate` in a kernel apply its edits to the open
 * document (not the file), exactly as the Migrate dialog does.
 *
 * Protocol: the kernel opens the comm with `{type: "hello", version}`, the frontend
 * answers `{type: "ready", path}` (the notebook relative to the server root). Then
 * `{type: "apply_edits", job_id, path, edits, setup_cell, output}` is answered with
 * `{type: "applied", job_id, cells}` or `{type: "error", job_id, message}`.
 *
 * Every notebook panel registers the target on its kernel connection, again when the
 * kernel changes (the registry survives restarts and reconnects of one connection).
 * When a kernel already has a stork comm (it loaded the extension before this page was
 * opened), the panel opens a fresh comm to it with `{type: "ready", path}`.
 * Several panels may share one kernel; each has its own connection, so each gets the
 * comm: only the panel whose path is the message's `path` applies (or, if none has
 * it, the first panel on that kernel), so the edits are applied once.
 */
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { JSONObject } from '@lumino/coreutils';
import type { ICellEdit, ISetupCell } from './api';
import type { StorkContext } from './context';
import { applyToPanel, notifyNotApplied } from './migration';

export const COMM_TARGET = 'stork_jupyter';

interface IApplyEditsMsg {
  type: 'apply_edits';
  job_id: number | null;
  path?: string;
  edits: ICellEdit[];
  setup_cell: ISetupCell | null;
  output?: string;
}

/** Each panel's live comm to its kernel (one per panel at most). */
const live = new WeakMap<NotebookPanel, Kernel.IComm>();

/** Register the comm target on every notebook panel's kernel, now and later. */
export function connectKernelComms(tracker: INotebookTracker, ctx: StorkContext): void {
  const watch = (panel: NotebookPanel): void => {
    const session = panel.sessionContext;
    const register = (): void => {
      const kernel = session.session?.kernel;
      if (kernel && !kernel.isDisposed) {
        kernel.registerCommTarget(COMM_TARGET, (comm, msg) => {
          attach(panel, tracker, ctx, comm);
          if ((msg.content.data as { type?: string })?.type === 'hello') {
            comm.send({ type: 'ready', path: panel.context.localPath });
          }
        });
        void reconnect(panel, tracker, ctx, kernel);
      }
    };
    session.kernelChanged.connect(register);
    session.connectionStatusChanged.connect((_, status) => {
      if (status === 'connected') {
        register();
      }
    });
    register();
    panel.disposed.connect(() => {
      session.kernelChanged.disconnect(register);
    });
  };
  tracker.forEach(watch);
  tracker.widgetAdded.connect((_, panel) => watch(panel));
}

/**
 * A kernel that loaded the extension before this page existed (the page was reloaded,
 * the notebook reopened) has a comm open to a page that is gone: open a fresh one with
 * `ready`, which the kernel takes as its link. Asking for comm_info first avoids opening
 * a comm to a kernel without the extension (it would log an unknown target).
 */
async function reconnect(
  panel: NotebookPanel,
  tracker: INotebookTracker,
  ctx: StorkContext,
  kernel: Kernel.IKernelConnection
): Promise<void> {
  try {
    const reply = await kernel.requestCommInfo({ target_name: COMM_TARGET });
    const current = live.get(panel);
    if (
      reply.content.status !== 'ok' ||
      !Object.keys(reply.content.comms).length ||
      (current && !current.isDisposed) ||
      kernel.isDisposed
    ) {
      return;
    }
    const comm = kernel.createComm(COMM_TARGET);
    attach(panel, tracker, ctx, comm);
    comm.open({ type: 'ready', path: panel.context.localPath });
  } catch {
    // no kernel or no answer: the kernel's hello will link it when the extension loads
  }
}

/** The panel that should apply a message for `path` arriving on `panel`'s kernel. */
function targetPanel(
  tracker: INotebookTracker,
  panel: NotebookPanel,
  path: string | undefined
): NotebookPanel | null {
  const kernelId = panel.sessionContext.session?.kernel?.id;
  const sharing: NotebookPanel[] = [];
  tracker.forEach(p => {
    if (!p.isDisposed && p.sessionContext.session?.kernel?.id === kernelId) {
      sharing.push(p);
    }
  });
  if (!path) {
    return sharing[0] ?? panel;
  }
  return sharing.find(p => p.context.localPath === path) ?? sharing[0] ?? panel;
}

/** Answer the kernel's messages on `comm` for `panel`. */
function attach(
  panel: NotebookPanel,
  tracker: INotebookTracker,
  ctx: StorkContext,
  comm: Kernel.IComm
): void {
  live.set(panel, comm);
  comm.onMsg = (message: KernelMessage.ICommMsgMsg) => {
    const data = message.content.data as unknown as IApplyEditsMsg;
    if (data?.type !== 'apply_edits') {
      return;
    }
    if (targetPanel(tracker, panel, data.path) !== panel) {
      return; // another panel on this kernel has that notebook open
    }
    let reply: JSONObject;
    try {
      const result = applyToPanel(
        panel,
        data.edits ?? [],
        data.setup_cell ?? null,
        data.output
      );
      reply = { type: 'applied', job_id: data.job_id, cells: result.cells };
    } catch (error) {
      const message = (error as Error).message;
      notifyNotApplied(message); // names the cell, as the dialog does
      reply = { type: 'error', job_id: data.job_id, message };
    }
    comm.send(reply);
    ctx.storeChanged.emit();
  };
}
