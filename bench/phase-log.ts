/** The run's progress: each phase logged with its seconds since the start, for results.json. */
import { round2 } from './stats';

export interface PhaseMark {
  phase: string;
  started_s: number;
}

export function phaseLog() {
  const start = performance.now();
  const marks: PhaseMark[] = [];
  return {
    marks,
    phase(text: string) {
      const at = round2((performance.now() - start) / 1000);
      marks.push({ phase: text, started_s: at });
      console.log(`[${at.toFixed(0).padStart(3)} s] ${text}`);
    },
  };
}
