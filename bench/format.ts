/** Number formats shared by the targets and the printed table. */

/** A difference with its sign: `+1.5`, `-0.2`. */
export const sign = (x: number) => (x >= 0 ? `+${x}` : `${x}`);

/** Two decimals, or `n/a` for a figure without samples. */
export const fixed2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
