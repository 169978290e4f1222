/**
 * How the site's pages talk to their Web Workers. A worker module that imports Loom finishes loading only after
 * Loom's top-level `await setBackend("cpu")` (which compiles the kernels and starts the thread pool), and a
 * browser drops the messages that reach a worker before its handler exists. So each worker calls `listen`,
 * which sets the handler and then says `{ type: "ready" }`, and the page's `openWorker` holds messages until
 * that word comes.
 * @module
 */

/** What a worker posts once its handler is in place. */
export const READY = { type: "ready" } as const;

/** A started worker, as the page holds it. */
export interface WorkerLink {
  /** Sends a message now, or as soon as the worker is ready. */
  post(message: unknown): void;
  /** Stops the worker. */
  terminate(): void;
}

/**
 * Starts a module worker from `url`; `onReply` gets every message it posts after it is ready, and `onError` a
 * readable reason if it fails to load or throws.
 *
 * @example
 * ```ts
 * import { openWorker } from "./worker_link.ts";
 * // A worker that takes its time to load, like one importing Loom, then echoes.
 * const source = `await new Promise((r) => setTimeout(r, 50));
 *   self.onmessage = (e) => postMessage(e.data * 2);
 *   postMessage({ type: "ready" });`;
 * const reply = await new Promise((resolve, reject) => {
 *   const link = openWorker(`data:text/javascript,${encodeURIComponent(source)}`, (m) => {
 *     link.terminate();
 *     resolve(m);
 *   }, reject);
 *   link.post(21); // posted at once: held until the worker is ready
 * });
 * if (reply !== 42) throw new Error(String(reply));
 * ```
 */
export function openWorker<R>(
  url: string | URL,
  onReply: (message: R) => void,
  onError: (reason: string) => void,
): WorkerLink {
  const worker = new Worker(url, { type: "module" });
  let waiting: unknown[] | null = [];
  worker.onmessage = (event: MessageEvent) => {
    if (waiting && event.data?.type === READY.type) {
      for (const message of waiting) worker.postMessage(message);
      waiting = null;
    } else onReply(event.data as R);
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    // A module that cannot be fetched or parsed raises an error event without a message.
    onError(event.message || `could not load the worker ${url}`);
  };
  return {
    post: (message) => waiting ? waiting.push(message) : worker.postMessage(message),
    terminate: () => worker.terminate(),
  };
}

/**
 * In a worker: handles each message with `handler`, then tells the page the worker is ready. Call it at the
 * end of the worker's module, after its imports have loaded.
 *
 * @example
 * ```ts ignore
 * listen((message: { code: string }) => run(message.code));
 * ```
 */
export function listen<M>(handler: (message: M) => void): void {
  self.onmessage = (event: MessageEvent<M>) => handler(event.data);
  self.postMessage(READY);
}
