// Micro-batching: requests that arrive close together go through the network in one forward.
// The first item queued starts a short timer (waitMs); the batch runs when it fires or as soon as
// maxBatch items wait. An item whose request gave up (timeout, client gone) leaves the queue.
export interface BatcherOptions {
  /** How long the first item waits for company (ms, default 5). */
  waitMs?: number;
  /** Most items per forward (default 64). */
  maxBatch?: number;
  /** Called after each batch with its size and duration. */
  onBatch?: (size: number, seconds: number) => void;
}

interface Pending<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class RequestBatcher<I, O> {
  readonly waitMs: number;
  readonly maxBatch: number;
  readonly #run: (items: I[]) => O[];
  readonly #onBatch?: (size: number, seconds: number) => void;
  #queue: Pending<I, O>[] = [];
  #timer: NodeJS.Timeout | null = null;

  /** run: the batch computation, one output per input, in order (synchronous: one forward). */
  constructor(run: (items: I[]) => O[], o: BatcherOptions = {}) {
    this.waitMs = o.waitMs ?? 5;
    this.maxBatch = o.maxBatch ?? 64;
    if (!(this.waitMs >= 0)) throw new RangeError(`Expected waitMs ≥ 0 but received ${o.waitMs}`);
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new RangeError(`Expected maxBatch an integer ≥ 1 but received ${o.maxBatch}`);
    this.#run = run;
    this.#onBatch = o.onBatch;
  }

  /** Items waiting for a forward. */
  get depth(): number {
    return this.#queue.length;
  }

  submit(item: I, signal?: AbortSignal): Promise<O> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<O>((resolve, reject) => {
      const p: Pending<I, O> = { item, resolve, reject, signal };
      if (signal) {
        p.onAbort = () => {
          const i = this.#queue.indexOf(p);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.#queue.push(p);
      if (this.#queue.length >= this.maxBatch) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.waitMs);
    });
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#queue.splice(0, this.maxBatch);
    if (this.#queue.length > 0) this.#timer = setTimeout(() => this.#flush(), 0);
    if (batch.length === 0) return;
    for (const p of batch) if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
    const start = performance.now();
    let outputs: O[];
    try {
      outputs = this.#run(batch.map((p) => p.item));
      if (outputs.length !== batch.length) throw new Error(`batch: Expected ${batch.length} outputs but the computation returned ${outputs.length}`);
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    this.#onBatch?.(batch.length, (performance.now() - start) / 1000);
    for (const [i, p] of batch.entries()) p.resolve(outputs[i]);
  }
}
