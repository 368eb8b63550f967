import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { chartMarkers, rateSeries, TIME_TICK_STEPS, utcTickLabels, type ChartMarker } from './chart-time.js';
import { Section } from './common.js';
import { duration, percent, when } from './format.js';
import type { AuditEntry, Timeline } from './types.js';

const RATE_COLOUR = '#b3261e';
const HALT_COLOUR = '#7a1712';
const RESUME_COLOUR = '#0b57d0';
const utc = (seconds: number): string => when(new Date(seconds * 1000).toISOString());

/** Draws each halt (solid red) and resume (dashed blue) as a line across the plot, named at its top. */
function markerPlugin(markers: readonly ChartMarker[]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const { ctx, bbox } = u;
        const px = uPlot.pxRatio;
        ctx.save();
        ctx.font = `${12 * px}px system-ui, sans-serif`;
        for (const [i, m] of markers.entries()) {
          const x = Math.round(u.valToPos(m.at, 'x', true));
          if (x < bbox.left || x > bbox.left + bbox.width) continue;
          const colour = m.kind === 'halt' ? HALT_COLOUR : RESUME_COLOUR;
          ctx.strokeStyle = colour;
          ctx.fillStyle = colour;
          ctx.lineWidth = 2 * px;
          ctx.setLineDash(m.kind === 'halt' ? [] : [5 * px, 4 * px]);
          ctx.beginPath();
          ctx.moveTo(x, bbox.top);
          ctx.lineTo(x, bbox.top + bbox.height);
          ctx.stroke();
          // Names go right of the line unless they would leave the plot; marks close together use alternate rows.
          const name = m.kind === 'halt' ? '■ halt' : '▶ resume';
          const w = ctx.measureText(name).width;
          const left = x + 4 * px + w > bbox.left + bbox.width ? x - 4 * px - w : x + 4 * px;
          ctx.fillText(name, left, bbox.top + (14 + (i % 2) * 16) * px);
        }
        ctx.restore();
      },
    },
  };
}

/**
 * The failure rate over time against the threshold (protocol §5 auto-halt):
 * failures / terminal devices at the end of each interval, from the server's
 * counts (GET /v1/rollouts/{id}/timeline, whose interval fits the rollout's
 * span: issue 18), with the halts and the resumes that overruled them marked.
 * Times are UTC, as everywhere on the page. The same figures are in a table
 * below the chart for keyboards and screen readers.
 */
export function FailureChart({ timeline, history }: { timeline: Timeline; history: AuditEntry[] }) {
  const box = useRef<HTMLDivElement>(null);
  const points = timeline.points;
  const markers = chartMarkers(history);
  const step = timeline.intervalSeconds;
  const key = `${step}|${points.map((p) => `${p.at}:${p.rateBasisPoints}`).join(',')}|${markers.map((m) => `${m.kind}@${m.at}`).join(',')}`;

  useEffect(() => {
    const el = box.current;
    if (!el || points.length === 0) return;
    const { xs, rate } = rateSeries(points, step, markers);
    const threshold = xs.map(() => timeline.maxFailureBasisPoints / 100);
    const width = () => Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 240,
        // Ticks fall on round UTC times, whatever the browser's own zone.
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        // Room on the right for the last tick's label.
        padding: [12, 36, null, null],
        scales: {
          x: { time: true },
          y: { range: (_u, _min, max) => [0, Math.max(max, (timeline.maxFailureBasisPoints / 100) * 1.5, 1)] },
        },
        axes: [
          { label: 'time (UTC)', incrs: TIME_TICK_STEPS, space: 70, values: (_u, ticks) => utcTickLabels(ticks) },
          { label: 'failure rate %', values: (_u, ticks) => ticks.map((t) => `${t}%`) },
        ],
        series: [
          { value: (_u, v) => (v == null ? '—' : utc(v)) },
          { label: 'failure rate', stroke: RATE_COLOUR, width: 2, value: (_u, v) => (v == null ? '—' : `${v.toFixed(2)}%`) },
          { label: 'threshold', stroke: '#444', dash: [6, 4], width: 1.5, value: (_u, v) => (v == null ? '—' : `${v.toFixed(2)}%`) },
        ],
        plugins: [markerPlugin(markers)],
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
            after {timeline.minTerminalReports} terminal reports. One point per {duration(step)}; times in UTC.
          </p>
          <div
            ref={box}
            class="chart"
            role="img"
            aria-label={`Chart of the failure rate per ${duration(step)} against the threshold, halts and resumes marked; the same figures are in the table below.`}
          />
          {markers.length > 0 && (
            <p data-testid="chart-markers">
              Marked on the chart (halt: solid red line, resume: dashed blue line):{' '}
              {markers.map((m) => `${m.kind === 'halt' ? '■ halted' : '▶ resumed'} at ${utc(m.at)} by ${m.actor}`).join('; ')}.
            </p>
          )}
          <details>
            <summary>Figures per {duration(step)}</summary>
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Interval from</th>
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
