// Every failure caused by a file on disk names that file, so users know what to fix or delete.

export class DataFileError extends Error {
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'DataFileError';
    this.file = file;
  }
}
