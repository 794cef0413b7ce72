import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chanceAccuracy, chanceWarning, ChanceWatch } from '../../src/train/chance-warning.js';

const balanced = Int32Array.from({ length: 500 }, (_, i) => i % 10);

describe('chance warning', () => {
  it('chance is the share of the largest validation class', () => {
    assert.equal(chanceAccuracy(balanced, 10), 0.1);
    assert.equal(chanceAccuracy(Int32Array.from([0, 0, 0, 1]), 2), 0.75);
  });

  it('warns when validation sits at chance while training accuracy is clearly above it, naming the flags', () => {
    const record = { epoch: 2, train_acc: 0.35, val_acc: 0.1 };
    const keras = chanceWarning({ record, valLabels: balanced, classCount: 10, trainSeen: 5000, bnMomentum: 0.001, label: 'softmax' });
    assert.match(keras!, /^softmax: warning — validation accuracy 0\.1000 after epoch 2 is chance level \(0\.1000\) although training accuracy is 0\.3500/);
    assert.match(keras!, /--precise-bn 0 keeps the moving averages, and with --bn-momentum 0\.001 \(Keras's 0\.999\)/);
    const precise = chanceWarning({ record, valLabels: balanced, classCount: 10, trainSeen: 5000, bnMomentum: 0.01, preciseBn: 2048, label: 'softmax' });
    assert.match(precise!, /train for more steps/);
  });

  it('stays quiet when validation moved off chance, or training has not learned either', () => {
    const check = (train_acc: number, val_acc: number) => chanceWarning({ record: { epoch: 1, train_acc, val_acc }, valLabels: balanced, classCount: 10, trainSeen: 2000, bnMomentum: 0.001, label: 'x' });
    assert.equal(check(0.35, 0.2), null);
    assert.equal(check(0.11, 0.1), null);
    assert.notEqual(check(0.35, 0.104), null);
    assert.equal(chanceWarning({ record: { epoch: 1, train_acc: null, val_acc: 0.1 }, valLabels: balanced, classCount: 10, trainSeen: 2000, label: 'pair' }), null);
  });

  it('logs once per run', () => {
    const lines: string[] = [];
    const watch = new ChanceWatch({ label: 'h', log: (l) => lines.push(l), valLabels: balanced, classCount: 10, bnMomentum: 0.001 });
    for (let epoch = 1; epoch <= 3; epoch++) watch.afterEpoch({ epoch, train_acc: 0.4, val_acc: 0.1 }, 5000);
    assert.equal(lines.length, 1);
  });
});
