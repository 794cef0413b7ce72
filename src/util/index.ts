export { writeFileAtomic, writeFileAtomicSync, atomicTempPath } from './atomic-write.js';
export type { AtomicWriteData, AtomicWriteOptions } from './atomic-write.js';
export { formatValue, formatNumber, formatCompact } from './format-number.js';
export { formatDuration } from './format-duration.js';
export { formatTable, formatMarkdownTable, resolveTable } from './table.js';
export type { Row, ColumnSpec, TableOptions, Alignment } from './table.js';
export { ProgressBar } from './progress.js';
export type { ProgressOptions, ProgressStream, ProgressFields } from './progress.js';
