/**
 * The Web Worker that runs a guide lesson with Loom off the page's thread and posts each frame.
 * Messages in: `{ type: "start", slug, settings, live }`, then `{ type: "update", settings }` while it runs.
 * @module
 */
import { getBackend } from "../../mod.ts";
import type { Controls, Settings } from "../lessons/lesson.ts";
import { lessonNamed } from "../lessons/mod.ts";
import { listen } from "./worker_link.ts";

let settings: Settings = {};
let changed: () => void = () => {};

const controls: Controls<Settings> = {
  get settings() {
    return settings;
  },
  changed: () => new Promise<void>((resolve) => changed = resolve),
};

async function start(slug: string, initial: Settings, live: boolean): Promise<void> {
  const entry = lessonNamed(slug);
  if (!entry) throw new Error(`no lesson named ${slug}`);
  settings = initial;
  const backend = getBackend();
  // The CPU backend's pool takes every core where the page is cross-origin isolated, one thread elsewhere.
  const threads = globalThis.crossOriginIsolated ? navigator.hardwareConcurrency : 1;
  for await (const frame of entry.lesson.run(controls, live)) {
    postMessage({ type: "frame", frame, backend: backend.name, threads });
    // Let "update" messages in between frames.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  postMessage({ type: "done" });
}

listen((message: { type: string; slug: string; settings: Settings; live: boolean }) => {
  if (message.type === "start") {
    start(message.slug, message.settings, message.live).catch((error) =>
      postMessage({ type: "error", message: String(error?.message ?? error) })
    );
  } else if (message.type === "update") {
    Object.assign(settings, message.settings);
    changed();
  }
});
