// Server metrics in the Prometheus text exposition format (version 0.0.4): per model version the
// inference requests, their failures by HTTP status and a latency histogram of the successful
// ones; the queue depth, running requests, workers and model readiness as gauges; every HTTP
// response by status.

/** Latency histogram bucket bounds in seconds (Prometheus' defaults, and 1 ms / 2.5 ms below). */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string>) => `{${Object.entries(l).map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;

/** One model version's counters; found once per request by the version's key. */
interface Series {
  labels: string;
  requests: number;
  /** Failures by HTTP status. */
  failures: Map<number, number>;
  /** Successes per latency bucket (not cumulative; the last slot is above every bound). */
  buckets: number[];
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

/** A model version as the server knows it: `key` is unique per version. */
export interface SeriesKey {
  key: string;
  model: string;
  version: string;
}

export class Metrics {
  private readonly series = new Map<string, Series>();
  private readonly responses = new Map<number, number>();

  private of(v: SeriesKey): Series {
    let s = this.series.get(v.key);
    if (!s) this.series.set(v.key, (s = { labels: labels({ model: v.model, version: v.version }), requests: 0, failures: new Map(), buckets: new Array<number>(BUCKETS.length + 1).fill(0), sum: 0, count: 0 }));
    return s;
  }

  request(v: SeriesKey): void {
    this.of(v).requests++;
  }

  failure(v: SeriesKey, status: number): void {
    const f = this.of(v).failures;
    f.set(status, (f.get(status) ?? 0) + 1);
  }

  success(v: SeriesKey, seconds: number): void {
    const s = this.of(v);
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]) i++;
    s.buckets[i]++;
    s.sum += seconds;
    s.count++;
  }

  response(status: number): void {
    this.responses.set(status, (this.responses.get(status) ?? 0) + 1);
  }

  /** The exposition text. */
  render(g: Gauges): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string, rows: [string, number][]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...rows.map(([l, v]) => `${name}${l} ${v}`));
    };
    const all = [...this.series.values()];
    const inner = (s: Series) => s.labels.slice(1, -1);
    family('lowbit_inference_requests_total', 'counter', 'Inference requests for a model version.', all.map((s) => [s.labels, s.requests]));
    family('lowbit_inference_failures_total', 'counter', 'Inference requests for a model version answered with an error, by HTTP status.',
      all.flatMap((s) => [...s.failures].map(([code, n]): [string, number] => [`{${inner(s)},code="${code}"}`, n])));
    out.push('# HELP lowbit_inference_duration_seconds Time from receiving a successful inference request to its response being ready.', '# TYPE lowbit_inference_duration_seconds histogram');
    for (const s of all.filter((x) => x.count > 0)) {
      let cumulative = 0;
      BUCKETS.forEach((b, i) => out.push(`lowbit_inference_duration_seconds_bucket{${inner(s)},le="${b}"} ${(cumulative += s.buckets[i])}`));
      out.push(`lowbit_inference_duration_seconds_bucket{${inner(s)},le="+Inf"} ${s.count}`);
      out.push(`lowbit_inference_duration_seconds_sum${s.labels} ${s.sum}`, `lowbit_inference_duration_seconds_count${s.labels} ${s.count}`);
    }
    family('lowbit_queue_depth', 'gauge', 'Inference requests waiting for a worker.', [['', g.queueDepth]]);
    family('lowbit_inference_running', 'gauge', 'Inference requests running on a worker.', [['', g.running]]);
    family('lowbit_workers', 'gauge', 'Inference worker threads.', [['', g.workers]]);
    family('lowbit_workers_ready', 'gauge', 'Inference worker threads that have loaded the models.', [['', g.readyWorkers]]);
    family('lowbit_model_ready', 'gauge', '1 when a model version is loaded and serving, 0 when it failed to load.', g.models.map((m) => [labels({ model: m.model, version: m.version }), m.ready ? 1 : 0]));
    family('lowbit_http_responses_total', 'counter', 'HTTP responses by status.', [...this.responses].map(([code, n]) => [labels({ code: String(code) }), n]));
    return `${out.join('\n')}\n`;
  }
}
