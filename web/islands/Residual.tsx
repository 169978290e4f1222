/**
 * Island: gradient norm per layer of a deep stack, with and without residual connections.
 * @module
 */
import * as Plot from "@observablehq/plot";
import type { ResidualFrame, ResidualSettings } from "../lessons/residual.ts";
import { Figure, linesOf } from "./plots.tsx";
import { NumberField, Toolbar, useReady } from "./ui.tsx";
import { type LessonProps, useLesson } from "./use_lesson.ts";

/**
 * The island.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import Residual from "./Residual.tsx";
 * import { residual } from "../lessons/residual.ts";
 * const first = { step: 0, losses: { plain: [], residual: [] }, norms: { plain: [1], residual: [1] } };
 * if (!render(<Residual slug="residual" defaults={residual.defaults} limits={{}} first={first} />).includes("depth")) throw new Error();
 * ```
 */
export default function Residual(props: LessonProps<ResidualSettings, ResidualFrame>) {
  const l = useLesson(props);
  const ref = useReady();
  const f = l.frame;
  const bars = (["plain", "residual"] as const).flatMap((kind) =>
    f.norms[kind].map((norm, layer) => ({ kind, layer: layer + 1, norm }))
  );
  return (
    <div ref={ref}>
      <Toolbar lesson={l} status={`step ${f.step}`}>
        <NumberField label="depth" value={l.settings.depth} onChange={(depth) => l.set({ depth })} step={1} />
        <NumberField label="width" value={l.settings.width} onChange={(width) => l.set({ width })} step={1} />
        <NumberField label="lr" value={l.settings.lr} onChange={(lr) => l.set({ lr })} />
      </Toolbar>
      <div class="figures">
        <Figure
          label="gradient norm per layer"
          options={{
            x: { label: "layer" },
            y: { label: "‖∂loss/∂W‖", type: "log", grid: true },
            color: { legend: true },
            marks: [Plot.line(bars, { x: "layer", y: "norm", stroke: "kind", marker: "dot" })],
          }}
        />
        <Figure
          label="training loss"
          options={linesOf(
            { plain: f.losses.plain, residual: f.losses.residual },
            "step",
            "mean squared error",
            { logY: true, xDomain: [0, l.settings.steps] },
          )}
        />
      </div>
    </div>
  );
}
