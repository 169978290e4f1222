/**
 * How a training run shows its progress: on a terminal a progress bar with the ETA, redrawn in place; in a
 * pipe (a log file, CI) a plain line per report. Evaluations are always a line of their own.
 * @module
 */
import type { Report } from "./loop.ts";

/**
 * `h:mm:ss` (or `m:ss`) of a number of seconds.
 *
 * @example
 * ```ts
 * import { clock } from "./progress.ts";
 * if (clock(75) !== "1:15" || clock(3725) !== "1:02:05") throw new Error(clock(3725));
 * ```
 */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const two = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

/**
 * One report as a plain line.
 *
 * @example
 * ```ts
 * import { reportLine } from "./progress.ts";
 * const line = reportLine({ step: 5, epoch: 0, tokens: 640, loss: 2.5, lr: 0.01, tokensPerSecond: 320, elapsed: 2, progress: 0.5 });
 * if (!line.includes("step 5") || !line.includes("loss 2.500")) throw new Error(line);
 * ```
 */
export function reportLine(r: Report): string {
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  const eta = r.progress > 0 ? r.elapsed * (1 - r.progress) / r.progress : NaN;
  // Count-based models (the n-gram) have no loss or rate to show.
  const loss = Number.isNaN(r.loss) ? "" : `  loss ${r.loss.toFixed(3)}  lr ${r.lr.toPrecision(3)}`;
  return `step ${n(r.step)}  epoch ${r.epoch}  tokens ${n(r.tokens)}${loss}  ${
    n(r.tokensPerSecond)
  } tokens/s  ${(100 * r.progress).toFixed(1)}%  elapsed ${clock(r.elapsed)}  eta ${clock(eta)}`;
}

/**
 * A bar of `width` cells for a fraction.
 *
 * @example
 * ```ts
 * import { bar } from "./progress.ts";
 * if (bar(0.5, 4) !== "[##--]") throw new Error(bar(0.5, 4));
 * ```
 */
export function bar(fraction: number, width = 30): string {
  const full = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${"#".repeat(full)}${"-".repeat(width - full)}]`;
}

/**
 * Shows reports on a terminal (one redrawn line on stderr) or as plain lines (stdout).
 *
 * @example
 * ```ts
 * import { ProgressDisplay } from "./progress.ts";
 * const lines: string[] = [];
 * const display = new ProgressDisplay(false, (line) => lines.push(line));
 * display.report({ step: 1, epoch: 0, tokens: 9, loss: 1, lr: 0.1, tokensPerSecond: 9, elapsed: 1, progress: 0.1 });
 * if (lines.length !== 1 || !lines[0].startsWith("step 1")) throw new Error();
 * ```
 */
export class ProgressDisplay {
  private drawn = false;

  /** `tty`: draw a bar in place; `print` receives plain lines. */
  constructor(private readonly tty: boolean, private readonly print: (line: string) => void = console.log) {}

  /** Shows a report. */
  report(r: Report): void {
    if (r.evaluation) {
      this.line(
        `epoch ${r.epoch}: ` +
          Object.entries(r.evaluation).map(([k, v]) => `${k.replaceAll("_", " ")} ${v.toFixed(4)}`).join(
            ", ",
          ),
      );
    }
    if (!this.tty) return this.print(reportLine(r));
    const eta = r.progress > 0 ? r.elapsed * (1 - r.progress) / r.progress : NaN;
    const text = `${bar(r.progress)} ${(100 * r.progress).toFixed(1)}% step ${r.step} epoch ${r.epoch} loss ${
      r.loss.toFixed(3)
    } ${Math.round(r.tokensPerSecond).toLocaleString("en-US")} tok/s ETA ${clock(eta)}`;
    Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[2K${text}`));
    this.drawn = true;
  }

  /** Prints a line of its own (below the bar, which is redrawn on the next report). */
  line(text: string): void {
    this.finish();
    this.print(text);
  }

  /** Ends the bar's line. */
  finish(): void {
    if (this.drawn) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
    this.drawn = false;
  }
}
