import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressBar } from '../../src/util/progress.js';

/** A real (if minimal) stream: records what was written; the clock is advanced by hand. */
function setup(tty: boolean, columns = 120) {
  const writes: string[] = [];
  let nowMs = 0;
  const stream = { write: (s: string) => writes.push(s), isTTY: tty, columns };
  return {
    writes,
    stream,
    now: () => nowMs,
    advance: (seconds: number) => {
      nowMs += seconds * 1000;
    },
  };
}

test('non-TTY: a line every 10%, at most periodic in time, and a final line', () => {
  const s = setup(false);
  const bar = new ProgressBar({ total: 100, label: 'epoch 1/3', unit: 'img', stream: s.stream, now: s.now, plainEverySeconds: 1000 });
  for (let i = 0; i < 100; i++) {
    s.advance(0.1);
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: ln 10, a 10-class cross-entropy at chance, on purpose
    bar.tick(1, { loss: 2.302585 - i * 0.01 });
  }
  bar.finish({ acc: 0.5 });
  const lines = s.writes.join('').split('\n').filter(Boolean);
  assert.equal(s.writes.join('').includes('\r'), false, 'no carriage returns in logs');
  assert.equal(lines.length, 11, lines.join('\n'));
  assert.equal(lines[0], 'epoch 1/3 10/100 (10%) elapsed 0:01 eta 0:09 10.0 img/s loss=2.213');
  assert.match(lines[9]!, /^epoch 1\/3 100\/100 \(100%\) elapsed 0:10 eta 0:00 10\.0 img\/s loss=1\.313/);
  assert.equal(lines[10], 'epoch 1/3 100/100 (100%) done in 0:10 10.0 img/s loss=1.313 acc=0.5');
});

test('non-TTY: prints every N seconds when progress is slow', () => {
  const s = setup(false);
  const bar = new ProgressBar({ total: 1000, stream: s.stream, now: s.now, plainEverySeconds: 30 });
  for (let i = 0; i < 20; i++) {
    s.advance(10);
    bar.tick(1);
  }
  // 200 s at one unit per 10 s never crosses 10%, so only the time rule prints: at 30, 60, … 180 s.
  const lines = s.writes.join('').split('\n').filter(Boolean);
  assert.equal(lines.length, 6);
  assert.match(lines[0]!, /^3\/1000 \(0%\) elapsed 0:30 eta 2:46:10 0\.10 it\/s$/);
});

test('non-TTY with unknown total prints counts and rate only', () => {
  const s = setup(false);
  const bar = new ProgressBar({ stream: s.stream, now: s.now, plainEverySeconds: 5 });
  s.advance(5);
  bar.update(50);
  bar.finish();
  assert.deepEqual(s.writes.join('').split('\n').filter(Boolean), ['50 elapsed 0:05 10.0 it/s', '50 done in 0:05 10.0 it/s']);
});

test('TTY: one updating line with bar, count, percent, elapsed<eta, rate and fields; throttled', () => {
  const s = setup(true, 100);
  const bar = new ProgressBar({ total: 50, label: 'train', unit: 'img', stream: s.stream, now: s.now });
  s.advance(1);
  bar.tick(10, { loss: 0.5 });
  bar.tick(1); // Same instant: throttled, not drawn.
  assert.equal(s.writes.length, 1);
  const line = s.writes[0]!;
  assert.ok(line.startsWith('\r') && line.endsWith('\x1b[K'));
  assert.match(line, /^\rtrain: {2}20% \|█+ +\| 10\/50 \[0:01<0:04, 10\.0 img\/s\] loss=0\.5\x1b\[K$/);
  assert.ok(line.length - 4 <= 99, 'fits the terminal width');
  s.advance(4);
  bar.update(50);
  bar.finish();
  const last = s.writes.at(-2)!;
  assert.match(last, /100% \|█+\| 50\/50 \[0:05<0:00, 10\.0 img\/s\]/);
  assert.equal(s.writes.at(-1), '\n');
});

test('TTY: log() prints above the bar and redraws it; narrow terminals drop the bar', () => {
  const s = setup(true, 40);
  const bar = new ProgressBar({ total: 10, label: 'embed', stream: s.stream, now: s.now });
  s.advance(1);
  bar.tick(5);
  bar.log('checkpoint saved');
  assert.equal(s.writes[1], '\r\x1b[Kcheckpoint saved\n');
  assert.ok(s.writes[2]!.startsWith('\r'));
  for (const w of s.writes) assert.ok(w.replace(/\r|\x1b\[K|\n/g, '').length <= 39);
  assert.doesNotMatch(s.writes[0]!, /\|/);
});

test('finish is idempotent and later ticks are ignored', () => {
  const s = setup(false);
  const bar = new ProgressBar({ total: 2, stream: s.stream, now: s.now });
  bar.finish();
  bar.finish();
  bar.tick();
  assert.equal(s.writes.length, 1);
});

test('argument checks', () => {
  assert.throws(() => new ProgressBar({ total: -1 }), /Expected a finite number >= 0 for total but received -1/);
  assert.throws(() => new ProgressBar({ plainEverySeconds: 0 }), /Expected a finite number > 0 for plainEverySeconds but received 0/);
  const s = setup(false);
  assert.throws(() => new ProgressBar({ stream: s.stream }).tick(NaN), /for n but received NaN/);
});
