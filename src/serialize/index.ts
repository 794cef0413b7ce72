// Files: safetensors, checksummed bundles, NumPy .npy — re-exports only.
export { CHECKSUM_KEY, decodeSafetensors, encodeSafetensors, FILE_CHECKSUM_KEY, loadSafetensors, saveSafetensors } from './safetensors.js';
export { BUNDLE_PREFIX_BYTES, bundleKind, type BundleKind, decodeBundle, type DecodedBundle, encodeBundle, readBundle, writeBundle } from './checked-bundle.js';
export { encodeNpy, saveNpy } from './npy.js';
