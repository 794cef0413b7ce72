#!/usr/bin/env node
// Locates libtorch for binding.gyp: $LIBTORCH (an unpacked libtorch folder, e.g. a CUDA build)
// or Debian's system install (apt-get install libtorch-dev). Prints what gyp asks for.
'use strict';
const fs = require('fs');
const path = require('path');

const MIN = [1, 13];

function fail(msg) {
  process.stderr.write(`\ndeepmetric: ${msg}\n` +
    'Install libtorch with one of:\n' +
    '  sudo apt-get install -y libtorch-dev libopenblas0-pthread   (Debian 12 / Ubuntu 23.04+, CPU)\n' +
    '  export LIBTORCH=/path/to/libtorch                           (an unpacked libtorch zip from pytorch.org, CPU or CUDA)\n\n');
  process.exit(1);
}

function locate() {
  const env = process.env.LIBTORCH;
  if (env) {
    const root = path.resolve(env);
    if (!fs.existsSync(path.join(root, 'include', 'ATen', 'ATen.h'))) fail(`LIBTORCH=${env} has no include/ATen/ATen.h; point it at an unpacked libtorch folder.`);
    return { include: [path.join(root, 'include'), path.join(root, 'include', 'torch', 'csrc', 'api', 'include')], lib: path.join(root, 'lib') };
  }
  const multiarch = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib'];
  const lib = multiarch.find((d) => fs.existsSync(path.join(d, 'libtorch_cpu.so')));
  if (!fs.existsSync('/usr/include/ATen/ATen.h') || !lib) fail('libtorch was not found (no $LIBTORCH and no system libtorch-dev).');
  // /usr/include is already on the compiler's path; naming it again breaks #include_next.
  return { include: ['/usr/include/torch/csrc/api/include'], lib, versionDirs: ['/usr/include'] };
}

function checkVersion(include, found) {
  const file = [...include, ...(found.versionDirs ?? [])].map((d) => path.join(d, 'torch', 'version.h')).find((f) => fs.existsSync(f));
  if (!file) fail('libtorch has no torch/version.h; is it complete?');
  const text = fs.readFileSync(file, 'utf8');
  const major = Number(/TORCH_VERSION_MAJOR (\d+)/.exec(text)?.[1]);
  const minor = Number(/TORCH_VERSION_MINOR (\d+)/.exec(text)?.[1]);
  if (major < MIN[0] || (major === MIN[0] && minor < MIN[1])) fail(`libtorch ${major}.${minor} is too old; deepmetric needs ${MIN.join('.')} or newer.`);
}

// Distributed training (src/distributed.cc) needs c10d's headers and gloo's, which libtorch's
// own headers include. Debian ships gloo's in libgloo-dev (/usr/include/gloo); an unpacked
// libtorch may carry them, or GLOO_INCLUDE can point at a folder holding gloo/. Without them
// the addon still builds, and distributed training reports at run time why it is unavailable.
function locateGloo(found) {
  const dirs = [...found.include, ...(found.versionDirs ?? [])];
  if (!dirs.some((d) => fs.existsSync(path.join(d, 'torch', 'csrc', 'distributed', 'c10d', 'ProcessGroupGloo.hpp')))) {
    return { ok: false, why: 'libtorch has no c10d headers (torch/csrc/distributed/c10d)' };
  }
  const candidates = [process.env.GLOO_INCLUDE, ...dirs, '/usr/include', '/usr/local/include'].filter(Boolean);
  const dir = candidates.find((d) => fs.existsSync(path.join(d, 'gloo', 'algorithm.h')));
  if (!dir) return { ok: false, why: 'no gloo headers (install libgloo-dev, or set GLOO_INCLUDE)' };
  const system = dir === '/usr/include' || dirs.includes(dir);
  return { ok: true, include: system ? [] : [dir] };
}

const found = locate();
checkVersion(found.include, found);
const hasCuda = fs.existsSync(path.join(found.lib, 'libtorch_cuda.so'));
const gloo = locateGloo(found);
const what = process.argv[2];
if (what === 'include') {
  // src/distributed.cc checks the headers itself (__has_include); this only explains the outcome.
  if (!gloo.ok) process.stderr.write(`deepmetric: building without distributed training: ${gloo.why}\n`);
  console.log([...found.include, ...(gloo.ok ? gloo.include : [])].join(' '));
} else if (what === 'defines') {
  // NCCL's group exists only in a CUDA libtorch (untested here: no GPU on the build machines).
  console.log(gloo.ok && hasCuda ? 'USE_C10D_NCCL USE_CUDA' : '');
}
else if (what === 'libdir') console.log(found.lib);
else if (what === 'libs') console.log(['-ltorch', '-ltorch_cpu', '-lc10', ...(hasCuda ? ['-ltorch_cuda', '-lc10_cuda'] : [])].join(' '));
else fail(`find-libtorch: unknown request '${what}'`);
