import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTick, niceTicks } from '../../src/report/ticks.js';

test('nice ticks use 1/2/2.5/5 steps and stay inside the range', () => {
  assert.deepEqual(niceTicks(0, 1, 6).values, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.28, 0.82, 6).values, [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
  assert.deepEqual(niceTicks(-0.5, 10.5, 3, true).values, [0, 5, 10]);
  assert.deepEqual(niceTicks(0.9, 3.1, 8, true).values, [1, 2, 3]);
  // 15 epochs on a 640-px chart: matplotlib would step by 2.5; epochs step by whole numbers.
  assert.deepEqual(niceTicks(0.3, 15.7, 6, true).values, [2, 4, 6, 8, 10, 12, 14]);
});

test('tick labels share decimals for the step and use a typographic minus', () => {
  assert.equal(formatTick(0.5, 0.25), '0.50');
  assert.equal(formatTick(0.3, 0.1), '0.3');
  assert.equal(formatTick(10, 5), '10');
  assert.equal(formatTick(-2, 1), '\u22122');
  assert.equal(formatTick(2e6, 1e6), '2e+6');
  assert.equal(formatTick(1.25e6, 2.5e5), '1.25e+6');
  assert.equal(formatTick(-1.5e-6, 5e-7), '\u22121.5e-6');
  // Neighbouring ticks of a very narrow range must still differ.
  const { values, step } = niceTicks(0.7, 0.70000001, 5);
  const labels = values.map((v) => formatTick(v, step));
  assert.equal(new Set(labels).size, labels.length);
});
