/**
 * Optimizers as pure state transitions: `init(params) -> state` and
 * `update(grads, state, params) -> { params, state }`. The state is a pytree of tensors, including the step
 * count and the learning rate, so `jit` of a whole training step compiles once; learning-rate schedules are
 * functions of that step tensor, evaluated inside the graph.
 *
 * Sparse gradients (`SparseRows`, from `embed` / `take`) update lazily: only the rows they touch change,
 * parameters and moments alike; every other row stays exactly as it was. Repeated rows are summed first.
 * @module
 */
import * as ops from "./ops.ts";
import { flatten, type TreeDef, unflatten } from "./pytree.ts";
import { showShape } from "./ir/shape.ts";
import { SparseRows } from "./sparse.ts";
import { Tensor } from "./tensor.ts";

/**
 * A learning rate as a function of the step count (an int32 scalar: updates done before this one).
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * const halve: optim.Schedule = (step) => tensor(0.1).div(step.add(1));
 * optim.sgd({ lr: halve });
 * ```
 */
export type Schedule = (step: Tensor) => Tensor;

/**
 * A constant learning rate or a schedule.
 *
 * @example
 * ```ts
 * import { optim } from "../mod.ts";
 * const lr: optim.LearningRate = optim.cosineDecay({ from: 0.1, steps: 100 });
 * optim.adam({ lr });
 * ```
 */
export type LearningRate = number | Schedule;

/**
 * An optimizer: pure functions from params and gradients to new params and state.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * const opt: optim.Optimizer = optim.sgd({ lr: 0.5 });
 * const params = { w: tensor([1]) };
 * const { params: next } = opt.update({ w: tensor([1]) }, opt.init(params), params);
 * if (next.w.item() !== 0.5) throw new Error();
 * ```
 */
export interface Optimizer<S = OptimizerState> {
  /** The state before the first update (moments at zero, step 0). */
  init(params: unknown): S;
  /** One update; `grads` has the structure of `params` (leaves may be `SparseRows`). */
  update<P>(grads: unknown, state: S, params: P): { params: P; state: S };
}

/**
 * The state every optimizer keeps: the step count, the learning rate, and slots shaped like the params.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * const state: optim.OptimizerState = optim.adam({ lr: 0.01 }).init({ w: tensor([1]) });
 * if (state.step.item() !== 0) throw new Error();
 * ```
 */
export interface OptimizerState {
  /** Number of updates done (int32 scalar). */
  step: Tensor;
  /** The learning rate the next update uses (float32 scalar): the schedule at `step`. */
  lr: Tensor;
  /** Per-parameter slots (`velocity`; `mu` and `nu`), each a pytree shaped like the params. */
  [slot: string]: unknown;
}

// ---------------------------------------------------------------------------------------------------------
// Schedules

function fraction(step: Tensor, steps: number): Tensor {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`schedule: steps must be a positive integer, got ${steps}`);
  }
  return ops.minimum(step.cast("float32"), steps).div(steps);
}

/**
 * Options of `linearDecay` and `cosineDecay`.
 *
 * @example
 * ```ts
 * import { optim } from "../mod.ts";
 * const options: optim.DecayOptions = { from: 0.1, to: 0.001, steps: 1000 };
 * optim.linearDecay(options);
 * ```
 */
export interface DecayOptions {
  /** The rate at step 0. */
  from: number;
  /** The rate from `steps` on (default 0). */
  to?: number;
  /** How many steps the decay lasts. */
  steps: number;
}

/**
 * A rate going linearly from `from` to `to` over `steps` steps, then staying at `to`.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * const lr = optim.linearDecay({ from: 1, to: 0.5, steps: 10 });
 * const at = (step: number) => lr(tensor(step, { dtype: "int32" })).item();
 * if (at(5) !== 0.75 || at(20) !== 0.5) throw new Error();
 * ```
 */
export function linearDecay(options: DecayOptions): Schedule {
  const { from, to = 0, steps } = options;
  return (step) => fraction(step, steps).mul(to - from).add(from);
}

/**
 * A rate following half a cosine from `from` to `to` over `steps` steps (Loshchilov & Hutter, 2017), then
 * staying at `to`.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * const lr = optim.cosineDecay({ from: 1, steps: 10 });
 * if (Math.abs(lr(tensor(5, { dtype: "int32" })).item() - 0.5) > 1e-6) throw new Error();
 * ```
 */
export function cosineDecay(options: DecayOptions): Schedule {
  const { from, to = 0, steps } = options;
  return (step) => fraction(step, steps).mul(Math.PI).cos().add(1).mul((from - to) / 2).add(to);
}

/**
 * Linear warmup: for the first `steps` steps the rate is `(step + 1) / steps` times that of `then` at its
 * start, after which `then` runs (its step count starting at 0 there). `then` is a number or a schedule.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * const lr = optim.warmup({ steps: 4, then: optim.linearDecay({ from: 1, steps: 10 }) });
 * const at = (s: number) => lr(tensor(s, { dtype: "int32" })).item();
 * if (at(0) !== 0.25 || at(3) !== 1 || at(9) !== 0.5) throw new Error();
 * ```
 */
export function warmup(options: { steps: number; then: LearningRate }): Schedule {
  const { steps, then } = options;
  const after = asSchedule(then);
  return (step) => {
    const ramp = fraction(step.add(1), steps).mul(after(ops.zerosLike(step)));
    return ops.where(step.less(steps), ramp, after(ops.maximum(step.sub(steps), 0)));
  };
}

function asSchedule(lr: LearningRate): Schedule {
  if (typeof lr === "function") return lr;
  if (!Number.isFinite(lr)) {
    throw new RangeError(`optim: the learning rate must be a finite number or a schedule, got ${lr}`);
  }
  return () => ops.full([], lr);
}

// ---------------------------------------------------------------------------------------------------------
// Gradients: leaves, coalesced sparse rows, global norm

/** A sparse gradient with every repeated row summed: each occurrence carries its row's total. */
interface Rows {
  /** The shape of the whole table. */
  table: readonly number[];
  /** `[n]`: the row of each occurrence. */
  indices: Tensor;
  /** `[n, ...row]`: the total gradient of row `indices[i]`. */
  summed: Tensor;
  /** `[n, 1, ...]` float: 1 at the first occurrence of each row, 0 at repeats (broadcasts over a row). */
  first: Tensor;
}

/** A leaf gradient: dense, coalesced rows, or (for rules linear in the gradient) raw sparse rows. */
type Grad = Tensor | Rows | SparseRows;

function coalesce(g: SparseRows): Rows {
  const n = g.indices.shape[0];
  const rowShape = g.values.shape.slice(1);
  // Sum repeats into the first position of each row (an [n, ...row] scratch, never the whole table), then
  // hand every occurrence its row's total. O(n · row), whatever the vocabulary size.
  const firstPosition = ops.firstOccurrence(g.indices);
  const totals = new SparseRows(firstPosition, g.values, [n, ...rowShape]).toDense();
  const first = firstPosition.equal(ops.arange(n)).cast("float32").reshape([n, ...rowShape.map(() => 1)]);
  return { table: g.shape, indices: g.indices, summed: ops.take(totals, firstPosition), first };
}

/** The leaves of a gradient pytree, a `SparseRows` being one leaf, coalesced unless `raw`. */
function gradLeaves(grads: unknown, raw = false): Grad[] {
  const leaves: Grad[] = [];
  (function walk(node: unknown): void {
    if (node instanceof Tensor) leaves.push(node);
    else if (node instanceof SparseRows) leaves.push(raw ? node : coalesce(node));
    else if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === "object") Object.values(node).forEach(walk);
  })(grads);
  return leaves;
}

/** The gradient leaves, checked one by one against the param leaves. */
function gradsFor(grads: unknown, params: readonly Tensor[], raw = false): Grad[] {
  const leaves = gradLeaves(grads, raw);
  if (leaves.length !== params.length) {
    throw new Error(
      `optim: got ${leaves.length} gradients for ${params.length} parameters; pass grads shaped like params`,
    );
  }
  leaves.forEach((g, i) => {
    const shape = g instanceof Tensor || g instanceof SparseRows ? g.shape : g.table;
    if (shape.join() !== params[i].shape.join()) {
      throw new RangeError(
        `optim: gradient ${i} has shape ${showShape(shape)} but its parameter has ${
          showShape(params[i].shape)
        }`,
      );
    }
  });
  return leaves;
}

function squaredNorm(grads: readonly (Tensor | Rows)[]): Tensor {
  return grads
    .map((g) => (g instanceof Tensor ? g.square().sum() : g.summed.square().mul(g.first).sum()))
    .reduce((a, b) => a.add(b), ops.zeros([]));
}

function scaleGrads(grads: readonly (Tensor | Rows)[], maxNorm: number): Grad[] {
  // As PyTorch's clip_grad_norm_: scale by maxNorm / (norm + 1e-6) when that is below 1.
  const scale = ops.minimum(ops.div(maxNorm, squaredNorm(grads).sqrt().add(1e-6)), 1);
  return grads.map((g) => (g instanceof Tensor ? g.mul(scale) : { ...g, summed: g.summed.mul(scale) }));
}

/**
 * The global L2 norm of a gradient pytree (sparse rows count once per row, repeats summed).
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * if (optim.globalNorm({ a: tensor([3]), b: [tensor([4])] }).item() !== 5) throw new Error();
 * ```
 */
export function globalNorm(grads: unknown): Tensor {
  return squaredNorm(gradLeaves(grads) as (Tensor | Rows)[]).sqrt();
}

// ---------------------------------------------------------------------------------------------------------
// The update driver: one elementwise rule, applied to whole tensors or to the touched rows only

/** Per-update values shared by every leaf. */
interface Hyper {
  /** The learning rate for this update. */
  lr: Tensor;
  /** The 1-based number of this update, as float32. */
  t: Tensor;
}

/**
 * New value of one parameter and its slots, from its gradient (all of the same shape: the touched rows only,
 * for sparse gradients); `whole` is the whole parameter, for rules that look at its shape.
 */
type Rule = (
  param: Tensor,
  grad: Tensor,
  slots: Tensor[],
  hyper: Hyper,
  whole: Tensor,
) => { param: Tensor; slots: Tensor[] };

/** Sets rows `indices` of `table` to `rows` (first occurrences only), leaving the other rows untouched. */
function writeRows(table: Tensor, g: Rows, rows: Tensor, oldRows: Tensor): Tensor {
  return new SparseRows(g.indices, rows.sub(oldRows).mul(g.first), table.shape).addTo(table);
}

function applyRule(
  rule: Rule,
  param: Tensor,
  grad: Grad,
  slots: Tensor[],
  hyper: Hyper,
): { param: Tensor; slots: Tensor[] } {
  if (grad instanceof Tensor) return rule(param, grad, slots, hyper, param);
  if (grad instanceof SparseRows) {
    // Only for `p - lr·g` (see makeOptimizer's `linear`): each occurrence's -lr·g is added to its row in
    // turn, as word2vec does, with no pass that sums repeated rows first.
    return { param: grad.scale(hyper.lr.neg()).addTo(param), slots };
  }
  const oldParam = ops.take(param, grad.indices);
  const oldSlots = slots.map((s) => ops.take(s, grad.indices));
  const out = rule(oldParam, grad.summed, oldSlots, hyper, param);
  return {
    param: writeRows(param, grad, out.param, oldParam),
    slots: slots.map((s, k) => writeRows(s, grad, out.slots[k], oldSlots[k])),
  };
}

/**
 * Options every optimizer takes.
 *
 * @example
 * ```ts
 * import { optim } from "../mod.ts";
 * const options: optim.CommonOptions = { lr: 0.1, clipGlobalNorm: 1 };
 * optim.sgd(options);
 * ```
 */
export interface CommonOptions {
  /** The learning rate: a number or a schedule. */
  lr: LearningRate;
  /** Scale gradients down so that their global L2 norm is at most this (default: no clipping). */
  clipGlobalNorm?: number;
}

/**
 * An optimizer from its elementwise rule. `linear` says the rule is exactly `p - lr·g` with no slots: then
 * (without clipping, which needs each row's total) sparse gradients skip coalescing.
 */
function makeOptimizer(
  slotNames: readonly string[],
  options: CommonOptions,
  rule: Rule,
  linear = false,
): Optimizer {
  const schedule = asSchedule(options.lr);
  const { clipGlobalNorm } = options;
  if (clipGlobalNorm !== undefined && !(clipGlobalNorm > 0)) {
    throw new RangeError(`optim: clipGlobalNorm must be a positive number, got ${clipGlobalNorm}`);
  }
  const slotsOf = (state: OptimizerState, def: TreeDef) =>
    slotNames.map((name) => {
      const flat = flatten(state[name]);
      if (flat.def.key !== def.key) {
        throw new Error(
          `optim: state.${name} does not have the structure of params; make it with init(params)`,
        );
      }
      return flat.leaves;
    });
  return {
    init(params) {
      const { leaves, def } = flatten(params);
      const step = ops.zeros([], "int32");
      const state: OptimizerState = { step, lr: schedule(step) };
      for (const name of slotNames) state[name] = unflatten(def, leaves.map((p) => ops.zerosLike(p)));
      return state;
    },
    update<P>(grads: unknown, state: OptimizerState, params: P) {
      const { leaves, def } = flatten(params);
      let g = gradsFor(grads, leaves, linear && clipGlobalNorm === undefined);
      if (clipGlobalNorm !== undefined) g = scaleGrads(g as (Tensor | Rows)[], clipGlobalNorm);
      const slots = slotsOf(state, def);
      const hyper: Hyper = { lr: state.lr, t: state.step.add(1).cast("float32") };
      const results = leaves.map((p, i) => applyRule(rule, p, g[i], slots.map((s) => s[i]), hyper));
      const step = state.step.add(1);
      const next: OptimizerState = { step, lr: schedule(step) };
      slotNames.forEach((name, k) => {
        next[name] = unflatten(def, results.map((r) => r.slots[k]));
      });
      return { params: unflatten(def, results.map((r) => r.param)) as P, state: next };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The optimizers

/**
 * Options of `sgd`.
 *
 * @example
 * ```ts
 * import { optim } from "../mod.ts";
 * const options: optim.SgdOptions = { lr: 0.1, momentum: 0.9, nesterov: true };
 * optim.sgd(options);
 * ```
 */
export interface SgdOptions extends CommonOptions {
  /** Momentum μ (default 0): `v = μ·v + g`, `p -= lr·v`, as PyTorch. */
  momentum?: number;
  /** Nesterov momentum: `p -= lr·(g + μ·v)` (default false). */
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent, with optional (Nesterov) momentum as in PyTorch. State:
 * `{ step, lr, velocity }` (`velocity` only with momentum).
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * const opt = optim.sgd({ lr: 0.1 });
 * const params = { w: tensor([1, 2]) };
 * const { params: next } = opt.update({ w: tensor([10, 10]) }, opt.init(params), params);
 * if (next.w.arraySync().toString() !== "0,1") throw new Error();
 * ```
 */
export function sgd(options: SgdOptions): Optimizer {
  const { momentum = 0, nesterov = false } = options;
  if (!(momentum >= 0 && momentum < 1)) {
    throw new RangeError(`optim.sgd: momentum must be in [0, 1), got ${momentum}`);
  }
  if (nesterov && momentum === 0) throw new RangeError("optim.sgd: nesterov needs a momentum > 0");
  if (momentum === 0) {
    return makeOptimizer(
      [],
      options,
      (p, g, _slots, { lr }) => ({ param: p.sub(g.mul(lr)), slots: [] }),
      true,
    );
  }
  return makeOptimizer(["velocity"], options, (p, g, [v], { lr }) => {
    const velocity = v.mul(momentum).add(g);
    const direction = nesterov ? g.add(velocity.mul(momentum)) : velocity;
    return { param: p.sub(direction.mul(lr)), slots: [velocity] };
  });
}

/**
 * Options of `adam` and `adamw`.
 *
 * @example
 * ```ts
 * import { optim } from "../mod.ts";
 * const options: optim.AdamOptions = { lr: 1e-3, beta1: 0.9, beta2: 0.999 };
 * optim.adam(options);
 * ```
 */
export interface AdamOptions extends CommonOptions {
  /** Decay of the first moment (default 0.9). */
  beta1?: number;
  /** Decay of the second moment (default 0.999). */
  beta2?: number;
  /** Added to the root of the second moment (default 1e-8). */
  eps?: number;
}

function adamRule(options: AdamOptions, weightDecay: number, decays: (param: Tensor) => boolean): Rule {
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = options;
  for (const [name, b] of [["beta1", beta1], ["beta2", beta2]] as const) {
    if (!(b >= 0 && b < 1)) throw new RangeError(`optim.adam: ${name} must be in [0, 1), got ${b}`);
  }
  return (p, g, [m, v], { lr, t }, whole) => {
    const mu = m.mul(beta1).add(g.mul(1 - beta1));
    const nu = v.mul(beta2).add(g.square().mul(1 - beta2));
    const muHat = mu.div(ops.sub(1, ops.pow(beta1, t)));
    const nuHat = nu.div(ops.sub(1, ops.pow(beta2, t)));
    // AdamW decays the weights directly (decoupled from the gradient), before the Adam step, as PyTorch.
    const decayed = weightDecay === 0 || !decays(whole) ? p : p.sub(p.mul(lr).mul(weightDecay));
    return { param: decayed.sub(muHat.div(nuHat.sqrt().add(eps)).mul(lr)), slots: [mu, nu] };
  };
}

/**
 * Adam (Kingma & Ba, 2015) with bias correction: `m = β1·m + (1-β1)·g`, `v = β2·v + (1-β2)·g²`,
 * `p -= lr·m̂ / (sqrt(v̂) + eps)` with `m̂ = m / (1-β1^t)`, `v̂ = v / (1-β2^t)`.
 * State `{ step, lr, mu, nu }`.
 * For sparse gradients this is the "lazy" Adam: only touched rows' moments and params change.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * const opt = optim.adam({ lr: 0.1 });
 * const params = { w: tensor([1]) };
 * const { params: next } = opt.update({ w: tensor([5]) }, opt.init(params), params);
 * if (Math.abs(next.w.item() - 0.9) > 1e-6) throw new Error(); // the first step moves by lr
 * ```
 */
export function adam(options: AdamOptions): Optimizer {
  return makeOptimizer(["mu", "nu"], options, adamRule(options, 0, () => false));
}

/**
 * Options of `adamw`.
 *
 * @example
 * ```ts
 * import { optim } from "../mod.ts";
 * const options: optim.AdamWOptions = { lr: 1e-3, weightDecay: 0.01 };
 * optim.adamw(options);
 * ```
 */
export interface AdamWOptions extends AdamOptions {
  /** Decoupled weight decay λ (default 0.01, as PyTorch): `p -= lr·λ·p` each step. */
  weightDecay?: number;
  /**
   * Which params decay, asked of each param (default: all). nanoGPT decays only the matrices and embedding
   * tables, not biases and layer-norm gains: `(p) => p.rank >= 2`.
   */
  mask?: (param: Tensor) => boolean;
}

/**
 * AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay, `p -= lr·λ·p` before the Adam step,
 * as PyTorch's `AdamW`, on every param or on those `mask` picks. State `{ step, lr, mu, nu }`; sparse gradients decay only the touched rows.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * const opt = optim.adamw({ lr: 0.1, weightDecay: 0.5 });
 * const params = { w: tensor([1]) };
 * const { params: next } = opt.update({ w: tensor([0]) }, opt.init(params), params);
 * if (Math.abs(next.w.item() - 0.95) > 1e-6) throw new Error();
 * // Decay the matrices only, as nanoGPT: the vector b keeps its value.
 * const matrices = optim.adamw({ lr: 0.1, weightDecay: 0.5, mask: (p) => p.rank >= 2 });
 * const two = { w: tensor([[1]]), b: tensor([1]) };
 * const after = matrices.update({ w: tensor([[0]]), b: tensor([0]) }, matrices.init(two), two).params;
 * if (Math.abs(after.w.item() - 0.95) > 1e-6 || after.b.item() !== 1) throw new Error();
 * ```
 */
export function adamw(options: AdamWOptions): Optimizer {
  const { weightDecay = 0.01 } = options;
  if (!(weightDecay >= 0)) throw new RangeError(`optim.adamw: weightDecay must be >= 0, got ${weightDecay}`);
  return makeOptimizer(["mu", "nu"], options, adamRule(options, weightDecay, options.mask ?? (() => true)));
}
