/**
 * Guide lesson: residual connections. A deep stack of tanh layers, trained with and without an identity path
 * around each layer (`x + f(x)`): without it the gradient shrinks layer by layer on its way down (it vanishes),
 * with it every layer gets a gradient of the same order.
 * @module
 */
import { grad, jit, random, type Tensor, tensor } from "../../mod.ts";
import type { Controls, Lesson } from "./lesson.ts";

/** The lesson's settings. */
export type ResidualSettings = { depth: number; width: number; lr: number; steps: number; seed: number };

/** A stack's parameters: one weight matrix and bias per layer. */
export type Stack = { w: Tensor; b: Tensor }[];

/**
 * The stack's output: each layer computes `tanh(x·w + b)`, added to x where `residual`.
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import { stackOutput } from "./residual.ts";
 * const layers = [{ w: tensor([[0]]), b: tensor([0]) }];
 * if (stackOutput(layers, tensor([[2]]), true).item() !== 2) throw new Error(); // 2 + tanh(0)
 * ```
 */
export function stackOutput(layers: Stack, x: Tensor, residual: boolean): Tensor {
  for (const { w, b } of layers) {
    const f = x.matmul(w).add(b).tanh();
    x = residual ? x.add(f) : f;
  }
  return x;
}

/** What the page draws: each stack's loss curve and its gradient norm per layer. */
export interface ResidualFrame {
  step: number;
  losses: { plain: [number, number][]; residual: [number, number][] };
  /** The L2 norm of the gradient of each layer's weights, first layer first. */
  norms: { plain: number[]; residual: number[] };
}

/**
 * The lesson: both stacks from the same initial weights, trained side by side on the same regression.
 *
 * @example
 * ```ts
 * import { fixedControls } from "./lesson.ts";
 * import { residual } from "./residual.ts";
 * const { value } = await residual.run(fixedControls(residual.defaults), false).next();
 * // The first layer's gradient: far smaller without the identity paths.
 * if (!(value!.norms.plain[0] < value!.norms.residual[0] / 10)) throw new Error();
 * ```
 */
export const residual: Lesson<ResidualSettings, ResidualFrame> = {
  slug: "residual",
  defaults: { depth: 20, width: 16, lr: 0.02, steps: 300, seed: 0 },
  limits: { depth: [1, 64], width: [2, 128], lr: [0.0001, 1], steps: [10, 3000], seed: [0, 1e6] },
  async *run(controls: Controls<ResidualSettings>, live = true) {
    const s = controls.settings;
    const keys = random.split(random.key(s.seed), s.depth + 2);
    const x = random.normal(keys[s.depth], [64, s.width]);
    const y = random.normal(keys[s.depth + 1], [64, s.width]).mul(0.5);
    const init: Stack = keys.slice(0, s.depth).map((k) => ({
      w: random.normal(k, [s.width, s.width]).mul(1 / Math.sqrt(s.width)),
      b: tensor(new Array(s.width).fill(0)),
    }));
    const kinds = ["plain", "residual"] as const;
    const lossOf = (kind: (typeof kinds)[number]) => (p: Stack) =>
      stackOutput(p, x, kind === "residual").sub(y).square().mean();
    const stepOf = (kind: (typeof kinds)[number]) =>
      jit((p: Stack): [Stack, Stack] => {
        const g = grad(lossOf(kind))(p) as Stack;
        return [p.map((l, i) => ({ w: l.w.sub(g[i].w.mul(s.lr)), b: l.b.sub(g[i].b.mul(s.lr)) })), g];
      });
    const steps = { plain: stepOf("plain"), residual: stepOf("residual") };
    const params = { plain: init, residual: init };
    const losses = { plain: [] as [number, number][], residual: [] as [number, number][] };
    for (let i = 0; i <= s.steps; i++) {
      const norms = { plain: [] as number[], residual: [] as number[] };
      for (const kind of kinds) {
        const [next, g] = steps[kind](params[kind]);
        if (i % 10 === 0 || i === s.steps) {
          losses[kind].push([i, lossOf(kind)(params[kind]).item()]);
          norms[kind] = g.map((l) => Math.sqrt(l.w.square().sum().item()));
        }
        params[kind] = next;
      }
      if (i % 10 === 0 || i === s.steps) {
        yield { step: i, losses: { plain: [...losses.plain], residual: [...losses.residual] }, norms };
        if (!live) return;
      }
    }
  },
};
