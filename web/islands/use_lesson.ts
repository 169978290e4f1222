/**
 * The hook every guide island uses: the lesson's settings live in the URL; the first frame comes from the
 * server; "Run live" trains in a Web Worker that streams frames, so the page never freezes.
 * @module
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { type Settings, settingsFrom, settingsQuery } from "../lessons/lesson.ts";
import { openWorker, type WorkerLink } from "./worker_link.ts";

/** What the server gives a lesson island: the lesson's name, its settings' rules and the first frame. */
export interface LessonProps<S extends Settings, F> {
  slug: string;
  defaults: S;
  limits: { readonly [K in keyof S]?: readonly [number, number] };
  choices?: { readonly [K in keyof S]?: readonly string[] };
  first: F;
}

/** Messages the lesson worker sends. */
export type WorkerReply<F> =
  | { type: "frame"; id: number; frame: F; backend: string; threads: number }
  | { type: "done"; id: number }
  | { type: "error"; id: number; message: string };

/** A lesson island's state and actions. */
export interface LessonState<S extends Settings, F> {
  settings: S;
  frame: F;
  running: boolean;
  error: string;
  backend: string;
  /** Changes settings (kept in the URL); recomputes the first frame, or tells a running lesson. */
  set(patch: Partial<S>): void;
  /** Starts training from scratch. */
  run(): void;
  /** Stops training. */
  stop(): void;
}

/** The URL of the bundled lesson worker, beside the islands. */
const WORKER_URL = "/islands/lesson_worker.js";

/**
 * Runs a lesson island (browser only; on the server it returns the first frame).
 *
 * @example
 * ```ts ignore
 * const lesson = useLesson(props);
 * lesson.run();
 * ```
 */
export function useLesson<S extends Settings, F>(props: LessonProps<S, F>): LessonState<S, F> {
  const [settings, setSettings] = useState<S>(props.defaults);
  const [frame, setFrame] = useState<F>(props.first);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState("");
  const [backend, setBackend] = useState("");
  const worker = useRef<WorkerLink | null>(null);
  const live = useRef(false);

  const runId = useRef(0);

  const onReply = (reply: WorkerReply<F>) => {
    if (reply.id !== runId.current) return; // from a run that a newer one replaced
    if (reply.type === "frame") {
      setFrame(reply.frame);
      setBackend(`${reply.backend}${reply.threads > 1 ? `, ${reply.threads} threads` : ", 1 thread"}`);
    } else {
      if (reply.type === "error") setError(reply.message);
      setRunning(false);
      live.current = false;
    }
  };
  // One worker per island, started on first use and kept: Loom and its threads start once.
  const link = () =>
    worker.current ??= openWorker(WORKER_URL, onReply, (reason) => {
      setError(reason);
      setRunning(false);
      live.current = false;
      worker.current?.terminate();
      worker.current = null;
    });

  const start = (s: S, trainLive: boolean) => {
    live.current = trainLive;
    setRunning(trainLive);
    setError("");
    link().post({ type: "start", id: ++runId.current, slug: props.slug, settings: s, live: trainLive });
  };

  useEffect(() => {
    const fromUrl = settingsFrom(props, new URLSearchParams(location.search));
    if (settingsQuery(props.defaults, fromUrl) !== "") {
      setSettings(fromUrl);
      start(fromUrl, false);
    }
    return () => worker.current?.terminate();
  }, []);

  const set = (patch: Partial<S>) => {
    const next = settingsFrom(
      props,
      new URLSearchParams(settingsQuery(props.defaults, { ...settings, ...patch })),
    );
    setSettings(next);
    const query = settingsQuery(props.defaults, next);
    history.replaceState(null, "", query ? `?${query}` : location.pathname);
    if (live.current && worker.current) worker.current.post({ type: "update", settings: next });
    else start(next, false);
  };
  return {
    settings,
    frame,
    running,
    error,
    backend,
    set,
    run: () => start(settings, true),
    stop: () => {
      runId.current++;
      worker.current?.post({ type: "stop" });
      live.current = false;
      setRunning(false);
    },
  };
}
