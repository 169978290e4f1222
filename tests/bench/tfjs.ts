/**
 * TensorFlow.js for the comparisons: tfjs-core with its wasm backend (XNNPACK) and its cpu backend (plain
 * JavaScript), both in this process, one active at a time.
 *
 * Loaded dynamically so that a machine without the npm packages still runs Loom's side (TF.js cells then
 * read "n/a").
 * @module
 */

// deno-lint-ignore no-import-prefix -- a bench-only dependency, pinned here rather than in deno.json
import type * as TfCore from "npm:@tensorflow/tfjs-core@4.22.0";

/** The tfjs-core module. */
export type Tf = typeof TfCore;
/** A TF.js tensor. */
export type TfTensor = TfCore.Tensor;
/** The TF.js backends compared. */
export type TfBackend = "wasm" | "cpu";

/** TF.js, loaded, with the backends that initialised. */
export interface TfSetup {
  /** The tfjs-core module. */
  tf: Tf;
  /** Backends that initialised here. */
  backends: TfBackend[];
  /** Makes `name` the active backend (cheap once initialised; tensors stay with the backend that made them). */
  use(name: TfBackend): Promise<void>;
}

/** Loads TF.js and initialises both backends; null (with the reason on stderr) when it cannot. */
export async function loadTfjs(): Promise<TfSetup | null> {
  try {
    // deno-lint-ignore no-import-prefix -- as above
    const tf: Tf = await import("npm:@tensorflow/tfjs-core@4.22.0");
    // tfjs-core's entry point leaves out the gradients, and its module that registers them is ESM with
    // extensionless imports, which neither Node nor Deno resolves. The @tensorflow/tfjs bundle carries
    // them and registers them with the same tfjs-core: that is how TF.js users train.
    // deno-lint-ignore no-import-prefix -- as above
    await import("npm:@tensorflow/tfjs@4.22.0");
    // Both backend packages register themselves with tfjs-core on import.
    // deno-lint-ignore no-import-prefix -- as above
    await import("npm:@tensorflow/tfjs-backend-cpu@4.22.0");
    // deno-lint-ignore no-import-prefix -- as above
    const wasm = await import("npm:@tensorflow/tfjs-backend-wasm@4.22.0");
    // The .wasm binaries sit beside the package's entry point in Deno's npm cache; a plain path works
    // where a file:// URL would go through fetch.
    const dist = new URL("./", import.meta.resolve("npm:@tensorflow/tfjs-backend-wasm@4.22.0"));
    wasm.setWasmPaths(dist.protocol === "file:" ? decodeURIComponent(dist.pathname) : dist.href);
    // Production mode drops TF.js's debug checks and its "install tfjs-node" banner: we time TF.js as
    // a user would ship it.
    tf.enableProdMode();
    const backends: TfBackend[] = [];
    for (const name of ["wasm", "cpu"] as const) {
      if (await tf.setBackend(name)) backends.push(name);
      else console.error(`TF.js: the ${name} backend did not initialise`);
    }
    return {
      tf,
      backends,
      use: async (name) => {
        if (tf.getBackend() !== name) await tf.setBackend(name);
      },
    };
  } catch (error) {
    console.error("TF.js unavailable:", error instanceof Error ? error.message : error);
    return null;
  }
}

/** Whether TF.js's wasm backend may use threads here (in Deno it may not: no cross-origin-isolated workers). */
export function wasmThreads(setup: TfSetup): boolean {
  return setup.tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT") as boolean;
}

/** A host copy of a Loom tensor: its elements and shape. */
export interface HostTensor {
  /** The elements, row-major. */
  data: Float32Array | Int32Array;
  /** The shape. */
  shape: number[];
}

/** A tree of TF.js variables mirroring a Loom params pytree. */
export type TfParams = any;

/** The same model as a Loom one, written with tfjs-core ops: params and inputs to logits `[..., classes]`. */
export type TfForward = (tf: Tf, params: TfParams, x: TfTensor) => TfTensor;

function isHost(node: unknown): node is HostTensor {
  return node !== null && typeof node === "object" && "data" in node && ArrayBuffer.isView(node.data);
}

/** TF.js variables with the values of a host params tree (so both sides start from the same weights). */
function toVariables(tf: Tf, tree: unknown, into: TfCore.Variable[]): TfParams {
  if (isHost(tree)) {
    const v = tf.variable(tf.tensor(tree.data, tree.shape));
    into.push(v);
    return v;
  }
  if (Array.isArray(tree)) return tree.map((t) => toVariables(tf, t, into));
  if (tree !== null && typeof tree === "object") {
    return Object.fromEntries(Object.entries(tree).map(([k, t]) => [k, toVariables(tf, t, into)]));
  }
  return tree;
}

/** What a TF.js training step needs: the Loom model's weights and data as host arrays. */
export interface TfTraining {
  /** Params from Loom's `init`, as a tree of host tensors. */
  params: unknown;
  /** The model. */
  forward: TfForward;
  /** Inputs. */
  x: HostTensor;
  /** int32 labels for every output position. */
  y: HostTensor;
  /** Number of classes (the logits' last dim). */
  classes: number;
  /** Adam's learning rate. */
  lr: number;
  /** Adam's epsilon. */
  eps: number;
}

/**
 * A TF.js training step on `backend` as a contender: `optimizer.minimize` over softmax cross-entropy
 * (forward, backward and Adam), the way a TF.js user writes it. `losses` collects every step's loss.
 */
export async function tfTrainer(
  setup: TfSetup,
  backend: TfBackend,
  spec: TfTraining,
): Promise<{ name: string; prepare: () => Promise<void>; run: () => void; losses: number[] }> {
  const { tf } = setup;
  // Variables and data belong to the backend that is active when they are made.
  await setup.use(backend);
  const variables: TfCore.Variable[] = [];
  const params = toVariables(tf, spec.params, variables);
  const x = tf.tensor(spec.x.data, spec.x.shape);
  const targets = tf.oneHot(tf.tensor(spec.y.data, [spec.y.data.length], "int32"), spec.classes);
  const optimizer = tf.train.adam(spec.lr, 0.9, 0.999, spec.eps);
  const losses: number[] = [];
  return {
    name: `tfjs-${backend}`,
    prepare: () => setup.use(backend),
    run() {
      const cost = optimizer.minimize(
        () => {
          const logits = tf.reshape(spec.forward(tf, params, x), [-1, spec.classes]);
          return tf.losses.softmaxCrossEntropy(targets, logits) as TfCore.Scalar;
        },
        true,
        variables,
      )!;
      losses.push(cost.dataSync()[0]);
      cost.dispose();
    },
    losses,
  };
}

/** `x · w + b` over the last axis of `x` (any rank), with Loom's dense params `{ w, b }`. */
export function tfDense(tf: Tf, p: TfParams, x: TfTensor): TfTensor {
  const lead = x.shape.slice(0, -1);
  const y = tf.add(tf.matMul(tf.reshape(x, [-1, p.w.shape[0]]), p.w), p.b);
  return tf.reshape(y, [...lead, p.w.shape[1]]);
}

/**
 * Table lookup (`tf.gather`) with a scatter-add gradient: gather's own gradient needs UnsortedSegmentSum,
 * which TF.js's wasm backend lacks ("Kernel 'UnsortedSegmentSum' not registered for backend 'wasm'"). The
 * gradient is the same dense `[rows, dim]` tensor; `scatterND` sums repeated ids as required.
 */
export function tfEmbed(tf: Tf, table: TfTensor, ids: TfTensor): TfTensor {
  const [rows, dim] = table.shape as number[];
  const lookup = tf.customGrad((t) => ({
    value: tf.gather(t as TfTensor, ids),
    gradFunc: (dy) => tf.scatterND(tf.reshape(ids, [-1, 1]), tf.reshape(dy, [-1, dim]), [rows, dim]),
  }));
  return lookup(table);
}
