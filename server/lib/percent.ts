/**
 * Basis points (protocol §5: 0..10000, one is 0.01 %) as people read them
 * everywhere — CLI, dashboard, halt reasons: a percentage with two decimals,
 * computed on integers so it is exact: 1234 → "12.34%", 500 → "5.00%",
 * 50 → "0.50%". The wire keeps basis points (docs/protocol-notes.md).
 */
export function percentText(basisPoints: number): string {
  const bp = Math.trunc(Math.abs(basisPoints));
  return `${basisPoints < 0 ? '-' : ''}${Math.trunc(bp / 100)}.${String(bp % 100).padStart(2, '0')}%`;
}
