/**
 * The training dashboard's data: the run directories that `deno task train` writes (`runs/<model>-<corpus>/`
 * with `config.json`, `metrics.jsonl` and `status.json`, issue 14). Only those three files of direct
 * sub-directories are ever read, never through a symbolic link.
 * @module
 */

/** One run as the dashboard lists it. */
export interface RunSummary {
  name: string;
  /** `status.json` (running / finished / failed), if present. */
  status: Record<string, unknown> | null;
  /** `config.json`, if present. */
  config: Record<string, unknown> | null;
  /** Lines in `metrics.jsonl`. */
  reports: number;
}

/** Files a run directory may be read for. */
const RUN_FILES = ["config.json", "metrics.jsonl", "status.json"] as const;
type RunFile = (typeof RUN_FILES)[number];

/**
 * Whether `name` can be a run directory's name (letters, digits, `.`, `_`, `-`; not `.` or `..`).
 *
 * @example
 * ```ts
 * import { isRunName } from "./runs.ts";
 * if (!isRunName("skipgram-brown") || isRunName("..") || isRunName("a/b")) throw new Error();
 * ```
 */
export function isRunName(name: string): boolean {
  return /^[\w.-]{1,128}$/.test(name) && name !== "." && name !== "..";
}

/** A run file's text, or null where it is missing, not a plain file, or a link. */
async function readRunFile(root: string, name: string, file: RunFile): Promise<string | null> {
  if (!isRunName(name)) return null;
  const path = `${root}/${name}/${file}`;
  try {
    const [dir, info] = [await Deno.lstat(`${root}/${name}`), await Deno.lstat(path)];
    if (!dir.isDirectory || !info.isFile || info.size > 64 << 20) return null;
    return await Deno.readTextFile(path);
  } catch {
    return null;
  }
}

function parseJson(text: string | null): Record<string, unknown> | null {
  try {
    return text === null ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * The metrics of run `name`: one object per well-formed line of its `metrics.jsonl` (a line being written is
 * left out).
 *
 * @example
 * ```ts
 * import { readMetrics } from "./runs.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/a`);
 * await Deno.writeTextFile(`${root}/a/metrics.jsonl`, '{"step":1,"loss":2}\n{"step":2,"lo');
 * if ((await readMetrics(root, "a")).length !== 1 || (await readMetrics(root, "../a")).length !== 0) throw new Error();
 * ```
 */
export async function readMetrics(root: string, name: string): Promise<Record<string, unknown>[]> {
  const text = await readRunFile(root, name, "metrics.jsonl");
  return (text ?? "").split("\n").flatMap((line) => {
    const row = line.trim() ? parseJson(line) : null;
    return row && typeof row === "object" ? [row] : [];
  });
}

/**
 * The run directories under `root`, by name.
 *
 * @example
 * ```ts
 * import { listRuns } from "./runs.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/lstm-ptb`);
 * await Deno.writeTextFile(`${root}/lstm-ptb/status.json`, '{"state":"running"}');
 * await Deno.mkdir(`${root}/not-a-run`);
 * const runs = await listRuns(root);
 * if (runs.length !== 1 || runs[0].status?.state !== "running") throw new Error();
 * ```
 */
export async function listRuns(root: string): Promise<RunSummary[]> {
  const runs: RunSummary[] = [];
  try {
    for await (const entry of Deno.readDir(root)) {
      if (!entry.isDirectory || entry.isSymlink || !isRunName(entry.name)) continue;
      const [config, status, metrics] = await Promise.all(
        RUN_FILES.map((f) => readRunFile(root, entry.name, f)),
      ).then(([c, m, s]) => [parseJson(c), parseJson(s), m]);
      if (config === null && status === null && metrics === null) continue;
      runs.push({
        name: entry.name,
        config: config as RunSummary["config"],
        status: status as RunSummary["status"],
        reports: typeof metrics === "string" ? metrics.split("\n").filter((l) => l.trim()).length : 0,
      });
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return runs.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * One server-sent-events response for the dashboard: the runs (`data: {"runs": [...summaries]}`, with an `id`
 * that names this state) when they differ from the state the browser last saw (`lastId`, its
 * `Last-Event-ID`), and `retry: 1000` in any case. The response ends at once and the browser's EventSource
 * comes back a second later, so runs are followed live and no request stays open when the visitor leaves.
 *
 * @example
 * ```ts
 * import { runEvents } from "./runs.ts";
 * const root = await Deno.makeTempDir();
 * const first = await runEvents(root, "");
 * const id = first.match(/^id: (.+)$/m)![1];
 * if (!first.includes('data: {"runs":[]}') || (await runEvents(root, id)).includes("data:")) throw new Error();
 * ```
 */
export async function runEvents(root: string, lastId: string): Promise<string> {
  const text = JSON.stringify({ runs: await listRuns(root) });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  const id = Array.from(new Uint8Array(digest).slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
  return id === lastId ? "retry: 1000\n: unchanged\n\n" : `retry: 1000\nid: ${id}\ndata: ${text}\n\n`;
}
