/**
 * Following a migration job to its end and applying its edits to the open notebook,
 * shared by the Migrate dialog and the kernel comm (`%stork migrate`).
 */
import { Notification, showErrorMessage } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { ICellEdit, IJobDetail, ISetupCell } from './api';
import type { StorkContext } from './context';
import { plural } from './dom';
import { applyMigrationEdits, EditConflictError } from './edits';
import type { IApplyResult } from './edits';

const FOLLOW_INTERVAL_MS = 1000;
/** A migration is followed for at most this long (then the Jobs tab still shows it). */
const FOLLOW_MAX_MS = 2 * 60 * 60 * 1000;
const FINISHED = new Set(['completed', 'failed', 'cancelled']);

/**
 * Poll GET jobs/{id} every second until the job completes, fails, is cancelled or
 * pauses, `alive()` turns false, or two hours pass; `onUpdate` sees each state.
 */
export async function followJob(
  ctx: StorkContext,
  project: string,
  jobId: number,
  onUpdate: (job: IJobDetail) => void,
  alive: () => boolean
): Promise<IJobDetail | null> {
  const deadline = Date.now() + FOLLOW_MAX_MS;
  while (Date.now() < deadline && alive()) {
    const job = await ctx.api.job(jobId, project);
    onUpdate(job);
    if (FINISHED.has(job.status) || job.status === 'paused' || job.state === 'interrupted') {
      return job;
    }
    await new Promise(resolve => window.setTimeout(resolve, FOLLOW_INTERVAL_MS));
  }
  return null;
}

/**
 * Apply `edits` (and the setup cell) to `panel`'s model as one undo step and tell the
 * user; throws EditConflictError (nothing applied) when a cell changed meanwhile.
 */
export function applyToPanel(
  panel: NotebookPanel,
  edits: ICellEdit[],
  setup: ISetupCell | null,
  output?: string
): IApplyResult {
  const model = panel.content.model;
  if (!model) {
    throw new EditConflictError(`Stork: ${panel.context.localPath} is not loaded.`);
  }
  const hint = output
    ? `the migrated notebook is also at ${output}`
    : "the migrated notebook is also in the project's .stork/outputs/ folder";
  const result = applyMigrationEdits(model, edits, setup, hint);
  if (result.cells) {
    // short: toasts cut long text (the dialog and the docs say more)
    Notification.success(
      `Stork: ${plural(result.cells, 'cell')} rewritten in ` +
        `${PathExt.basename(panel.context.localPath)} (unsaved; Esc, then Ctrl+Z undoes)`,
      { autoClose: 8000 }
    );
  } else {
    Notification.info(`Stork: no cell of ${panel.context.localPath} needed a rewrite.`, {
      autoClose: 5000
    });
  }
  return result;
}

/**
 * Tell the user nothing was applied: a short toast (toasts cut long text) whose
 * Details button shows the whole message, with where the rewritten copy is.
 */
export function notifyNotApplied(message: string): void {
  const end = message.indexOf('. ');
  const summary = end > 0 ? message.slice(0, end + 1) : message;
  Notification.error(summary, {
    autoClose: false,
    actions: [
      {
        label: 'Details',
        caption: 'Show the whole message',
        callback: () => void showErrorMessage('Stork: nothing applied', message)
      }
    ]
  });
}

/** `applyToPanel` for a completed job; a conflict is shown, and null returned. */
export function applyJob(panel: NotebookPanel, job: IJobDetail): IApplyResult | string {
  try {
    return applyToPanel(panel, job.edits, job.setup_cell);
  } catch (error) {
    const message = (error as Error).message;
    notifyNotApplied(message);
    return message;
  }
}
