// The library's error types, one per boundary, so callers branch on `instanceof` rather than on
// message text (as tch-rs's TchError). Bad arguments caught in TS are plain TypeError / RangeError
// (see tensor/checks.ts for the rule); these classes mark failures that come from somewhere else.

/**
 * A failure inside the native addon: libtorch rejected an operation (shapes that do not fit, an
 * index out of range…) or the addon's own argument reader did. The message is the addon's
 * "op: reason"; `op` and `reason` hold its two parts, and `cause` the addon's original Error.
 * @example
 * try { a.matmul(b); } catch (e) { if (e instanceof TorchError && e.op === 'matmul') … }
 */
export class TorchError extends Error {
  /** The native entry that failed, e.g. 'mm', 'indexSelect'. */
  readonly op: string;
  /** libtorch's explanation, without the op prefix. */
  readonly reason: string;

  constructor(op: string, reason: string, options?: { cause?: unknown }) {
    super(`${op}: ${reason}`, options);
    this.name = 'TorchError';
    this.op = op;
    this.reason = reason;
  }

  /**
   * The TorchError for an error thrown by native entry `entry`: the op is read from the guard's
   * "op: reason" prefix (it can differ from the entry, e.g. 'dataAsync' for toDataAsync), else the
   * entry's name. Anything that is not an Error is returned unchanged.
   */
  static fromNative(entry: string, error: unknown): unknown {
    if (!(error instanceof Error) || error instanceof TorchError) return error;
    const match = /^([A-Za-z_][A-Za-z0-9_]*): ([\s\S]*)$/.exec(error.message);
    const wrapped = match ? new TorchError(match[1], match[2], { cause: error }) : new TorchError(entry, error.message, { cause: error });
    // Keep the JS stack of the call that failed (the native frame adds nothing useful).
    if (error.stack !== undefined) wrapped.stack = `${wrapped.name}: ${wrapped.message}${error.stack.slice(error.stack.indexOf('\n'))}`;
    return wrapped;
  }
}

/** Bad command-line input: the CLI prints it without a stack, with a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** A failure caused by a file on disk; the message starts with the file, so users know what to fix or delete. */
export class DataFileError extends Error {
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'DataFileError';
    this.file = file;
  }
}

/** Training stopped because the loss stopped being finite (NaN or ±Infinity); the last good checkpoint is kept. */
export class TrainingDivergedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TrainingDivergedError';
  }
}
