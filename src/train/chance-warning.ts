// A check after each epoch: validation accuracy at chance while training accuracy is clearly above
// it almost always means the model behaves differently in evaluation mode — BatchNorm's running
// statistics have not caught up with the weights (Keras's momentum 0.999 needs ≈ 20 CIFAR-10
// epochs). The warning says so and names the flag, instead of leaving a flat 0.10 curve unexplained.

import type { BackboneSpec } from '../models/registry.js';
import type { EpochRecord } from './trainer.js';

/** What always predicting the largest class scores: the chance level of this validation set. */
export function chanceAccuracy(labels: Int32Array, classCount: number): number {
  if (labels.length === 0) return 0;
  const counts = new Int32Array(Math.max(1, classCount));
  for (const label of labels) counts[label]++;
  return Math.max(...counts) / labels.length;
}

export interface ChanceCheck {
  /** The epoch just finished. */
  record: Pick<EpochRecord, 'epoch' | 'train_acc' | 'val_acc'>;
  valLabels: Int32Array;
  classCount: number;
  /** Training images seen in the epoch (for the margin). */
  trainSeen: number;
  /** The backbone's BatchNorm momentum (PyTorch convention) when it has one. */
  bnMomentum?: number;
  /** Training images BatchNorm statistics are recomputed on before validation (0/undefined: moving averages). */
  preciseBn?: number;
  label: string;
}

/** One binomial standard error at chance level (at least half a point): a model whose predictions collapsed lands inside it. */
function band(p: number, n: number): number {
  return Math.max(0.005, Math.sqrt((p * (1 - p)) / Math.max(1, n)));
}

/** The warning to print after this epoch, or null when validation is not stuck at chance. */
export function chanceWarning(c: ChanceCheck): string | null {
  const { record } = c;
  if (record.train_acc === null || c.classCount < 2) return null;
  const chance = chanceAccuracy(c.valLabels, c.classCount);
  const atChance = Math.abs(record.val_acc - chance) <= band(chance, c.valLabels.length);
  const learning = record.train_acc >= chance + 2 * band(chance, c.trainSeen) + 0.02;
  if (!atChance || !learning) return null;
  const why = c.bnMomentum !== undefined && !c.preciseBn
    ? `BatchNorm's running statistics, which evaluation uses, have not settled: --precise-bn 0 keeps the moving averages, and with --bn-momentum ${c.bnMomentum}` +
      `${c.bnMomentum === 0.001 ? " (Keras's 0.999)" : ''} they need ${Math.round(5 / c.bnMomentum)}+ steps. Leave out --precise-bn 0 (by default the statistics are recomputed before each validation), ` +
      'or raise --bn-momentum (0.1 or more for runs of a few hundred steps).'
    : 'Evaluation mode differs from training mode (BatchNorm statistics, dropout); train for more steps, and if it persists try a lower --lr.';
  return `${c.label}: warning — validation accuracy ${record.val_acc.toFixed(4)} after epoch ${record.epoch} is chance level (${chance.toFixed(4)}) ` +
    `although training accuracy is ${record.train_acc.toFixed(4)}. ${why}`;
}

/** Checks every epoch and logs the warning once per run (a long stuck stretch repeats nothing). */
export class ChanceWatch {
  private warned = false;

  constructor(private readonly o: Omit<ChanceCheck, 'record' | 'trainSeen'> & { log: (line: string) => void }) {}

  afterEpoch(record: ChanceCheck['record'], trainSeen: number): void {
    if (this.warned) return;
    const warning = chanceWarning({ ...this.o, record, trainSeen });
    if (warning) {
      this.o.log(warning);
      this.warned = true;
    }
  }
}

/** The BatchNorm momentum a backbone spec builds with (MobileNetV2's default is Keras's), or undefined. */
export function backboneBnMomentum(spec: BackboneSpec | undefined): number | undefined {
  if (!spec?.name.startsWith('mobilenet')) return undefined;
  return spec.bnMomentum ?? 0.001;
}
