/**
 * The layer protocol and its shape types.
 *
 * A layer is a pair of pure functions, `init(key, inputShape) -> { params, outputShape }` and
 * `apply(params, x, ctx) -> y`. Its TypeScript type `Layer<In, Out>` also records what the last (feature)
 * axis of its input and output is, so that `deno check` rejects compositions that cannot work:
 *
 * - a number literal (`64`): the feature dim, known when the model is written;
 * - `number`: a feature dim known only at run time (then the runtime check in `init`/`apply` takes over);
 * - {@linkcode Ids}: integer token ids, with no feature axis (what `embed` reads);
 * - `unknown`: as an input, "accepts anything"; {@linkcode Same} as an output: "the input's feature dim";
 * - a tuple of these: a list of tensors (what `branch` makes and `parallel` takes).
 *
 * What this buys, in one example: `serial(embed(100, 64), dense(32))` has type `Layer<Ids, 32>`, while
 * `serial(embed(100, 64), residual(dense(32)))` does not compile, because `x + f(x)` needs `f` to keep the
 * last dim and `residual(dense(32))` only accepts 32 features; the error names the position and both dims.
 * @module
 */
import type { PyTree } from "../pytree.ts";
import type { Tensor } from "../tensor.ts";

/**
 * Feature marker: integer token ids (int32, no feature axis), as `embed` reads them.
 *
 * @example
 * ```ts
 * import { nn } from "../../mod.ts";
 * const layer: nn.Layer<nn.Ids, 4> = nn.embed(10, 4); // takes int32 ids, gives 4 features
 * if (layer.name !== "embed") throw new Error();
 * ```
 */
export interface Ids {
  /** Type-level tag only. */
  readonly feature: "ids";
}

/**
 * Output marker: the layer keeps its input's feature dim (activations, `layerNorm`, `attend`, ...).
 *
 * @example
 * ```ts
 * import { nn } from "../../mod.ts";
 * const norm: nn.Layer<number, nn.Same> = nn.layerNorm(); // output dim = input dim
 * if (norm.name !== "layerNorm") throw new Error();
 * ```
 */
export interface Same {
  /** Type-level tag only. */
  readonly feature: "same";
}

/**
 * Any layer's parameters: a plain pytree of tensors (nested objects and arrays). Each layer has its own,
 * precise params type (`nn.DenseParams`, a tuple for `serial`, ...), which `ParamsOf` reads off its type.
 *
 * @example
 * ```ts
 * import { flatten, nn, random } from "../../mod.ts";
 * const params: nn.Params = nn.dense(2).init(random.key(0), [1, 3]).params;
 * if (flatten(params).leaves.length !== 2) throw new Error();
 * ```
 */
export type Params = PyTree;

/**
 * The params of a layer that has none.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const none: nn.NoParams = nn.relu().init(random.key(0), [2]).params;
 * if (Object.keys(none).length !== 0) throw new Error();
 * ```
 */
export type NoParams = Record<string, never>;

/**
 * What flows between layers: a tensor, or a list of values (from `branch`, into `parallel`).
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../../mod.ts";
 * const pair: nn.Value = [tensor([1]), tensor([2, 3])]; // a tuple of tensors, as parallel layers pass
 * if (!Array.isArray(pair)) throw new Error();
 * ```
 */
export type Value = Tensor | readonly Value[];

/**
 * A tensor shape, or a list of shapes for a list of values.
 *
 * @example
 * ```ts
 * import type { ShapeTree } from "../../mod.ts";
 * const shapes: ShapeTree = [[2, 3], [2, 5]];
 * if (shapes.length !== 2) throw new Error();
 * ```
 */
export type ShapeTree = readonly number[] | readonly ShapeTree[];

/**
 * Per-call settings that `apply` threads to every layer.
 *
 * @example
 * ```ts
 * import { nn, random, tensor } from "../../mod.ts";
 * const ctx: nn.Context = { training: true, key: random.key(1) };
 * const y = nn.dropout(0.5).apply({}, tensor([1, 1, 1, 1]), ctx);
 * if (y.shape.join() !== "4") throw new Error();
 * ```
 */
export interface Context {
  /** A random key (`random.key(seed)`); combinators derive a different key for each child. */
  key?: Tensor;
  /** True while training: dropout is active only then. */
  training?: boolean;
  /** Key padding mask for `attend`: bool `[batch, time]`, true at real tokens, false at padding. */
  mask?: Tensor;
  /**
   * Recurrent state in and out (`nn.carry`): each `recur` layer starts from its entry and records the state
   * it ends in, so consecutive chunks of a sequence continue where the last one stopped.
   */
  carry?: Carry;
}

/**
 * The states of a model's recurrent layers, carried from one call of `apply` to the next (truncated
 * backpropagation through time). `recur` layers take entries in the order they run: the i-th starts from
 * `initial[i]` (zeros when absent) and leaves its final state in `states[i]`. Make one with `nn.carry`.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const model = nn.serial(nn.recur(nn.lstmCell(4)), nn.dense(2));
 * const { params } = model.init(random.key(0), [1, 3, 5]);
 * const carry: nn.Carry = nn.carry();
 * model.apply(params, random.normal(random.key(1), [1, 3, 5]), { carry });
 * if (carry.states.length !== 1 || carry.states[0].length !== 2) throw new Error(); // an LSTM's h and c
 * ```
 */
export interface Carry {
  /** The states the layers start from, by position (absent or undefined: zeros). */
  readonly initial: readonly (readonly Tensor[] | undefined)[];
  /** The states the layers ended in, in the order they ran. */
  readonly states: Tensor[][];
  /** The position of the next recurrent layer to run: each `recur` claims one. */
  claim(): number;
}

type IsAny<T> = 0 extends 1 & T ? true : false;

/**
 * The value `apply` returns for an output description: a list for a tuple, else a tensor.
 *
 * @example
 * ```ts
 * import { type nn, tensor } from "../../mod.ts";
 * const y: nn.ValueOf<8> = tensor([1]); // one output: a tensor
 * const ys: nn.ValueOf<[8, 4]> = [tensor([1]), tensor([2])]; // a tuple: a list
 * if (ys.length !== 2 || y.size !== 1) throw new Error();
 * ```
 */
export type ValueOf<D> = IsAny<D> extends true ? Value
  : D extends readonly unknown[] ? { -readonly [K in keyof D]: ValueOf<D[K]> }
  : Tensor;

/**
 * The shape `init` returns for an output description: a list of shapes for a tuple, else one shape.
 *
 * @example
 * ```ts
 * import type { nn } from "../../mod.ts";
 * const one: nn.ShapeOf<8> = [2, 8];
 * const two: nn.ShapeOf<[8, 4]> = [[2, 8], [2, 4]];
 * if (one.length !== 2 || two.length !== 2) throw new Error();
 * ```
 */
export type ShapeOf<D> = IsAny<D> extends true ? ShapeTree
  : D extends readonly unknown[] ? { -readonly [K in keyof D]: ShapeOf<D[K]> }
  : number[];

/**
 * A layer: pure `init` and `apply`; `In` and `Out` describe the feature axis of its input and output at the
 * type level (see the module documentation), and `P` is the type of its params.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../../mod.ts";
 * const layer: nn.Layer<number, 3, nn.DenseParams> = nn.dense(3);
 * const { params, outputShape } = layer.init(random.key(0), [2, 5]);
 * const y = layer.apply(params, zeros([2, 5]));
 * if (outputShape.join() !== "2,3" || y.shape.join() !== "2,3" || params.w.shape.join() !== "5,3") throw new Error();
 * ```
 */
export interface Layer<In = unknown, Out = unknown, P = Params> {
  /** The name shown in summaries and error paths (`dense`, `serial`, ...). */
  readonly name: string;
  /** Makes parameters for an input of `inputShape` (batch axes included) and infers the output shape. */
  init(key: Tensor, inputShape: ShapeTree): { params: P; outputShape: ShapeOf<Out> };
  /** Computes the output; `ctx` carries the random key, the training flag, the padding mask and the carry. */
  apply(params: P, x: Value, ctx?: Context): ValueOf<Out>;
  /** Type-level only (never set at run time): the feature descriptions of input and output. */
  readonly "~features"?: { readonly in: In; readonly out: Out };
}

/**
 * The params type of a layer type.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const model = nn.serial(nn.embed(10, 4), nn.dense(2));
 * const params: nn.ParamsOf<typeof model> = model.init(random.key(0), [1, 3]).params;
 * if (params[1].w.shape.join() !== "4,2" || params[0].table.shape.join() !== "10,4") throw new Error();
 * ```
 */
export type ParamsOf<L> = L extends Layer<any, any, infer P> ? P : never;

/**
 * The params of a list of layers, one entry per layer (what `serial`, `parallel` and `branch` hold).
 *
 * @example
 * ```ts
 * import type { nn } from "../../mod.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const tuple: Equal<nn.ParamsList<[nn.Layer<number, 2, nn.DenseParams>, nn.Layer<number, 2, nn.NoParams>]>, [nn.DenseParams, nn.NoParams]> = true;
 * if (!tuple) throw new Error();
 * ```
 */
export type ParamsList<L extends readonly unknown[]> = { -readonly [K in keyof L]: ParamsOf<L[K]> };

/**
 * Any layer, whatever its feature types.
 *
 * @example
 * ```ts
 * import { type AnyLayer, nn } from "../../mod.ts";
 * const layers: AnyLayer[] = [nn.dense(4), nn.layerNorm()];
 * if (layers.length !== 2) throw new Error();
 * ```
 */
export type AnyLayer = Layer<any, any, any>;

/**
 * The input description of a layer type.
 *
 * @example
 * ```ts
 * import { nn } from "../../mod.ts";
 * const model = nn.serial(nn.embed(100, 16), nn.dense(4));
 * const takesIds: nn.InOf<typeof model> extends nn.Ids ? true : false = true;
 * if (!takesIds) throw new Error();
 * ```
 */
export type InOf<L> = L extends Layer<infer I, any, any> ? I : never;

/**
 * The output description of a layer type.
 *
 * @example
 * ```ts
 * import { nn } from "../../mod.ts";
 * const model = nn.serial(nn.embed(100, 16), nn.dense(4));
 * const units: nn.OutOf<typeof model> = 4; // the type is the literal 4
 * if (units !== 4) throw new Error();
 * ```
 */
export type OutOf<L> = L extends Layer<any, infer O, any> ? O : never;

// ---------------------------------------------------------------------------------------------------------
// Type-level checks: `Fits` says whether a value described by D may enter a layer taking In.

type IsUnknown<T> = unknown extends T ? true : false;

/**
 * True when a value described by `D` may be the input of a layer that takes `In`.
 *
 * @example
 * ```ts
 * import type { Fits, Ids, Same } from "./types.ts";
 * const literal: Fits<64, 64> = true;
 * const runTime: Fits<number, 64> = true; // checked when the model runs instead
 * const same: Fits<Same, 64> = true; // nothing changed the input yet
 * const wrong: Fits<32, 64> = false;
 * const ids: Fits<Ids, 64> = false;
 * const lists: Fits<[64, 8], [number, 8]> = true;
 * if (!literal || !runTime || !same || wrong || ids || !lists) throw new Error();
 * ```
 */
export type Fits<D, In> = IsUnknown<In> extends true ? true
  : IsUnknown<D> extends true ? true
  : [D] extends [Same] ? true
  : [D] extends [number]
    ? ([In] extends [number]
      ? (number extends D ? true : number extends In ? true : [D] extends [In] ? true : false)
      : false)
  : [D] extends [Ids] ? ([In] extends [Ids] ? true : false)
  : [D] extends [readonly unknown[]] ? ([In] extends [readonly unknown[]] ? FitsEach<D, In> : false)
  : false;

type FitsEach<D extends readonly unknown[], In extends readonly unknown[]> = D["length"] extends In["length"]
  ? (false extends { [K in keyof D]: K extends keyof In ? Fits<D[K], In[K]> : false }[number] ? false : true)
  : false;

/**
 * What is known of a value after a layer taking `In` accepted it: a run-time dim meets a literal input.
 *
 * @example
 * ```ts
 * import type { Ids, Narrow } from "./types.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const learned: Equal<Narrow<number, 64>, 64> = true; // a layer taking 64 accepted it: it is 64
 * const kept: Equal<Narrow<32, number>, 32> = true;
 * const open: Equal<Narrow<number, number>, number> = true;
 * const ids: Equal<Narrow<Ids, Ids>, Ids> = true;
 * if (!learned || !kept || !open || !ids) throw new Error();
 * ```
 */
export type Narrow<D, In> = [D] extends [number] ? (number extends D ? ([In] extends [number] ? In : D) : D)
  : D;

/**
 * What flows out of a layer with output `Out` when `D` flowed in (`Same` keeps `D`).
 *
 * @example
 * ```ts
 * import type { Resolve, Same } from "./types.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const kept: Equal<Resolve<64, Same>, 64> = true;
 * const replaced: Equal<Resolve<64, 32>, 32> = true;
 * const list: Equal<Resolve<64, [Same, 8]>, [64, 8]> = true;
 * if (!kept || !replaced || !list) throw new Error();
 * ```
 */
export type Resolve<D, Out> = [Out] extends [Same] ? D
  : Out extends readonly unknown[] ? { -readonly [K in keyof Out]: Resolve<D, Out[K]> }
  : Out;

/**
 * A readable name of a feature description, for compile-time error messages.
 *
 * @example
 * ```ts
 * import type { Ids, Same, Show } from "./types.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const dim: Equal<Show<64>, "last dim 64"> = true;
 * const runTime: Equal<Show<number>, "any last dim"> = true;
 * const ids: Equal<Show<Ids>, "int ids"> = true;
 * const same: Equal<Show<Same>, "its input"> = true;
 * const any: Equal<Show<unknown>, "anything"> = true;
 * const list: Equal<Show<[64, 8]>, "a list"> = true;
 * if (!dim || !runTime || !ids || !same || !any || !list) throw new Error();
 * ```
 */
export type Show<D> = IsUnknown<D> extends true ? "anything"
  : [D] extends [Same] ? "its input"
  : [D] extends [Ids] ? "int ids"
  : [D] extends [number] ? (number extends D ? "any last dim" : `last dim ${D}`)
  : "a list";

/**
 * A compile-time error: a string type that no layer can be assigned to, so `deno check` prints it.
 *
 * @example
 * ```ts
 * import type { Ids, Mismatch } from "./types.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * type Dims = Mismatch<"serial[1]", 32, 64>;
 * type Kinds = Mismatch<"serial[0]", number, Ids>;
 * const dims: Equal<Dims, "serial[1]: takes last dim 64 but gets last dim 32"> = true;
 * const ids: Equal<Kinds, "serial[0]: takes int ids but gets any last dim"> = true;
 * if (!dims || !ids) throw new Error();
 * ```
 */
export type Mismatch<Where extends string, D, In> = `${Where}: takes ${Show<In>} but gets ${Show<D>}`;

type Unknowns<T extends readonly unknown[]> = { [K in keyof T]: unknown };

/**
 * Checks a chain of layers (`serial`): one entry per layer, `unknown` where it fits, a `Mismatch` message at
 * the first layer whose input does not fit what the previous layers produce.
 *
 * @example
 * ```ts
 * import type { CheckChain, Ids, Layer } from "./types.ts";
 * import { nn } from "../../mod.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const fits: Equal<CheckChain<[Layer<Ids, 64>, Layer<number, 10>], "serial">, [unknown, unknown]> = true;
 * const fails: Equal<
 *   CheckChain<[Layer<Ids, 64>, Layer<32, 10>], "serial">,
 *   [unknown, "serial[1]: takes last dim 32 but gets last dim 64"]
 * > = true;
 * // @ts-expect-error serial[1]: takes last dim 32 but gets last dim 64
 * const model = nn.serial(nn.embed(100, 64), nn.residual(nn.dense(32)));
 * if (!fits || !fails || model.name !== "serial") throw new Error();
 * ```
 */
export type CheckChain<
  L extends readonly unknown[],
  Where extends string,
  D = Same,
  Done extends unknown[] = [],
> = L extends readonly [infer H, ...infer T]
  ? Fits<D, InOf<H>> extends true ? CheckChain<T, Where, Resolve<D, OutOf<H>>, [...Done, unknown]>
  : [...Done, Mismatch<`${Where}[${Done["length"]}]`, D, InOf<H>>, ...Unknowns<T>]
  : Done;

/**
 * What a chain of layers produces from an input described by `D` (`Same` while nothing changed it).
 *
 * @example
 * ```ts
 * import type { ChainOut, Ids, Layer, Same } from "./types.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const out: Equal<ChainOut<[Layer<Ids, 64>, Layer<64, 32>]>, 32> = true;
 * const kept: Equal<ChainOut<[Layer<number, 8>, Layer<number, Same>]>, 8> = true;
 * const narrowed: Equal<ChainOut<[Layer<64, Same>], number>, 64> = true; // a layer taking 64 pins the dim
 * const empty: Equal<ChainOut<[]>, Same> = true;
 * if (!out || !kept || !narrowed || !empty) throw new Error();
 * ```
 */
export type ChainOut<L extends readonly unknown[], D = Same> = L extends readonly [infer H, ...infer T]
  ? ChainOut<T, Resolve<Narrow<D, InOf<H>>, OutOf<H>>>
  : D;

/**
 * The input of a chain: that of its first layer.
 *
 * @example
 * ```ts
 * import type { ChainIn, Ids, Layer } from "./types.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const ids: Equal<ChainIn<[Layer<Ids, 64>, Layer<64, 32>]>, Ids> = true;
 * const empty: Equal<ChainIn<[]>, unknown> = true;
 * if (!ids || !empty) throw new Error();
 * ```
 */
export type ChainIn<L extends readonly unknown[]> = L extends readonly [infer H, ...unknown[]] ? InOf<H>
  : unknown;

/**
 * The narrowest input two layers both accept, or never when their inputs conflict.
 *
 * @example
 * ```ts
 * import type { Ids, Meet } from "./types.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const narrowest: Equal<Meet<number, 64>, 64> = true;
 * const anything: Equal<Meet<unknown, 64>, 64> = true;
 * const ids: Equal<Meet<Ids, Ids>, Ids> = true;
 * const conflict: Equal<Meet<32, 64>, never> = true;
 * const kinds: Equal<Meet<Ids, 64>, never> = true;
 * if (!narrowest || !anything || !ids || !conflict || !kinds) throw new Error();
 * ```
 */
export type Meet<A, B> = IsUnknown<A> extends true ? B
  : IsUnknown<B> extends true ? A
  : Fits<A, B> extends true ? (Fits<B, A> extends true ? (number extends A ? B : A) : never)
  : never;

// ---------------------------------------------------------------------------------------------------------
// The checks and results of the other combinators.

/**
 * `unknown` when `f` keeps its input's feature dim, else a compile-time error message.
 *
 * @example
 * ```ts
 * import type { KeepsDim, Layer, Same } from "./types.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const keeps: Equal<KeepsDim<Layer<64, Same>>, unknown> = true;
 * const runTime: Equal<KeepsDim<Layer<number, 32>>, unknown> = true; // checked by init instead
 * const changes: Equal<
 *   KeepsDim<Layer<64, 32>>,
 *   "residual: f must keep the last dim, but takes last dim 64 and gives last dim 32"
 * > = true;
 * if (!keeps || !runTime || !changes) throw new Error();
 * ```
 */
export type KeepsDim<L> = Fits<Resolve<InOf<L>, OutOf<L>>, InOf<L>> extends true ? unknown
  : `residual: f must keep the last dim, but takes ${Show<InOf<L>>} and gives ${Show<OutOf<L>>}`;

/**
 * The input a residual block takes: `f`'s output dim when that is a literal, else `f`'s input.
 *
 * @example
 * ```ts
 * import type { Layer, ResidualIn, Same } from "./types.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const out: Equal<ResidualIn<Layer<number, 32>>, 32> = true; // x + f(x) needs x to have f's 32 features
 * const input: Equal<ResidualIn<Layer<64, Same>>, 64> = true;
 * const open: Equal<ResidualIn<Layer<number, Same>>, number> = true;
 * if (!out || !input || !open) throw new Error();
 * ```
 */
export type ResidualIn<L> = [OutOf<L>] extends [number] ? (number extends OutOf<L> ? InOf<L> : OutOf<L>)
  : InOf<L>;

/**
 * `unknown` when a block's output may feed its own input, else a compile-time error message.
 *
 * @example
 * ```ts
 * import type { Layer, Repeatable, Same } from "./types.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const same: Equal<Repeatable<Layer<number, Same>>, unknown> = true;
 * const square: Equal<Repeatable<Layer<64, 64>>, unknown> = true;
 * const shrinks: Equal<Repeatable<Layer<64, 32>>, "repeat: takes last dim 64 but gets last dim 32"> = true;
 * if (!same || !square || !shrinks) throw new Error();
 * ```
 */
export type Repeatable<L> = Fits<Resolve<InOf<L>, OutOf<L>>, InOf<L>> extends true ? unknown
  : Mismatch<"repeat", Resolve<InOf<L>, OutOf<L>>, InOf<L>>;

/**
 * The outputs of `parallel`: each layer's output, where `Same` becomes that layer's own input.
 *
 * @example
 * ```ts
 * import type { Ids, Layer, ParallelOut, Same } from "./types.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const outs: Equal<ParallelOut<[Layer<Ids, 64>, Layer<32, Same>]>, [64, 32]> = true;
 * if (!outs) throw new Error();
 * ```
 */
export type ParallelOut<L extends readonly unknown[]> = {
  -readonly [K in keyof L]: [OutOf<L[K]>] extends [Same] ? InOf<L[K]> : OutOf<L[K]>;
};

/**
 * The inputs of `parallel`: each layer's input.
 *
 * @example
 * ```ts
 * import type { Ids, Layer, ParallelIn, Same } from "./types.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const ins: Equal<ParallelIn<[Layer<Ids, 64>, Layer<32, Same>]>, [Ids, 32]> = true;
 * if (!ins) throw new Error();
 * ```
 */
export type ParallelIn<L extends readonly unknown[]> = { -readonly [K in keyof L]: InOf<L[K]> };

/**
 * The input every layer of a branch accepts (never when two of them conflict).
 *
 * @example
 * ```ts
 * import type { BranchIn, Layer, Same } from "./types.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const common: Equal<BranchIn<[Layer<number, 8>, Layer<64, Same>]>, 64> = true;
 * const conflict: Equal<BranchIn<[Layer<32, 8>, Layer<64, 8>]>, never> = true;
 * if (!common || !conflict) throw new Error();
 * ```
 */
export type BranchIn<L extends readonly unknown[], Acc = unknown> = L extends readonly [infer H, ...infer T]
  ? BranchIn<T, Meet<Acc, InOf<H>>>
  : Acc;

/**
 * The outputs of a branch, one per layer (`Same` means the branch's input).
 *
 * @example
 * ```ts
 * import type { BranchOut, Layer, Same } from "./types.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const outs: Equal<BranchOut<[Layer<number, 8>, Layer<64, Same>]>, [8, Same]> = true;
 * if (!outs) throw new Error();
 * ```
 */
export type BranchOut<L extends readonly unknown[]> = { -readonly [K in keyof L]: OutOf<L[K]> };

/**
 * `unknown` when the layers of a branch accept a common input, else a compile-time error message.
 *
 * @example
 * ```ts
 * import type { CommonInput, Layer, Same } from "./types.ts";
 * type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
 * const ok: Equal<CommonInput<[Layer<number, 8>, Layer<64, Same>]>, unknown> = true;
 * const error: Equal<
 *   CommonInput<[Layer<32, 8>, Layer<64, 8>]>,
 *   "branch: the layers take different feature dims, so no input fits them all"
 * > = true;
 * if (!ok || !error) throw new Error();
 * ```
 */
export type CommonInput<L extends readonly unknown[]> = [BranchIn<L>] extends [never]
  ? "branch: the layers take different feature dims, so no input fits them all"
  : unknown;
