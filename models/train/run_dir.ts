/**
 * A run directory: everything one training run leaves, in files a person or a plotting script can read.
 * `config.json` (model, corpus, config), `vocab.json`, `checkpoint.safetensors`, `metrics.jsonl` (one JSON
 * object per report or evaluation), `status.json` (running, finished, interrupted or failed, with the
 * reason) and, for models with word vectors, `vectors.txt` (word2vec's text format). JSON files are written
 * atomically (a temporary file renamed over the old one).
 * @module
 */

/**
 * The state a run is in.
 *
 * @example
 * ```ts
 * import type { RunStatus } from "./run_dir.ts";
 * const s: RunStatus = { state: "failed", reason: "corpus x.txt is empty", updated: new Date().toISOString() };
 * if (s.state !== "failed") throw new Error();
 * ```
 */
export interface RunStatus {
  /** Where the run is. */
  state: "running" | "finished" | "interrupted" | "failed";
  /** Why it stopped (interrupted, failed). */
  reason?: string;
  /** When this was written. */
  updated: string;
  /** Steps done, when known. */
  steps?: number;
}

/**
 * What `config.json` holds: enough to resume the run, evaluate it or sample from it.
 *
 * @example
 * ```ts
 * import type { RunConfig } from "./run_dir.ts";
 * const c: RunConfig = { model: "skipgram", corpus: "brown", config: { dim: 100 } };
 * if (c.model !== "skipgram") throw new Error();
 * ```
 */
export interface RunConfig {
  /** The model's name in the registry. */
  model: string;
  /** The corpus: "brown" or a file's absolute path. */
  corpus: string;
  /** The model's whole config. */
  config: Record<string, unknown>;
  /** The recipe it came from, if any. */
  recipe?: string;
}

/**
 * A run directory's files.
 *
 * @example
 * ```ts
 * import { RunDir } from "./run_dir.ts";
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const dir = new RunDir(await Deno.makeTempDir());
 *   await dir.create();
 *   await dir.writeStatus({ state: "running" });
 *   await dir.appendMetrics({ step: 1, loss: 2 });
 *   if ((await dir.readStatus())?.state !== "running" || (await dir.readMetrics()).length !== 1) throw new Error();
 *   await Deno.remove(dir.path, { recursive: true });
 * }
 * ```
 */
export class RunDir {
  /** A run directory at `path` (not created yet). */
  constructor(readonly path: string) {}

  /** The path of a file in it. */
  file(name: string): string {
    return `${this.path}/${name}`;
  }

  /** The checkpoint's path. */
  get checkpoint(): string {
    return this.file("checkpoint.safetensors");
  }

  /**
   * Creates the directory and checks that it can be written, with a one-line error naming the fix.
   */
  async create(): Promise<void> {
    try {
      await Deno.mkdir(this.path, { recursive: true });
      const probe = this.file(".write-check");
      await Deno.writeTextFile(probe, "");
      await Deno.remove(probe);
    } catch (e) {
      const why = e instanceof Deno.errors.AlreadyExists
        ? "a file is in the way"
        : (e as Error).message.split("\n")[0];
      throw new Error(
        `run directory ${this.path} cannot be written (${why}); pass --run with a writable directory`,
      );
    }
  }

  /** Whether the directory holds a run (a config.json). */
  async exists(): Promise<boolean> {
    return await this.readJson("config.json") !== undefined;
  }

  /** A JSON file's value, or undefined when it is absent; unreadable JSON is an error naming the fix. */
  async readJson<T>(name: string): Promise<T | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.file(name));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`${this.file(name)} is not valid JSON; delete the run directory or run with --fresh`);
    }
  }

  /** Writes a JSON file atomically. */
  async writeJson(name: string, value: unknown): Promise<void> {
    await this.writeText(name, JSON.stringify(value, null, 2) + "\n");
  }

  /** Writes a text file atomically. */
  async writeText(name: string, text: string): Promise<void> {
    await this.writeBytes(name, new TextEncoder().encode(text));
  }

  /** Writes a file atomically. */
  async writeBytes(name: string, bytes: Uint8Array): Promise<void> {
    const temporary = this.file(`.${name}.${Deno.pid}.tmp`);
    await Deno.writeFile(temporary, bytes);
    await Deno.rename(temporary, this.file(name));
  }

  /** Writes status.json with the time. */
  async writeStatus(status: Omit<RunStatus, "updated">): Promise<void> {
    await this.writeJson("status.json", { ...status, updated: new Date().toISOString() });
  }

  /** status.json, if any. */
  readStatus(): Promise<RunStatus | undefined> {
    return this.readJson<RunStatus>("status.json");
  }

  /** Appends one line to metrics.jsonl. */
  async appendMetrics(record: Record<string, unknown>): Promise<void> {
    await Deno.writeTextFile(this.file("metrics.jsonl"), JSON.stringify(record) + "\n", { append: true });
  }

  /** The records of metrics.jsonl (none when absent). */
  async readMetrics(): Promise<Record<string, unknown>[]> {
    try {
      const text = await Deno.readTextFile(this.file("metrics.jsonl"));
      return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
  }

  /** Keeps only the metrics of steps up to `step` (a resumed run repeats the steps after its checkpoint). */
  async truncateMetrics(step: number): Promise<void> {
    const kept = (await this.readMetrics()).filter((r) => typeof r.step !== "number" || r.step <= step);
    await this.writeText("metrics.jsonl", kept.map((r) => JSON.stringify(r) + "\n").join(""));
  }

  /** Removes what a run left (for --fresh), keeping the directory. */
  async clear(): Promise<void> {
    for (
      const name of [
        "checkpoint.safetensors",
        "metrics.jsonl",
        "status.json",
        "vectors.txt",
        "vocab.json",
        "config.json",
      ]
    ) {
      await Deno.remove(this.file(name)).catch(() => {});
    }
  }
}
