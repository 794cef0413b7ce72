// Every image of a dataset in its four rotations, labelled by rotation: the validation set of a
// one-class rotation model, on which the trainer's ordinary evaluation reports rotation accuracy.
import { tensor } from '../../tensor/creation.js';
import { tidy } from '../../tensor/memory.js';
import { sharedBytes, type ImageDataset } from '../../data/dataset.js';
import { ROTATION_COUNT, rotationBatch } from '../../losses/rotate.js';

export const ROTATION_CLASSES = ['0°', '90°', '180°', '270°'];

export function rotatedDataset(data: ImageDataset): ImageDataset {
  const { height, width, channels } = data;
  if (height !== width) throw new TypeError(`Expected square images to rotate but received ${height}×${width}`);
  const n = data.labels.length;
  const images = sharedBytes(ROTATION_COUNT * data.images.length);
  const labels = new Int32Array(ROTATION_COUNT * n);
  tidy(() => {
    const rotated = rotationBatch(tensor(data.images, { shape: [n, height, width, channels] }), 'nhwc');
    images.set(rotated.images.dataSync() as Uint8Array);
    labels.set(rotated.labels.to('int32').dataSync() as Int32Array);
  });
  return { images, labels, height, width, channels, classes: [...ROTATION_CLASSES] };
}
