/**
 * The Web Worker that runs the guide's lessons with Loom off the page's thread and posts each frame. One worker
 * serves an island for as long as it is on the page (Loom and its thread pool start once).
 * Messages in: `{ type: "start", id, slug, settings, live }` (replaces the run going on), `{ type: "update",
 * settings }` (tells the run going on), `{ type: "stop" }`. Out: frames, "done" and errors, with the start's id.
 * @module
 */
import { getBackend } from "../../mod.ts";
import type { Controls, Settings } from "../lessons/lesson.ts";
import { lessonNamed } from "../lessons/mod.ts";
import { listen } from "./worker_link.ts";

/** The run going on: its id (a newer start or a stop replaces it) and the settings it reads. */
let current = { id: -1, settings: {} as Settings, changed: () => {} };

async function start(id: number, slug: string, initial: Settings, live: boolean): Promise<void> {
  const entry = lessonNamed(slug);
  if (!entry) throw new Error(`no lesson named ${slug}`);
  const run = current = { id, settings: initial, changed: () => {} };
  const controls: Controls<Settings> = {
    get settings() {
      return run.settings;
    },
    changed: () => new Promise<void>((resolve) => run.changed = resolve),
  };
  const backend = getBackend().name;
  // The CPU backend's pool takes every core where the page is cross-origin isolated, one thread elsewhere.
  const threads = globalThis.crossOriginIsolated ? navigator.hardwareConcurrency : 1;
  for await (const frame of entry.lesson.run(controls, live)) {
    if (current !== run) return; // replaced: stop here
    postMessage({ type: "frame", id, frame, backend, threads });
    // Let "update", "start" and "stop" messages in between frames.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (current !== run) return;
  }
  postMessage({ type: "done", id });
}

listen((message: { type: string; id: number; slug: string; settings: Settings; live: boolean }) => {
  if (message.type === "start") {
    start(message.id, message.slug, message.settings, message.live).catch((error) =>
      postMessage({ type: "error", id: message.id, message: String(error?.message ?? error) })
    );
  } else if (message.type === "update") {
    Object.assign(current.settings, message.settings);
    current.changed();
  } else if (message.type === "stop") {
    current = { id: -1, settings: {}, changed: () => {} };
  }
});
