import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { Section } from './common.js';
import { percent, when } from './format.js';
import type { Timeline } from './types.js';

/**
 * The failure rate over time against the threshold (protocol §5 auto-halt):
 * at each minute, failures / terminal devices so far, from the server's
 * per-minute counts (GET /v1/rollouts/{id}/timeline). The same figures are
 * in a table below the chart for keyboards and screen readers.
 */
export function FailureChart({ timeline }: { timeline: Timeline }) {
  const box = useRef<HTMLDivElement>(null);
  const points = timeline.points;
  const key = points.map((p) => `${p.at}:${p.rateBasisPoints}`).join(',');

  useEffect(() => {
    const el = box.current;
    if (!el || points.length === 0) return;
    const xs = points.map((p) => Date.parse(p.at) / 1000);
    // A single minute still draws a line: extend it to the next minute.
    if (xs.length === 1) xs.push((xs[0] as number) + timeline.intervalSeconds);
    const rate = points.map((p) => p.rateBasisPoints / 100);
    if (rate.length < xs.length) rate.push(rate[rate.length - 1] as number);
    const threshold = xs.map(() => timeline.maxFailureBasisPoints / 100);
    const width = () => Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 240,
        scales: { y: { range: (_u, _min, max) => [0, Math.max(max, (timeline.maxFailureBasisPoints / 100) * 1.5, 1)] } },
        axes: [{}, { label: 'failure rate %', values: (_u, ticks) => ticks.map((t) => `${t}%`) }],
        series: [
          {},
          { label: 'failure rate', stroke: '#b3261e', width: 2, value: (_u, v) => (v == null ? '—' : `${v.toFixed(2)}%`) },
          { label: 'threshold', stroke: '#444', dash: [6, 4], width: 1.5, value: (_u, v) => (v == null ? '—' : `${v.toFixed(2)}%`) },
        ],
      },
      [xs, rate, threshold],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 240 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [key, timeline.maxFailureBasisPoints]);

  const last = points[points.length - 1];
  return (
    <Section title="Failure rate over time">
      {points.length === 0 ? (
        <p>No terminal reports yet: nothing to chart.</p>
      ) : (
        <>
          <p>
            Now {percent(last?.rateBasisPoints ?? 0)} of {last?.terminal ?? 0} terminal devices; threshold {percent(timeline.maxFailureBasisPoints)} (dashed), applied
            after {timeline.minTerminalReports} terminal reports.
          </p>
          <div ref={box} class="chart" role="img" aria-label="Chart of the failure rate per minute against the threshold; the same figures are in the table below." />
          <details>
            <summary>Figures per minute</summary>
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Minute</th>
                    <th scope="col" class="num">Terminal</th>
                    <th scope="col" class="num">Failures</th>
                    <th scope="col" class="num">Rate</th>
                  </tr>
                </thead>
                <tbody>
                  {points.map((p) => (
                    <tr key={p.at}>
                      <th scope="row">{when(p.at)}</th>
                      <td class="num">{p.terminal}</td>
                      <td class="num">{p.failures}</td>
                      <td class="num">{percent(p.rateBasisPoints)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </Section>
  );
}
