// A progress bar on a terminal: one line redrawn in place ("\r"), cleared at the end. When the
// stream is not a terminal (a pipe, a file, CI logs) nothing is drawn, so the output stays clean.

import type { Progress } from './bench/measure.js';

const WIDTH = 24;

/** `write` gets the bar's text; `columns` is the terminal's width, undefined when not a terminal. */
export function progressBar(label: string, write: (text: string) => void, columns: number | undefined, minIntervalMs = 80): Progress {
  if (columns === undefined) return { update: () => undefined, end: () => undefined };
  let last = 0;
  let drawn = 0;
  return {
    update(phase, done, total) {
      const now = performance.now();
      if (now - last < minIntervalMs && done < total) return;
      last = now;
      const f = total > 0 ? Math.min(1, done / total) : 0;
      const full = Math.round(f * WIDTH);
      const line = `${label} ${'█'.repeat(full)}${'░'.repeat(WIDTH - full)} ${String(Math.round(f * 100)).padStart(3)}% ${phase}`.slice(0, Math.max(10, columns - 1));
      write(`\r${line.padEnd(drawn)}`);
      drawn = line.length;
    },
    end() {
      if (drawn > 0) write(`\r${' '.repeat(drawn)}\r`);
      drawn = 0;
    },
  };
}
