import type { Report, ReportState } from '../../protocol/report-rules.js';
import type { AgentState } from './agent-state.js';
import { TransportError, type Transport } from './ports.js';

/** protocol §7: one report, as POST /v1/devices/{id}/reports takes it (the server's own type). */
export type AgentReport = Report;
export type { ReportState };

/** report.schema.json: at most 500 reports per request. */
export const REPORT_BATCH = 500;
const MAX_REFUSED = 50;

export interface FlushResult {
  sent: number;
  pending: number;
  error?: string;
}

const isPermanentRefusal = (status: number): boolean => status === 400 || status === 409 || status === 422;

/** The index of the report a refused batch names (protocol §7: "refuses the whole batch (naming it)"). */
function namedIndex(json: unknown, size: number): number | undefined {
  const details = (json as { error?: { details?: { path?: string }[] } } | undefined)?.error?.details ?? [];
  for (const d of details) {
    const m = /^\/(\d+)(?:\/|$)/.exec(d.path ?? '');
    if (m && Number(m[1]) < size) return Number(m[1]);
  }
  return undefined;
}

/**
 * Reports with a per-device increasing seq, queued in the persisted state
 * while offline and flushed in order; a report leaves the queue only when a
 * 2xx says the server stored it. The one exception: a batch the server
 * refuses for good (400/409/422) naming one report moves that report to
 * `state.refused`, so one bad report cannot silence the device forever.
 */
export class Reporter {
  constructor(
    private readonly state: () => AgentState,
    private readonly transport: Transport,
    private readonly persist: () => Promise<void>,
  ) {}

  /** Assigns the next seq and queues the report; the caller saves the state. */
  enqueue(report: Omit<AgentReport, 'seq'>): AgentReport {
    const st = this.state();
    const full: AgentReport = { seq: ++st.seq, ...report };
    st.queue.push(full);
    return full;
  }

  async flush(): Promise<FlushResult> {
    const st = this.state();
    const path = `/v1/devices/${encodeURIComponent(st.deviceId)}/reports`;
    let sent = 0;
    while (st.queue.length > 0) {
      const batch = st.queue.slice(0, REPORT_BATCH);
      let res;
      try {
        res = await this.transport.post(path, batch);
      } catch (e) {
        if (e instanceof TransportError) return { sent, pending: st.queue.length, error: e.message };
        throw e;
      }
      if (res.status >= 200 && res.status < 300) {
        const last = (batch[batch.length - 1] as AgentReport).seq;
        st.queue = st.queue.filter((r) => r.seq > last);
        sent += batch.length;
        await this.persist();
        continue;
      }
      const index = isPermanentRefusal(res.status) ? namedIndex(res.json, batch.length) : undefined;
      const error = `POST reports answered ${res.status}${res.json ? `: ${JSON.stringify(res.json).slice(0, 500)}` : ''}`;
      if (index === undefined) return { sent, pending: st.queue.length, error };
      const bad = batch[index] as AgentReport;
      st.queue = st.queue.filter((r) => r.seq !== bad.seq);
      st.refused = [...st.refused, { report: bad, error }].slice(-MAX_REFUSED);
      await this.persist();
    }
    return { sent, pending: 0 };
  }
}
