// Server metrics in the Prometheus text exposition format (version 0.0.4): per model version the
// inference requests, their failures by HTTP status and a latency histogram of the successful
// ones; the queue depth, running requests, workers and model readiness as gauges; every HTTP
// response by status.

/** Latency histogram bucket bounds in seconds (Prometheus' defaults, and 1 ms / 2.5 ms below). */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string>) => `{${Object.entries(l).map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export interface Gauges {
  queueDepth: number;
  running: number;
  workers: number;
  readyWorkers: number;
  models: { model: string; version: string; ready: boolean }[];
}

export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly responses = new Map<string, number>();

  private static add(m: Map<string, number>, key: string): void {
    m.set(key, (m.get(key) ?? 0) + 1);
  }

  request(model: string, version: string): void {
    Metrics.add(this.requests, labels({ model, version }));
  }

  failure(model: string, version: string, status: number): void {
    Metrics.add(this.failures, labels({ model, version, code: String(status) }));
  }

  success(model: string, version: string, seconds: number): void {
    const key = labels({ model, version });
    let h = this.latency.get(key);
    if (!h) this.latency.set(key, (h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) h!.counts[i]++;
    });
    h.sum += seconds;
    h.count++;
  }

  response(status: number): void {
    Metrics.add(this.responses, labels({ code: String(status) }));
  }

  /** The exposition text. */
  render(g: Gauges): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string, rows: [string, number][]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...rows.map(([l, v]) => `${name}${l} ${v}`));
    };
    family('lowbit_inference_requests_total', 'counter', 'Inference requests for a model version.', [...this.requests]);
    family('lowbit_inference_failures_total', 'counter', 'Inference requests for a model version answered with an error, by HTTP status.', [...this.failures]);
    out.push('# HELP lowbit_inference_duration_seconds Time from receiving a successful inference request to its response being ready.', '# TYPE lowbit_inference_duration_seconds histogram');
    for (const [l, h] of this.latency) {
      const inner = l.slice(1, -1);
      BUCKETS.forEach((b, i) => out.push(`lowbit_inference_duration_seconds_bucket{${inner},le="${b}"} ${h.counts[i]}`));
      out.push(`lowbit_inference_duration_seconds_bucket{${inner},le="+Inf"} ${h.count}`);
      out.push(`lowbit_inference_duration_seconds_sum${l} ${h.sum}`, `lowbit_inference_duration_seconds_count${l} ${h.count}`);
    }
    family('lowbit_queue_depth', 'gauge', 'Inference requests waiting for a worker.', [['', g.queueDepth]]);
    family('lowbit_inference_running', 'gauge', 'Inference requests running on a worker.', [['', g.running]]);
    family('lowbit_workers', 'gauge', 'Inference worker threads.', [['', g.workers]]);
    family('lowbit_workers_ready', 'gauge', 'Inference worker threads that have loaded the models.', [['', g.readyWorkers]]);
    family('lowbit_model_ready', 'gauge', '1 when a model version is loaded and serving, 0 when it failed to load.', g.models.map((m) => [labels({ model: m.model, version: m.version }), m.ready ? 1 : 0]));
    family('lowbit_http_responses_total', 'counter', 'HTTP responses by status.', [...this.responses]);
    return `${out.join('\n')}\n`;
  }
}
