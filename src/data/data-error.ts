// Every failure caused by a file on disk names that file, so users know what to fix or delete.
// The class lives with the library's other error types.
export { DataFileError } from '../errors.js';
