/**
 * What a guide lesson is: settings with defaults and limits (so every view fits in a URL and no setting can
 * hang a browser), and a run that yields snapshots ("frames") for the page to draw. The first frame is cheap,
 * so the server precomputes it; the rest train. The same lesson runs in a Web Worker in the browser and in
 * Deno (the tests, the server's first frame).
 * @module
 */

/** A lesson's settings: flat, so that each one is a URL query parameter. */
export type Settings = Record<string, number | string>;

/**
 * What a running lesson may read while it runs: the settings as they are now (the page can change some, such
 * as the sentence whose attention is shown) and a promise that resolves when they change next.
 *
 * @example
 * ```ts
 * import { fixedControls } from "./lesson.ts";
 * const controls = fixedControls({ steps: 10 });
 * if (controls.settings.steps !== 10) throw new Error();
 * ```
 */
export interface Controls<S extends Settings> {
  /** The settings now. */
  readonly settings: S;
  /** Resolves on the next change of the settings (never, where nothing can change them). */
  changed(): Promise<void>;
}

/**
 * A lesson: its URL name, default settings, the range of each number, and its run.
 *
 * @example
 * ```ts
 * import type { Lesson } from "./lesson.ts";
 * const count: Lesson<{ to: number }, number> = {
 *   slug: "count",
 *   defaults: { to: 3 },
 *   limits: { to: [1, 10] },
 *   async *run({ settings }) { for (let i = 1; i <= settings.to; i++) yield i; },
 * };
 * if (count.defaults.to !== 3) throw new Error();
 * ```
 */
export interface Lesson<S extends Settings, F> {
  /** The page's name under /guide/. */
  readonly slug: string;
  /** The settings a page starts from. */
  readonly defaults: S;
  /** Inclusive [min, max] of each numeric setting; integers where the default is one. */
  readonly limits: { readonly [K in keyof S]?: readonly [number, number] };
  /** Allowed values of each text setting with a fixed choice. */
  readonly choices?: { readonly [K in keyof S]?: readonly string[] };
  /** Yields the first frame at once, then (where `live`) frames as it trains. */
  run(controls: Controls<S>, live?: boolean): AsyncGenerator<F>;
}

/**
 * Controls whose settings never change.
 *
 * @example
 * ```ts
 * import { fixedControls } from "./lesson.ts";
 * if (fixedControls({ a: 1 }).settings.a !== 1) throw new Error();
 * ```
 */
export function fixedControls<S extends Settings>(settings: S): Controls<S> {
  return { settings, changed: () => new Promise<void>(() => {}) };
}

/** Longest text setting accepted (a pasted corpus), in characters. */
export const MAX_TEXT = 200_000;

/**
 * Settings read from URL query parameters over the lesson's defaults: numbers are clamped to their limits
 * (and rounded where the default is an integer), choices outside the list and unparsable numbers keep the
 * default, text is cut to {@linkcode MAX_TEXT} characters.
 *
 * @example
 * ```ts
 * import { settingsFrom } from "./lesson.ts";
 * const lesson = { defaults: { steps: 100, lr: 0.1, model: "sg" }, limits: { steps: [1, 500] as const },
 *   choices: { model: ["sg", "cbow"] } };
 * const s = settingsFrom(lesson, new URLSearchParams("steps=9000&lr=x&model=cbow"));
 * if (s.steps !== 500 || s.lr !== 0.1 || s.model !== "cbow") throw new Error();
 * ```
 */
export function settingsFrom<S extends Settings>(
  lesson: Pick<Lesson<S, unknown>, "defaults" | "limits" | "choices">,
  query: URLSearchParams,
): S {
  const settings = { ...lesson.defaults } as Record<string, number | string>;
  for (const [name, fallback] of Object.entries(lesson.defaults)) {
    const raw = query.get(name);
    if (raw === null) continue;
    if (typeof fallback === "number") {
      const value = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(value)) continue;
      const [min, max] = lesson.limits[name] ?? [-Infinity, Infinity];
      const clamped = Math.min(max, Math.max(min, value));
      settings[name] = Number.isInteger(fallback) ? Math.round(clamped) : clamped;
    } else {
      const allowed = lesson.choices?.[name];
      if (allowed && !allowed.includes(raw)) continue;
      settings[name] = raw.slice(0, MAX_TEXT);
    }
  }
  return settings as S;
}

/**
 * The query string of the settings that differ from the defaults (so a shared link stays short).
 *
 * @example
 * ```ts
 * import { settingsQuery } from "./lesson.ts";
 * if (settingsQuery({ a: 1, b: "x" }, { a: 2, b: "x" }) !== "a=2") throw new Error();
 * ```
 */
export function settingsQuery<S extends Settings>(defaults: S, settings: S): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(settings)) {
    if (value !== defaults[name]) query.set(name, String(value));
  }
  return query.toString();
}
