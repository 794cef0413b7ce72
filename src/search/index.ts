// Look-alike search over image datasets: re-exports only.
export { ImageIndex, INDEX_EXTENSION, INDEX_FORMAT, type BuildIndexOptions, type IndexManifest, type SearchHit } from './image-index.js';
