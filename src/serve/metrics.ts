// A small Prometheus registry (text exposition format 0.0.4): counters, histograms and gauges
// with labels; gauges read their value when scraped. Enough for one process's /metrics.
export type Labels = Record<string, string>;

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelText = (l: Labels): string => {
  const entries = Object.entries(l);
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
};
const numberText = (v: number): string => (v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : Number.isNaN(v) ? 'NaN' : String(v));

interface Metric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  lines(): string[];
}

export class Counter implements Metric {
  readonly type = 'counter';
  readonly #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }
  /** The current value for these labels (0 when never incremented). */
  get(labels: Labels = {}): number {
    return this.#values.get(labelText(labels)) ?? 0;
  }
  lines(): string[] {
    return [...this.#values].map(([l, v]) => `${this.name}${l} ${numberText(v)}`);
  }
}

export class Gauge implements Metric {
  readonly type = 'gauge';
  constructor(readonly name: string, readonly help: string, readonly read: () => Array<[Labels, number]> | number) {}
  lines(): string[] {
    const v = this.read();
    return (typeof v === 'number' ? [[{}, v] as [Labels, number]] : v).map(([l, x]) => `${this.name}${labelText(l)} ${numberText(x)}`);
  }
}

export class Histogram implements Metric {
  readonly type = 'histogram';
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {
    if (buckets.some((b, i) => i > 0 && b <= buckets[i - 1])) throw new RangeError(`histogram ${name}: Expected increasing buckets but received ${buckets.join(', ')}`);
  }
  observe(value: number, labels: Labels = {}): void {
    const key = labelText(labels);
    let s = this.#series.get(key);
    if (!s) {
      s = { labels, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) s.counts[i]++;
    s.sum += value;
    s.count++;
  }
  /** How many observations so far and their sum. */
  stats(labels: Labels = {}): { count: number; sum: number } {
    const s = this.#series.get(labelText(labels));
    return { count: s?.count ?? 0, sum: s?.sum ?? 0 };
  }
  lines(): string[] {
    const out: string[] = [];
    for (const s of this.#series.values()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += s.counts[i];
        out.push(`${this.name}_bucket${labelText({ ...s.labels, le: numberText(b) })} ${cumulative}`);
      });
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${numberText(s.sum)}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return out;
  }
}

export class MetricsRegistry {
  readonly #metrics: Metric[] = [];

  #add<M extends Metric>(m: M): M {
    if (this.#metrics.some((x) => x.name === m.name)) throw new Error(`metrics: ${m.name} is registered twice`);
    this.#metrics.push(m);
    return m;
  }

  counter(name: string, help: string): Counter {
    return this.#add(new Counter(name, help));
  }

  gauge(name: string, help: string, read: () => Array<[Labels, number]> | number): Gauge {
    return this.#add(new Gauge(name, help, read));
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.#add(new Histogram(name, help, buckets));
  }

  /** The Prometheus text exposition of every metric. */
  render(): string {
    return `${this.#metrics.map((m) => [`# HELP ${m.name} ${m.help.replace(/\n/g, ' ')}`, `# TYPE ${m.name} ${m.type}`, ...m.lines()].join('\n')).join('\n')}\n`;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
