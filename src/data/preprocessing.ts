// How a saved model wants its images: the size and channels it was trained on, how other sizes
// are brought to it, and the per-channel scaling. Stored with detectors and image indexes so new
// image files are prepared exactly as the training images were.
import { decodeImage, type DecodeOptions } from './image-decode.js';
import type { InputNormalization } from './normalization.js';

export interface Preprocessing {
  width: number;
  height: number;
  channels: 1 | 3;
  /** How an image of another size is brought to width × height (sharp's fit): 'cover' crops, 'contain' pads, 'fill' stretches. */
  resize: 'cover' | 'contain' | 'fill';
  /** Model input = (pixel / 255 − mean[c]) / std[c]; mean 0 and std 1 is plain pixel / 255. */
  mean: number[];
  std: number[];
}

export const RESIZE_MODES: readonly Preprocessing['resize'][] = ['cover', 'contain', 'fill'];

/** The preprocessing of images shaped like `shape`, scaled as `norm` says. */
export function preprocessingFor(shape: { width: number; height: number; channels: number }, norm: InputNormalization, resize: Preprocessing['resize'] = 'cover'): Preprocessing {
  const c = shape.channels;
  if (c !== 1 && c !== 3) throw new RangeError(`Expected images with 1 or 3 channels but received ${c}`);
  const standard = norm.kind === 'standard';
  return {
    width: shape.width, height: shape.height, channels: c, resize,
    mean: standard ? [...norm.mean!] : new Array<number>(c).fill(0),
    std: standard ? [...norm.std!] : new Array<number>(c).fill(1),
  };
}

/** The batch-tensor normalisation that applies p. */
export function normalizationOf(p: Preprocessing): InputNormalization {
  const unit = p.mean.every((m) => m === 0) && p.std.every((s) => s === 1);
  return unit ? { kind: 'unit' } : { kind: 'standard', mean: p.mean, std: p.std };
}

/** Checks a preprocessing record read from a file; `what` names the file in errors. */
export function checkPreprocessing(p: unknown, what: string): Preprocessing {
  const r = p as Preprocessing;
  const ok = r !== null && typeof r === 'object' && Number.isInteger(r.width) && r.width > 0 && Number.isInteger(r.height) && r.height > 0
    && (r.channels === 1 || r.channels === 3) && RESIZE_MODES.includes(r.resize)
    && Array.isArray(r.mean) && r.mean.length === r.channels && Array.isArray(r.std) && r.std.length === r.channels
    && [...r.mean, ...r.std].every((v) => typeof v === 'number' && Number.isFinite(v)) && r.std.every((v) => v > 0);
  if (!ok) throw new TypeError(`${what}: Expected a preprocessing record {width, height, channels, resize, mean, std} but received ${JSON.stringify(p)}`);
  return r;
}

export function decodeOptionsOf(p: Preprocessing): DecodeOptions {
  return { resize: { width: p.width, height: p.height, fit: p.resize }, channels: p.channels };
}

/** Decodes one encoded image (JPEG, PNG, WebP…) to the model's size and channels: H×W×C uint8. */
export async function prepareImage(data: Buffer, name: string, p: Preprocessing): Promise<Buffer> {
  return (await decodeImage(data, name, decodeOptionsOf(p))).pixels;
}
