/**
 * Guide lesson: a neural network and gradient descent. A two-layer network (a weighted sum, tanh, a weighted
 * sum) fits y = sin(3x) on 64 points; each step moves every parameter a little against its gradient.
 * @module
 */
import { arange, grad, jit, random, sin, type Tensor, tensor } from "../../mod.ts";
import type { Controls, Lesson } from "./lesson.ts";

/** The lesson's settings. */
export type DescentSettings = { hidden: number; lr: number; steps: number; seed: number };

/** The network's parameters. */
export type Mlp = { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor };

/**
 * The network: `tanh(x·w1 + b1)·w2 + b2`, for x of shape [N, 1].
 *
 * @example
 * ```ts
 * import { tensor, zeros } from "../../mod.ts";
 * import { predict } from "./descent.ts";
 * const p = { w1: zeros([1, 2]), b1: zeros([2]), w2: zeros([2, 1]), b2: tensor([3]) };
 * if (predict(p, tensor([[1], [2]])).dataSync().join() !== "3,3") throw new Error();
 * ```
 */
export function predict(p: Mlp, x: Tensor): Tensor {
  return x.matmul(p.w1).add(p.b1).tanh().matmul(p.w2).add(p.b2);
}

/**
 * Mean squared error of the network on (x, y).
 *
 * @example
 * ```ts
 * import { tensor, zeros } from "../../mod.ts";
 * import { mseLoss } from "./descent.ts";
 * const p = { w1: zeros([1, 2]), b1: zeros([2]), w2: zeros([2, 1]), b2: tensor([0]) };
 * if (mseLoss(p, tensor([[1]]), tensor([[2]])).item() !== 4) throw new Error();
 * ```
 */
export function mseLoss(p: Mlp, x: Tensor, y: Tensor): Tensor {
  return predict(p, x).sub(y).square().mean();
}

/** What the page draws: the loss so far and the fit now. */
export interface DescentFrame {
  /** Steps taken. */
  step: number;
  /** [step, loss] so far. */
  losses: [number, number][];
  /** The inputs, the target and the network's output at each. */
  xs: number[];
  target: number[];
  fit: number[];
}

/**
 * The lesson: frames every 10 steps of plain gradient descent.
 *
 * @example
 * ```ts
 * import { descent } from "./descent.ts";
 * import { fixedControls } from "./lesson.ts";
 * const frames = [];
 * for await (const f of descent.run(fixedControls({ ...descent.defaults, steps: 200 }))) frames.push(f);
 * const losses = frames.at(-1)!.losses;
 * if (!(losses.at(-1)![1] < losses[0][1] / 2)) throw new Error("the loss should fall");
 * ```
 */
export const descent: Lesson<DescentSettings, DescentFrame> = {
  slug: "networks",
  defaults: { hidden: 16, lr: 0.2, steps: 600, seed: 0 },
  limits: { hidden: [1, 256], lr: [0.001, 2], steps: [10, 5000], seed: [0, 1e6] },
  async *run(controls: Controls<DescentSettings>, live = true) {
    const s = controls.settings;
    const x = arange(64).mul(2 / 63).sub(1).reshape([64, 1]);
    const y = sin(x.mul(3));
    const [k1, k2] = random.split(random.key(s.seed));
    let params: Mlp = {
      w1: random.normal(k1, [1, s.hidden]),
      b1: tensor(new Array(s.hidden).fill(0)),
      w2: random.normal(k2, [s.hidden, 1]).mul(1 / Math.sqrt(s.hidden)),
      b2: tensor([0]),
    };
    // One step of gradient descent: each parameter moves against its gradient, scaled by the rate.
    const step = jit((p: Mlp) => {
      const g = grad(mseLoss)(p, x, y);
      return {
        w1: p.w1.sub(g.w1.mul(s.lr)),
        b1: p.b1.sub(g.b1.mul(s.lr)),
        w2: p.w2.sub(g.w2.mul(s.lr)),
        b2: p.b2.sub(g.b2.mul(s.lr)),
      };
    });
    const xs = Array.from(x.dataSync() as Float32Array);
    const target = Array.from(y.dataSync());
    const losses: [number, number][] = [];
    for (let i = 0; i <= s.steps; i++) {
      if (i % 10 === 0 || i === s.steps) {
        losses.push([i, mseLoss(params, x, y).item()]);
        yield { step: i, losses: [...losses], xs, target, fit: Array.from(predict(params, x).dataSync()) };
        if (!live) return;
      }
      if (i < s.steps) params = step(params);
    }
  },
};
