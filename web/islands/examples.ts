/**
 * The playground's numbered examples (JavaScript, with `loom`, `print`, `plot` and `graph` in scope).
 * @module
 */

/**
 * The examples, in order.
 *
 * @example
 * ```ts
 * import { EXAMPLES } from "./examples.ts";
 * if (EXAMPLES.length < 3 || !EXAMPLES[0].code.includes("print")) throw new Error();
 * ```
 */
export const EXAMPLES: readonly { title: string; code: string }[] = [
  {
    title: "Tensors and broadcasting",
    code: `const { tensor } = loom;
const x = tensor([[1, 2], [3, 4]]);
print("x * 2 + 1 =", x.mul(2).add(1));
print("row sums:", x.sum(1));`,
  },
  {
    title: "Gradients",
    code: `const { grad, tensor } = loom;
const f = (x) => x.square().sum();
print("d/dx sum(x²) at [1, 2, 3] =", grad(f)(tensor([1, 2, 3])));`,
  },
  {
    title: "Train an MLP on XOR",
    code: `const { nn, optim, loss, random, tensor, jit, valueAndGrad, summary } = loom;
const model = nn.serial(nn.dense(8, { activation: "tanh" }), nn.dense(2));
print(summary(model, [4, 2]));
const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
const y = tensor([0, 1, 1, 0], { dtype: "int32" });
let params = model.init(random.key(0), x.shape).params;
const opt = optim.adam({ lr: 0.05 });
let state = opt.init(params);
const step = jit((p, s) => {
  const [value, g] = valueAndGrad((p) => loss.crossEntropy(model.apply(p, x), y))(p);
  const next = opt.update(g, s, p);
  return [value, next.params, next.state];
});
for (let i = 0; i < 200; i++) {
  const [value, p, s] = step(params, state);
  [params, state] = [p, s];
  if (i % 5 === 0) plot(i, value.item());
}
print("predictions:", model.apply(params, x).argmax(-1));`,
  },
  {
    title: "Self-attention",
    code: `const { nn, random, tensor, summary } = loom;
const block = nn.residual(nn.serial(nn.layerNorm(), nn.attend({ heads: 2, causal: true })));
print(summary(block, [1, 5, 8]));
const { params } = block.init(random.key(0), [1, 5, 8]);
print("output shape:", block.apply(params, random.normal(random.key(1), [1, 5, 8])).shape);`,
  },
  {
    title: "What the compiler makes of a function",
    code: `const { explain } = loom;
const f = (x, w) => x.matmul(w).relu().mul(2).sum(1);
const x = { shape: [4, 8] }, w = { shape: [8, 3] };
const report = explain(f, x, w);
print(report.optimized.toString());
for (const k of report.kernels) print(\`\${k.kind} (\${k.code.language}): \${k.summary}\`);
graph(f, x, w); // draw it in the graph viewer`,
  },
];
