/**
 * The graph viewer's zoo: small models, each as the function whose graph is shown (a training step's loss and
 * gradient) and its inputs (params as tensors, data as `{ shape, dtype }` specs), built with Loom like any
 * user code. Playground code becomes a model too, through the `graph(f, ...inputs)` it calls.
 * @module
 */
import { loss, nn, random, type Spec, type Tensor, valueAndGrad } from "../../mod.ts";
import * as loom from "../../mod.ts";
import { skipGramLoss } from "../lessons/word2vec.ts";

/** A function to trace and the inputs to trace it on. */
export interface Traceable {
  f: (...args: any[]) => unknown;
  inputs: unknown[];
}

const ints = (...shape: number[]): Spec => ({ shape, dtype: "int32" });
const floats = (...shape: number[]): Spec => ({ shape, dtype: "float32" });

/** A layer's cross-entropy training step on `x` and integer labels `y`. */
function classifierStep(layer: nn.AnyLayer, x: Spec, y: Spec): Traceable {
  const { params } = layer.init(random.key(0), x.shape);
  const objective = (p: nn.Params, xs: Tensor, ys: Tensor) =>
    loss.crossEntropy(layer.apply(p, xs) as Tensor, ys);
  return { f: valueAndGrad(objective), inputs: [params, x, y] };
}

/**
 * The zoo, by name, each with a line that says what it is.
 *
 * @example
 * ```ts
 * import { explain } from "../../mod.ts";
 * import { ZOO } from "./graph_models.ts";
 * const { f, inputs } = ZOO.mlp.make();
 * if (explain(f, ...inputs).kernels.length < 3) throw new Error();
 * ```
 */
export const ZOO: Record<string, { title: string; make: () => Traceable }> = {
  mlp: {
    title: "MLP 4-16-3, cross-entropy step",
    make: () =>
      classifierStep(nn.serial(nn.dense(16, { activation: "tanh" }), nn.dense(3)), floats(8, 4), ints(8)),
  },
  skipgram: {
    title: "word2vec skip-gram, negative sampling step",
    make: () => {
      const tables = {
        input: random.normal(random.key(0), [50, 16]),
        output: random.normal(random.key(1), [50, 16]),
      };
      const f = valueAndGrad(skipGramLoss, { sparse: true });
      return { f, inputs: [tables, ints(32), ints(32), ints(32, 5), floats(32)] };
    },
  },
  gru: {
    title: "GRU language model (embed, recur, dense), 3 steps",
    make: () =>
      classifierStep(
        nn.serial(nn.embed(40, 8), nn.recur(nn.gruCell(8)), nn.dense(40)),
        ints(2, 3),
        ints(2, 3),
      ),
  },
  attention: {
    title: "Transformer block (layer norm, 2-head causal attention, residual)",
    make: () => {
      const block = nn.residual(nn.serial(nn.layerNorm(), nn.attend({ heads: 2, causal: true })));
      const { params } = block.init(random.key(0), [1, 6, 8]);
      const objective = (p: nn.ParamsOf<typeof block>, x: Tensor) =>
        (block.apply(p, x) as Tensor).square().mean();
      return { f: valueAndGrad(objective), inputs: [params, floats(1, 6, 8)] };
    },
  },
};

/**
 * Runs playground code with `loom` in scope and a `graph(f, ...inputs)` that picks what to show (`print` and
 * `plot` do nothing here); the last `graph` call wins.
 *
 * @example
 * ```ts
 * import { fromCode } from "./graph_models.ts";
 * const t = await fromCode("graph((x) => x.exp().sum(), { shape: [3] });");
 * if (t.inputs.length !== 1) throw new Error();
 * ```
 */
export async function fromCode(code: string): Promise<Traceable> {
  let picked: Traceable | undefined;
  const graph = (f: Traceable["f"], ...inputs: unknown[]) => void (picked = { f, inputs });
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  await new AsyncFunction("loom", "print", "plot", "graph", code)(loom, () => {}, () => {}, graph);
  if (!picked) throw new Error("the code calls no graph(f, ...inputs): add one to see a graph");
  return picked;
}
