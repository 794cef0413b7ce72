// Look-alikes: the embeddings of a dataset's images with their names and labels, and the network
// that made them, in one checksummed file (the detector's container, magic "DMINDEX1"), so that
// new image files can be embedded and matched to their nearest indexed images — exactly, or
// through an HNSW graph (hnswlib-node) for large sets. The graph is stored too, without hnswlib's
// copy of the vectors (tensor hnsw.links; files of an earlier deepmetric hold hnswlib's whole file
// as hnsw.graph), and checked completely before hnswlib reads it (see hnsw-index.ts); files with
// neither have it rebuilt from the embeddings on load.
import type { Tensor } from '../tensor/tensor.js';
import { dispose, keep, tidy } from '../tensor/memory.js';
import { tensor } from '../tensor/creation.js';
import { noGrad } from '../tensor/grad-mode.js';
import { fuseConvBatchNorm } from '../nn/fuse.js';
import { createEmbeddingNet, type BackboneSpec } from '../models/registry.js';
import type { EmbeddingNet } from '../models/embedding-net.js';
import type { AnyImageDataset } from '../data/cache/file-image-dataset.js';
import { normalizationOf, preprocessingFor, prepareImage, type Preprocessing } from '../data/preprocessing.js';
import { listImageInputs } from '../data/sources/image-inputs.js';
import { checkMetric, knnSearch, type KnnMetric, type KnnResult } from '../eval/knn.js';
import { HnswIndex, InvalidHnswGraph } from '../eval/hnsw-index.js';
import { checkInt } from '../tensor/checks.js';
import { embedDataset, imagesToTensor, inEvalMode, ranges, type InputNormalization, type UInt8Images } from '../inference/index.js';
import { bundleKind, checkManifestBackbone, checkManifestPreprocessing, encodeBundle, readBundle } from '../serialize/checked-bundle.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { versions, type Versions } from '../util/versions.js';

export const INDEX_FORMAT = 'deepmetric-index/1';
export const INDEX_EXTENSION = '.dmidx';
export const INDEX_BUNDLE = bundleKind({ magic: 'DMINDEX1', what: 'image index', writtenBy: '`deepmetric index`' });

export interface IndexManifest {
  format: typeof INDEX_FORMAT;
  backbone: BackboneSpec;
  preprocessing: Preprocessing;
  /** 'exact': every query is compared with every image; 'hnsw': an approximate graph search. */
  kind: 'exact' | 'hnsw';
  metric: KnnMetric;
  /** kind 'hnsw': how the graph is built (absent in older files, which were built with HNSW_GRAPH). */
  hnsw?: HnswGraphParams;
  count: number;
  /** Each image's source file, when the dataset had them. */
  names: string[] | null;
  labels: number[];
  classes: string[];
  source: string;
  versions: Versions;
  created: string;
}

/** hnswlib's M, efConstruction and level seed: the same embeddings and these give the same graph. */
export interface HnswGraphParams {
  m: number;
  efConstruction: number;
  seed: number;
}

/** The graph of every index this deepmetric builds (hnswlib's defaults). */
export const HNSW_GRAPH: HnswGraphParams = { m: 16, efConstruction: 200, seed: 100 };

/** The stored parameters, bounded: M sizes every node's link lists, efConstruction the rebuild time. */
function checkGraphParams(p: unknown): HnswGraphParams {
  const r = p as HnswGraphParams;
  if (r === null || typeof r !== 'object') throw new TypeError(`Expected field hnsw to be {m, efConstruction, seed} but received ${JSON.stringify(p)}`);
  return {
    m: checkInt(r.m, 'field hnsw.m', 2, 128), efConstruction: checkInt(r.efConstruction, 'field hnsw.efConstruction', 1, 2000),
    seed: checkInt(r.seed, 'field hnsw.seed', 0, 2 ** 31 - 1),
  };
}

/**
 * The stored graph, checked before hnswlib reads it; refused with the reason, never rebuilt
 * instead: the bundle's checksum rules out damage, so a graph that fails is one edited or written
 * by something else, and one rebuild by the user beats a silent 26 s rebuild at every start.
 */
function loadGraph(tensors: Record<string, Tensor>, embeddings: Tensor, opts: HnswGraphParams & { metric: KnnMetric }): HnswIndex {
  const name = tensors['hnsw.links'] ? 'hnsw.links' : tensors['hnsw.graph'] ? 'hnsw.graph' : null;
  if (!name) return new HnswIndex(embeddings.shape[1], opts).add(embeddings);
  const graph = tensors[name];
  try {
    if (graph.dtype !== 'uint8' || graph.ndim !== 1) throw new InvalidHnswGraph(`is a ${graph.dtype} tensor of shape [${graph.shape.join(',')}], not bytes`);
    const bytes = graph.dataSync() as Uint8Array;
    return name === 'hnsw.links' ? HnswIndex.fromBytes(bytes, embeddings, opts) : HnswIndex.fromHnswlibBytes(bytes, embeddings, opts);
  } catch (e) {
    if (!(e instanceof InvalidHnswGraph)) throw e;
    throw new Error(`holds an HNSW graph (tensor ${name}) that does not fit its embeddings and field hnsw: it ${e.message}. Rebuild the index with \`deepmetric index\``);
  }
}

export interface SearchHit {
  /** Position in the indexed dataset. */
  index: number;
  name: string | null;
  label: string;
  distance: number;
}

export interface BuildIndexOptions {
  model: EmbeddingNet;
  backbone: BackboneSpec;
  /** In memory or file-backed (embedded batch by batch). */
  data: AnyImageDataset;
  normalization: InputNormalization;
  kind?: 'exact' | 'hnsw';
  /** Default 'cosine'. */
  metric?: KnnMetric;
  resize?: Preprocessing['resize'];
  source?: string;
  batchSize?: number;
}

export class ImageIndex {
  readonly manifest: IndexManifest;
  readonly #model: EmbeddingNet;
  readonly #embeddings: Tensor;
  readonly #hnsw: HnswIndex | null;
  #disposed = false;

  private constructor(manifest: IndexManifest, model: EmbeddingNet, embeddings: Tensor, hnsw: HnswIndex | null) {
    this.manifest = manifest;
    this.#model = model;
    this.#embeddings = keep(embeddings);
    this.#hnsw = hnsw;
    model.eval();
  }

  /** Embeds every image of data with a copy of model. */
  static build(o: BuildIndexOptions): ImageIndex {
    const kind = o.kind ?? 'exact';
    const metric = checkMetric(o.metric ?? 'cosine');
    const model = createEmbeddingNet(o.backbone);
    try {
      model.loadStateDict(o.model.stateDict());
      const embeddings = embedDataset(model, o.data, { norm: o.normalization, batchSize: o.batchSize });
      const hnsw = kind === 'hnsw' ? new HnswIndex(embeddings.shape[1], { metric, ...HNSW_GRAPH }).add(embeddings) : null;
      const manifest: IndexManifest = {
        format: INDEX_FORMAT, backbone: o.backbone, preprocessing: preprocessingFor(o.data, o.normalization, o.resize), kind, metric, ...(hnsw ? { hnsw: HNSW_GRAPH } : {}),
        count: o.data.labels.length, names: o.data.files ? [...o.data.files] : null, labels: Array.from(o.data.labels), classes: [...o.data.classes],
        source: o.source ?? 'unknown', versions: versions(), created: new Date().toISOString(),
      };
      return new ImageIndex(manifest, model, embeddings, hnsw);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }

  get preprocessing(): Preprocessing {
    return this.manifest.preprocessing;
  }

  /** The k nearest indexed images of each image of a uint8 NHWC batch at the index's size. */
  search(images: UInt8Images, k: number): SearchHit[][] {
    if (this.#disposed) throw new Error('ImageIndex: used after dispose()');
    const p = this.preprocessing;
    if (images.height !== p.height || images.width !== p.width || images.channels !== p.channels) {
      throw new TypeError(`ImageIndex: Expected ${p.width}×${p.height}×${p.channels} images (the index's preprocessing) but received ${images.width}×${images.height}×${images.channels}`);
    }
    if (!Number.isInteger(k) || k < 1 || k > this.manifest.count) throw new RangeError(`Expected k between 1 and the ${this.manifest.count} indexed images but received ${k}`);
    const per = p.width * p.height * p.channels;
    const norm = normalizationOf(p);
    const out: SearchHit[][] = [];
    inEvalMode([this.#model], () => noGrad(() => {
      for (const [s, e] of ranges(images.size, 256)) {
        const { distances, indices } = tidy(() => {
          const q = this.#model.forward(imagesToTensor({ ...images, images: images.images.subarray(s * per, e * per), size: e - s }, norm));
          const r: KnnResult = this.#hnsw ? this.#hnsw.search(q, k) : knnSearch(q, this.#embeddings, { k, metric: this.manifest.metric });
          return { distances: r.distances.toNumbers(), indices: r.indices.toNumbers() };
        });
        for (let i = 0; i < e - s; i++) {
          out.push(Array.from({ length: k }, (_, j) => {
            const index = indices[i * k + j];
            return { index, name: this.manifest.names?.[index] ?? null, label: this.manifest.classes[this.manifest.labels[index]] ?? String(this.manifest.labels[index]), distance: distances[i * k + j] };
          }));
        }
      }
    }));
    return out;
  }

  /** Searches with image files (files, folders, tar archives); an unreadable file gets its error instead of hits. */
  async searchFiles(paths: readonly string[], k: number): Promise<Array<{ file: string; hits: SearchHit[]; error?: string }>> {
    const p = this.preprocessing;
    const decoded: Array<{ file: string; pixels: Buffer | Error }> = [];
    for await (const input of listImageInputs(paths)) {
      decoded.push({ file: input.name, pixels: await input.read().then((b) => prepareImage(b, input.name, p)).catch((e: Error) => e) });
    }
    const good = decoded.filter((d) => !(d.pixels instanceof Error));
    const batch = Buffer.concat(good.map((d) => d.pixels as Buffer));
    const hits = good.length > 0 ? this.search({ images: batch, size: good.length, height: p.height, width: p.width, channels: p.channels }, k) : [];
    let j = 0;
    return decoded.map((d) => (d.pixels instanceof Error ? { file: d.file, hits: [], error: d.pixels.message } : { file: d.file, hits: hits[j++] }));
  }

  /** Writes the index file atomically: the embeddings, the network and an HNSW index's graph. */
  async save(path: string): Promise<void> {
    const tensors: Record<string, Tensor> = { embeddings: this.#embeddings };
    for (const [k, t] of Object.entries(this.#model.stateDict())) tensors[`model.${k}`] = t;
    const bytes = this.#hnsw?.toBytes();
    const graph = bytes ? tensor(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), { dtype: 'uint8' }) : null;
    try {
      if (graph) tensors['hnsw.links'] = graph;
      await writeFileAtomic(path, encodeBundle(INDEX_BUNDLE, tensors, this.manifest));
    } finally {
      graph?.dispose();
    }
  }

  /**
   * Reads an index file; damaged, truncated or foreign files are errors naming the file and the
   * cause. An HNSW index's stored graph is checked against the embeddings and the manifest before
   * hnswlib reads it, and refused (an error naming the file) if anything is not what hnswlib itself
   * writes; a file without a graph has it rebuilt from the embeddings (slow: ~26 s for 50,000).
   */
  static load(path: string, opts: { fuse?: boolean } = {}): ImageIndex {
    const { tensors, manifest } = readBundle<IndexManifest>(path, INDEX_BUNDLE);
    let model: EmbeddingNet | null = null;
    try {
      if (manifest.format !== INDEX_FORMAT) throw new Error(`has format ${JSON.stringify(manifest.format)}; this deepmetric reads ${INDEX_FORMAT}`);
      const source = `image index: ${path}`;
      const p = checkManifestPreprocessing(manifest.preprocessing, source);
      const embeddings = tensors.embeddings;
      if (embeddings?.ndim !== 2 || embeddings.dtype !== 'float32' || embeddings.shape[0] !== manifest.count) {
        throw new Error(`holds no float32 embeddings of its ${manifest.count} images (field count)`);
      }
      for (const field of ['labels', 'names'] as const) {
        const list = manifest[field];
        if (!(Array.isArray(list) && list.length === manifest.count) && !(field === 'names' && list === null)) throw new Error(`has no list of one ${field.slice(0, -1)} per image (field ${field})`);
      }
      if (!Array.isArray(manifest.classes)) throw new Error('has no list of classes (field classes)');
      const kind = manifest.kind;
      if (kind !== 'exact' && kind !== 'hnsw') throw new Error(`has field kind ${JSON.stringify(kind)}; expected 'exact' or 'hnsw'`);
      checkMetric(manifest.metric, 'field metric');
      if (!tidy(() => embeddings.isfinite().all().item())) throw new Error('holds embeddings that are not finite numbers');
      const dim = embeddings.shape[1];
      model = createEmbeddingNet(checkManifestBackbone(manifest.backbone, 'backbone', dim, p.channels, source));
      if (model.embeddingDim !== dim) throw new Error(`holds embeddings of ${dim} features but its network (field backbone) outputs ${model.embeddingDim}`);
      model.loadStateDict(Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith('model.')).map(([k, t]) => [k.slice(6), t])));
      model.eval();
      if (opts.fuse ?? true) fuseConvBatchNorm(model.toChannelsLast());
      const hnsw = kind === 'hnsw' ? loadGraph(tensors, embeddings, { metric: manifest.metric, ...checkGraphParams(manifest.hnsw ?? HNSW_GRAPH) }) : null;
      const index = new ImageIndex(manifest, model, embeddings, hnsw);
      dispose(Object.values(tensors).filter((t) => t !== embeddings));
      return index;
    } catch (e) {
      dispose(Object.values(tensors));
      model?.dispose();
      const message = (e as Error).message;
      throw new Error(message.startsWith('image index:') ? message : `image index: ${path} ${message}`);
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#model.dispose();
    dispose(this.#embeddings);
  }
}
