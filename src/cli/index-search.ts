// `deepmetric index` embeds a dataset split with a trained checkpoint into an index file (exact or
// HNSW) that keeps the image names and labels; `deepmetric search` finds the indexed images most
// like new image files.
import { basename, resolve } from 'node:path';
import { loadTrainedModel } from '../train/trained-model.js';
import { ImageIndex, INDEX_EXTENSION, type SearchHit } from '../search/image-index.js';
import { formatTable } from '../util/table.js';
import { type CommandSpec, parseOptions, positionalsOf, UsageError } from './args.js';
import { TRAINING_OPTIONS, applyRuntime } from './experiment.js';
import { loadSplit } from './split-data.js';
import { DATA_OPTIONS } from './data-options.js';

export const indexSpec: CommandSpec = {
  name: 'index',
  summary: 'Embed a dataset split with a trained checkpoint into a searchable index file (with image names and labels)',
  usage: 'deepmetric index --checkpoint FILE --data DIR --out FILE [options]',
  options: {
    checkpoint: { type: 'string', description: 'A checkpoint written by train/compare/anomaly (required)' },
    split: { type: 'string', default: 'train', choices: ['train', 'test'], description: 'Which split to index' },
    max: { type: 'number', integer: true, min: 1, description: 'Index a stratified subset of N images' },
    kind: { type: 'string', default: 'exact', choices: ['exact', 'hnsw'], description: "'exact' compares a query with every image; 'hnsw' searches an approximate graph (needs hnswlib-node; for large sets)" },
    metric: { type: 'string', default: 'cosine', choices: ['cosine', 'euclidean'], description: 'Distance between embeddings' },
    out: { type: 'string', default: `index${INDEX_EXTENSION}`, description: 'The index file' },
    ...DATA_OPTIONS,
    seed: TRAINING_OPTIONS.seed,
    threads: TRAINING_OPTIONS.threads,
  },
  examples: ['deepmetric index --checkpoint runs/compare/checkpoints/l2softmax/best.ckpt --data photos/ --out photos.dmidx'],
};

export const searchSpec: CommandSpec = {
  name: 'search',
  summary: 'Find the indexed images most like the given image files (distances and labels)',
  usage: 'deepmetric search --index FILE [options] IMAGE…',
  positionals: { name: 'IMAGE…', description: 'Image files, folders or .tar/.tar.gz archives to look up' },
  options: {
    index: { type: 'string', description: 'An index file written by deepmetric index (required)' },
    k: { type: 'number', integer: true, min: 1, default: 5, description: 'Nearest images per query' },
    json: { type: 'boolean', default: false, description: 'Print the results as JSON on stdout instead of the table' },
    threads: TRAINING_OPTIONS.threads,
  },
  examples: ['deepmetric search --index photos.dmidx query.jpg --k 5', 'deepmetric search --index photos.dmidx queries/ --json'],
};

export async function indexCommand(argv: string[]): Promise<{ path: string; count: number }> {
  const o = parseOptions(indexSpec, argv);
  if (!o.checkpoint) throw new UsageError('Expected --checkpoint FILE but received none');
  applyRuntime({ ...o, device: 'cpu' });
  const trained = loadTrainedModel(resolve(o.checkpoint as string));
  try {
    const data = await loadSplit(o, o.split as 'train' | 'test', o.max as number | undefined, trained.config.input);
    const source = o.data ? resolve(o.data as string) : 'default';
    const index = ImageIndex.build({ model: trained.model, backbone: trained.backbone, data, normalization: trained.config.normalization, resize: trained.config.input?.resize?.fit,
      kind: o.kind as 'exact' | 'hnsw', metric: o.metric as 'cosine', source });
    try {
      const out = resolve(o.out as string);
      await index.save(out);
      process.stdout.write(`Indexed ${data.labels.length} ${o.split} images (${o.kind}, ${o.metric}) in ${out}${data.files ? '' : ' (the source has no file names: results name dataset indices)'}\n`);
      return { path: out, count: data.labels.length };
    } finally {
      index.dispose();
    }
  } finally {
    trained.dispose();
  }
}

export interface SearchResults {
  schema: 'deepmetric/search-results/1';
  index: string;
  k: number;
  results: Array<{ file: string; hits: SearchHit[]; error?: string }>;
}

export async function searchCommand(argv: string[]): Promise<SearchResults> {
  const o = parseOptions(searchSpec, argv);
  if (!o.index) throw new UsageError('Expected --index FILE (written by deepmetric index) but received none');
  const paths = positionalsOf(o);
  if (paths.length === 0) throw new UsageError('Expected image files to search with but received none');
  applyRuntime({ ...o, device: 'cpu' });
  const path = resolve(o.index as string);
  const index = ImageIndex.load(path);
  try {
    const k = Math.min(o.k as number, index.manifest.count);
    const results: SearchResults = { schema: 'deepmetric/search-results/1', index: path, k, results: await index.searchFiles(paths, k) };
    if (o.json) {
      process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    } else {
      const rows = results.results.flatMap((r): Array<Record<string, unknown>> => (r.error !== undefined ? [{ query: r.file, rank: '', image: `error: ${r.error}`, label: '', distance: '' }]
        : r.hits.map((h, i) => ({ query: i === 0 ? r.file : '', rank: i + 1, image: h.name ? basename(h.name) : `#${h.index}`, label: h.label, distance: h.distance }))));
      process.stdout.write(`${rows.length > 0 ? formatTable(rows, { digits: 4 }) : '(no files found)'}\n`);
    }
    return results;
  } finally {
    index.dispose();
  }
}
