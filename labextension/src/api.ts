/**
 * The REST client of the stork server extension (`/stork/api`, see
 * stork_jupyter/server/openapi.yaml). `ServerConnection.makeRequest` adds the token and
 * the XSRF header, so every call works wherever JupyterLab itself is authenticated.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type { PartialJSONObject } from '@lumino/coreutils';

export type JobStatus =
  | 'pending'
  | 'running'
  | 'paused'
  | 'completed'
  | 'failed'
  | 'cancelled';

export const JOB_STATUSES: JobStatus[] = [
  'pending',
  'running',
  'paused',
  'completed',
  'failed',
  'cancelled'
];
/** What the jobs list filters by: the statuses and `interrupted` (its process gone). */
export const JOB_STATES: string[] = [...JOB_STATUSES, 'interrupted'];
export const RECORD_STATUSES = ['applied', 'undone'];

export interface IPage<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface ISchemaField {
  name?: string;
  type?: string;
  [key: string]: unknown;
}

export interface IDataset {
  id: number;
  project_id: number;
  source_path: string;
  path?: string | null;
  format?: string | null;
  size?: number | null;
  sha256?: string | null;
  schema?: ISchemaField[] | null;
  row_count?: number | null;
  version: number;
  created_at?: string | null;
  updated_at?: string | null;
}

export interface ILocation {
  id: number;
  dataset_id: number;
  url: string;
  table_name?: string | null;
  job_id?: number | null;
  created_at?: string | null;
}

export interface IDatasetDetail extends IDataset {
  locations: ILocation[];
}

export interface IJob {
  id: number;
  kind: string;
  notebook?: string | null;
  path?: string | null;
  /** The absolute folder of the job's project. */
  project_root?: string | null;
  /** The notebook (or folder) the job read, relative to the project root. */
  source_notebook?: string | null;
  /** The one it wrote (the source itself for --in-place; null when none). */
  output_notebook?: string | null;
  destination?: string | null;
  status: JobStatus;
  /** The status, or `interrupted` for a running job whose process is gone. */
  state: string;
  progress: number;
  created_at?: string | null;
  started_at?: string | null;
  finished_at?: string | null;
  error?: string | null;
}

export interface ITransfer {
  id: number;
  job_id: number;
  dataset_id?: number | null;
  source: string;
  target: string;
  status: JobStatus;
  bytes_total?: number | null;
  bytes_done: number;
  rows?: number | null;
  error?: string | null;
}

/** One rewritten cell: what it was when the migration read it, and what it becomes. */
export interface ICellEdit {
  cell_id: string | null;
  cell_index: number | null;
  original_source: string;
  new_source: string;
  /** A finished job's edit: its records' status (`applied`, or `undone` by an undo). */
  status?: string;
}

/** The cell stork adds (imports, connection) above the first rewritten cell. */
export interface ISetupCell {
  index: number;
  cell_type: string;
  source: string;
  metadata: PartialJSONObject;
  /** The id of the cell it goes before (newer servers); else use `index`. */
  before_cell_id?: string | null;
}

export interface IJobDetail extends IJob {
  transfers: ITransfer[];
  totals: {
    transfers: number;
    transfers_done: number;
    bytes_total: number;
    bytes_done: number;
  };
  edits: ICellEdit[];
  setup_cell: ISetupCell | null;
  /** A completed migration of a folder: what each notebook got, from the job itself. */
  notebooks?: IJobNotebook[] | null;
}

export interface IJobNotebook {
  notebook: string | null;
  output: string | null;
  status: 'migrated';
  cells: number;
}

export interface IRecord {
  id: number;
  job_id?: number | null;
  notebook: string;
  path?: string | null;
  cell_id?: string | null;
  cell_index?: number | null;
  line?: number | null;
  api?: string | null;
  original_source: string;
  new_source: string;
  status: string;
  created_at?: string | null;
}

export interface IDestination {
  name: string;
  url: string;
  kind: string;
  layout: string;
}

export interface IAccess {
  cell_index: number;
  cell_id?: string | null;
  line: number;
  col?: number;
  api: string;
  mode: 'read' | 'write';
  format?: string | null;
  path?: string | null;
  resolved: boolean;
  reason?: string | null;
}

export interface IAnalysis {
  path: string;
  accesses: IAccess[];
  problems: { cell_index: number; line: number; message: string }[];
  counts: {
    accesses: number;
    reads: number;
    writes: number;
    unresolved: number;
    problems: number;
  };
}

export interface IBlocker {
  cell_index: number;
  cell_id?: string | null;
  line: number;
  code: string;
  reason: string;
}

export interface IMigrationPreview {
  dry_run: true;
  path: string;
  destination: string;
  changes: (ICellEdit & { cell_index: number })[];
  diff: string;
  setup_cell: ISetupCell | null;
  blockers: IBlocker[];
}

export interface IMigrationStarted {
  job_id: number | null;
  path: string;
  url?: string;
  message?: string;
}

export interface IMigrateRequest {
  path: string;
  to: string;
  dry_run?: boolean;
  partial?: boolean;
  content?: PartialJSONObject;
}

/** One notebook of a project migration (a folder): what happens to it. */
export interface IProjectNotebook {
  notebook: string;
  status: 'migrated' | 'refused' | 'nothing to migrate';
  output: string | null;
  cells: number;
  diff: string;
  blockers: (IBlocker & { notebook?: string })[];
}

export interface IProjectResult {
  job_id: number | null;
  destination: string;
  layout: string;
  dry_run: boolean;
  datasets: { source: string; target: string; size: number; table: string | null }[];
  notebooks: IProjectNotebook[];
}

/** A folder migrated as one project: copies under `output`, or `in_place`. */
export interface IProjectRequest {
  path: string;
  to: string;
  output?: string;
  in_place?: boolean;
  partial?: boolean;
}

export interface IUndone {
  job_id: number;
  notebooks: { notebook: string; cells: number }[];
}

export type ListKind = 'datasets' | 'jobs' | 'records';

export interface IListQuery {
  limit: number;
  offset: number;
  search?: string;
  status?: string;
}

/** A failed request: the server's one-sentence `message`, and any migration blockers. */
/** What an error suggests doing next (the server's `next_steps`). */
export interface INextStep {
  action: 'resume' | 'cancel' | 'undo' | 'watch';
  target: string;
  options: string[];
}

/** How the panel words a next step: the control that does it. */
export function panelStep(step: INextStep): string {
  switch (step.action) {
    case 'resume':
      return `Resume on job ${step.target} in the Jobs list`;
    case 'cancel':
      return `Cancel on job ${step.target} in the Jobs list`;
    case 'undo':
      return `Undo on the job that wrote ${step.target} in the Jobs list`;
    default:
      return `job ${step.target} in the Jobs list`;
  }
}

/** An error message with its next steps in the panel's words. */
export function withNextSteps(message: string, steps: INextStep[] = []): string {
  return steps.length ? `${message} (${steps.map(panelStep).join(' or ')})` : message;
}

export class StorkApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly blockers: IBlocker[] = []
  ) {
    super(message);
  }
}

export class StorkApi {
  constructor(
    private readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  list<T>(kind: ListKind, project: string, query: IListQuery): Promise<IPage<T>> {
    return this.request<IPage<T>>(kind, {
      path: project,
      limit: String(query.limit),
      offset: String(query.offset),
      search: query.search || undefined,
      status: query.status || undefined
    });
  }

  dataset(id: number, project: string): Promise<IDatasetDetail> {
    return this.request(`datasets/${id}`, { path: project });
  }

  job(id: number, project: string): Promise<IJobDetail> {
    return this.request(`jobs/${id}`, { path: project });
  }

  record(id: number, project: string): Promise<IRecord> {
    return this.request(`records/${id}`, { path: project });
  }

  async destinations(project: string): Promise<IDestination[]> {
    const reply = await this.request<{ destinations: IDestination[] }>(
      'destinations',
      { path: project }
    );
    return reply.destinations;
  }

  analyze(path: string, content: PartialJSONObject): Promise<IAnalysis> {
    return this.request('analyze', {}, { path, content });
  }

  preview(request: IMigrateRequest): Promise<IMigrationPreview> {
    return this.request('migrate', {}, { ...request, dry_run: true });
  }

  migrate(request: IMigrateRequest): Promise<IMigrationStarted> {
    return this.request('migrate', {}, { ...request, dry_run: false });
  }

  previewProject(request: IProjectRequest): Promise<IProjectResult> {
    return this.request('migrate', {}, { ...request, dry_run: true });
  }

  migrateProject(request: IProjectRequest): Promise<IMigrationStarted> {
    return this.request('migrate', {}, { ...request, dry_run: false });
  }

  /** Undo a completed migration in every notebook it wrote. */
  undoJob(id: number, project: string): Promise<IUndone> {
    return this.request(`jobs/${id}/undo`, { path: project }, {});
  }

  jobAction(
    id: number,
    action: 'pause' | 'resume' | 'cancel',
    project: string
  ): Promise<unknown> {
    return this.request(`jobs/${id}/${action}`, { path: project }, {});
  }

  private async request<T>(
    endpoint: string,
    query: Record<string, string | undefined>,
    body?: unknown
  ): Promise<T> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) {
        params.set(key, value);
      }
    }
    const qs = params.toString();
    const url =
      URLExt.join(this.settings.baseUrl, 'stork/api', endpoint) +
      (qs ? `?${qs}` : '');
    const init: RequestInit =
      body === undefined
        ? { method: 'GET' }
        : { method: 'POST', body: JSON.stringify(body) };
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      throw new StorkApiError(
        `Stork could not reach the server: ${String(error)}`,
        0
      );
    }
    const text = await response.text();
    let data: unknown = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const error = (data ?? {}) as {
        message?: string;
        blockers?: IBlocker[];
        next_steps?: INextStep[];
      };
      throw new StorkApiError(
        error.message
          ? withNextSteps(error.message, error.next_steps)
          : `The Stork server answered ${response.status} ${response.statusText}.`,
        response.status,
        error.blockers ?? []
      );
    }
    return data as T;
  }
}
