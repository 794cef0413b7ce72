// A download progress bar on stderr. On a terminal it redraws one line; elsewhere (CI logs) it
// prints a line every 10% so logs stay short.

function formatBytes(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(2)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes} B`;
}

export class ProgressBar {
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly started = Date.now();
  private readonly interactive: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.interactive = Boolean(stream.isTTY);
  }

  update(done: number): void {
    const now = Date.now();
    if (this.interactive) {
      if (now - this.lastDraw < 100) return;
      this.lastDraw = now;
      this.stream.write(`\r${this.line(done)}\x1b[K`);
    } else if (this.total) {
      const decile = Math.floor((done / this.total) * 10);
      if (decile > this.lastDecile) {
        this.lastDecile = decile;
        this.stream.write(`${this.line(done)}\n`);
      }
    }
  }

  finish(done: number): void {
    if (this.interactive) this.stream.write(`\r${this.line(done)}\x1b[K\n`);
    else if (this.lastDecile < 10) this.stream.write(`${this.line(done)}\n`);
  }

  private line(done: number): string {
    const seconds = Math.max((Date.now() - this.started) / 1000, 1e-3);
    const rate = `${formatBytes(done / seconds)}/s`;
    if (!this.total) return `${this.label} ${formatBytes(done)} ${rate}`;
    const fraction = Math.min(done / this.total, 1);
    const width = 30;
    const filled = Math.round(fraction * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    return `${this.label} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(done)}/${formatBytes(this.total)} ${rate}`;
  }
}
