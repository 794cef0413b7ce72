// Writes a dataset in CIFAR-10's binary layout (label byte + R, G, B planes), the "BIN_DIR" the
// PyTorch peers read and that `deepmetric --data` accepts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageDataset } from '../src/data/dataset.js';

export function writeCifarBinary(dir: string, train: ImageDataset, test: ImageDataset): void {
  const write = (file: string, d: ImageDataset, start: number, end: number): void => {
    const out = Buffer.alloc((end - start) * 3073);
    for (let i = start; i < end; i++) {
      const rec = (i - start) * 3073;
      out[rec] = d.labels[i];
      for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) out[rec + 1 + c * 1024 + p] = d.images[i * 3072 + p * 3 + c];
    }
    writeFileSync(join(dir, file), out);
  };
  const per = Math.ceil(train.labels.length / 5);
  for (let b = 0; b < 5; b++) write(`data_batch_${b + 1}.bin`, train, b * per, Math.min(train.labels.length, (b + 1) * per));
  write('test_batch.bin', test, 0, test.labels.length);
}
