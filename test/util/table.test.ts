import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMarkdownTable, formatTable } from '../../src/util/table.js';
import { formatCompact, formatNumber, formatValue } from '../../src/util/format-number.js';
import { formatDuration } from '../../src/util/format-duration.js';

const rows = [
  { head: 'softmax', best_val_acc: 0.61234, best_epoch: 12, train_seconds: 1234.5 },
  { head: 'l2softmax', best_val_acc: 0.7, best_epoch: 9, train_seconds: 98.25 },
];

test('plain table: header, rule, numbers right-aligned with matching decimals, text left-aligned', () => {
  const text = formatTable(rows, { digits: 3 });
  assert.equal(
    text,
    [
      'head       best_val_acc  best_epoch  train_seconds',
      '---------  ------------  ----------  -------------',
      'softmax           0.612          12       1234.500',
      'l2softmax         0.700           9         98.250',
    ].join('\n'),
  );
});

test('columns choose order, headers, per-column digits and custom formats; missing cells are blank', () => {
  const text = formatTable([...rows, { head: 'arcface' }], {
    columns: [{ key: 'head', header: 'Head' }, { key: 'best_val_acc', header: 'Acc', digits: 2 }, { key: 'train_seconds', header: 'Time', format: (v) => (v === undefined ? '-' : `${v}s`) }],
  });
  assert.equal(
    text,
    [
      'Head        Acc     Time',
      '---------  ----  -------',
      'softmax    0.61  1234.5s',
      'l2softmax  0.70   98.25s',
      'arcface                -',
    ].join('\n'),
  );
});

test('markdown table escapes pipes and marks numeric columns right-aligned', () => {
  const md = formatMarkdownTable([{ name: 'a|b', value: 1.5 }, { name: 'c', value: 10 }], { digits: 1 });
  assert.equal(md, ['| name | value |', '|------|------:|', '| a\\|b |   1.5 |', '| c    |    10 |'].join('\n'));
});

test('table argument checks', () => {
  assert.throws(() => formatTable('x' as never), /Expected an array of row objects for rows but received string/);
  assert.throws(() => formatTable([1] as never), /Expected an object for rows\[0\] but received 1/);
  assert.throws(() => formatTable(rows, { columns: [] }), /Expected a non-empty array for columns but received \[\]/);
  assert.equal(formatTable([]), '\n');
});

test('number and duration formatting', () => {
  assert.equal(formatNumber(3), '3');
  assert.equal(formatNumber(0.123456), '0.1235');
  assert.equal(formatNumber(1e-7), '1.000e-7');
  assert.equal(formatNumber(NaN), 'NaN');
  assert.equal(formatNumber(-Infinity), '-inf');
  assert.equal(formatValue(null), '');
  assert.equal(formatValue(true), 'true');
  assert.equal(formatValue([0.5, 2], 2), '0.50, 2');
  assert.throws(() => formatValue(1, -1), /Expected integer between 0 and 20 for digits but received -1/);
  assert.equal(formatCompact(0.693141), '0.6931');
  assert.equal(formatCompact(1234.5678), '1235');
  assert.equal(formatCompact(2.5), '2.5');
  assert.equal(formatDuration(5), '0:05');
  assert.equal(formatDuration(125.4), '2:05');
  assert.equal(formatDuration(3723), '1:02:03');
  assert.equal(formatDuration(NaN), '?');
});
