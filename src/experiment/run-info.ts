// What every result records about the run that made it: when, the command, the versions, the
// threads, and the resolved options (the CLI fills it: cli/run-info.ts); and each trained head's record.
import type { EpochRecord } from '../train/trainer.js';

/** What a run was asked to do: every option of its command as resolved, for --print-config and results. */
export interface RunDescription {
  command: string;
  /** Absolute path of the --config file, or null. */
  config_file: string | null;
  /** Every option, keyed by flag name: its resolved value (paths absolute), or null when unset and without default. Secrets show as '<hidden>'. */
  options: Record<string, string | number | boolean | string[] | null>;
}

export interface RunInfo {
  created: string;
  command: string;
  versions: { deepmetric: string; libtorch: string; node: string };
  threads: number;
  /** The resolved options of the run (every flag, defaults included; see --print-config). */
  run?: RunDescription;
}

/** One head's training, as compare and anomaly record it. */
export interface HeadRecord {
  name: string;
  config: Record<string, unknown>;
  best_val_acc: number;
  best_epoch: number;
  final_val_acc: number;
  train_seconds: number;
  history: EpochRecord[];
}
