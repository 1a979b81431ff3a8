/**
 * /metrics for Prometheus (prom-client), in registries of this door's own (no global one):
 *
 * - pmond's: its RSS, CPU, heap and event loop (prom-client's default collectors), the HTTP
 *   door's request latencies by route and status, event streams open, the signed-request nonces
 *   kept, and the hook queue;
 * - per instance, made at each scrape from `list` as the scraper's Unix user (a key of alice's
 *   sees alice's processes only): cpu, memory, restarts, status, uptime, ready.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { STATUSES, type ProcessTableRow } from '../protocol/methods';

export interface MetricsSources {
  /** Event streams open. */
  streams(): number;
  /** Nonces kept by the authenticator. */
  nonces(): number;
  /** Hooks queued and running, when the runner can tell. */
  hooks?(): { queued: number; running: number };
}

export class Metrics {
  private readonly own = new Registry();
  private readonly latency: Histogram<'route' | 'status'>;
  private readonly requests: Counter<'route' | 'status'>;
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;

  constructor(src: MetricsSources) {
    collectDefaultMetrics({ register: this.own, prefix: 'pmond_' });
    this.latency = new Histogram({
      name: 'pmond_http_request_duration_seconds',
      help: 'HTTP API requests by route and status, until the answer was written',
      labelNames: ['route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [this.own],
    });
    this.requests = new Counter({ name: 'pmond_http_requests_total', help: 'HTTP API requests by route and status', labelNames: ['route', 'status'], registers: [this.own] });
    new Gauge({ name: 'pmond_http_event_streams', help: 'Event streams open on the HTTP API', registers: [this.own], collect() { this.set(src.streams()); } });
    new Gauge({ name: 'pmond_http_nonces', help: 'Nonces of signed requests kept for replay checks', registers: [this.own], collect() { this.set(src.nonces()); } });
    if (src.hooks) {
      const h = src.hooks;
      new Gauge({ name: 'pmond_hooks_queued', help: 'Event hooks waiting to run', registers: [this.own], collect() { this.set(h().queued); } });
      new Gauge({ name: 'pmond_hooks_running', help: 'Event hooks running', registers: [this.own], collect() { this.set(h().running); } });
    }
  }

  observe(route: string, status: number, seconds: number): void {
    const labels = { route, status: String(status) };
    this.latency.observe(labels, seconds);
    this.requests.inc(labels);
  }

  /** The exposition text: pmond's own metrics, then the instances list() returns. */
  async text(list: () => Promise<ProcessTableRow[]>): Promise<string> {
    const rows = await list();
    const reg = new Registry();
    const labelNames = ['id', 'name', 'app', 'user'] as const;
    const g = (name: string, help: string, extra: string[] = []): Gauge<string> => new Gauge({ name, help, labelNames: [...labelNames, ...extra], registers: [reg] });
    const cpu = g('pmon3_process_cpu_percent', 'CPU of the instance, percent of one core');
    const mem = g('pmon3_process_memory_bytes', 'Resident memory of the instance');
    const restarts = g('pmon3_process_restarts', 'Restarts of the instance');
    const up = g('pmon3_process_uptime_seconds', 'Seconds since the instance started');
    const ready = g('pmon3_process_ready', '1 when the instance is running and ready');
    const status = g('pmon3_process_status', '1 for the status the instance is in', ['status']);
    for (const r of rows) {
      const l = { id: String(r.id), name: r.name, app: r.app ?? r.name, user: r.user };
      if (r.cpu !== null) cpu.set(l, r.cpu);
      if (r.memory !== null) mem.set(l, r.memory);
      restarts.set(l, r.restarts);
      if (r.uptime_ms !== null) up.set(l, r.uptime_ms / 1000);
      ready.set(l, r.status === 'running' ? 1 : 0);
      for (const s of STATUSES) status.set({ ...l, status: s }, r.status === s ? 1 : 0);
    }
    return `${await this.own.metrics()}\n${await reg.metrics()}`;
  }
}
