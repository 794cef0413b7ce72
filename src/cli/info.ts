// `deepmetric info`: versions, threads, BLAS/OpenMP setup and devices.
import { torchVersion, getNumThreads, parallelInfo, mallocInfo } from '../tensor/runtime.js';
import { cudaAvailable } from '../tensor/device.js';
import { native } from '../binding/native.js';
import { type CommandSpec, parseOptions } from './args.js';
import { runInfo } from './run-info.js';

export const infoSpec: CommandSpec = {
  name: 'info',
  summary: 'Print versions, threads and devices',
  options: { json: { type: 'boolean', description: 'Print JSON instead of text' } },
};

export function infoCommand(argv: string[]): void {
  const o = parseOptions(infoSpec, argv);
  const r = runInfo(['info', ...argv]);
  const info = {
    deepmetric: r.versions.deepmetric,
    libtorch: torchVersion(),
    node: r.versions.node,
    threads: getNumThreads(),
    devices: ['cpu', ...(cudaAvailable() ? Array.from({ length: native.cudaDeviceCount() }, (_, i) => `cuda:${i}`) : [])],
    malloc: mallocInfo(),
    openblas_thread_timeout: process.env.OPENBLAS_THREAD_TIMEOUT ?? process.env.GOTO_THREAD_TIMEOUT ?? null,
    jpeg_fast_path: native.hasJpegFastPath(),
    parallel: parallelInfo().trim(),
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${[
    `deepmetric ${info.deepmetric}`,
    `libtorch   ${info.libtorch}`,
    `node       ${info.node}`,
    `threads    ${info.threads} (set DEEPMETRIC_NUM_THREADS or --threads to change)`,
    `devices    ${info.devices.join(', ')}${cudaAvailable() ? '' : ' (this libtorch has no CUDA)'}`,
    `malloc     ${info.malloc} (DEEPMETRIC_MALLOC=default keeps glibc's)`,
    `openblas   ${info.openblas_thread_timeout === null ? 'OpenBLAS\'s default thread timeout' : `threads sleep after 2^${info.openblas_thread_timeout} cycles`} (OPENBLAS_THREAD_TIMEOUT)`,
    `jpeg       ${info.jpeg_fast_path ? 'colour JPEGs at the model size decoded by libjpeg-turbo in the addon' : 'every image decoded by sharp (built without libjpeg headers)'}`,
    '',
    info.parallel,
  ].join('\n')}\n`);
}
