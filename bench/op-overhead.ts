// Per-op overhead probes for instruction counting (see docs/performance.md); run by
// bench/count-op-instructions.sh as
//   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='node::contextify::ContextifyScript::EvalMachine*' \
//     --dump-after='*EvalMachine*' node --single-threaded dist/bench/op-overhead.js <probe>:<n> …
// Each <probe>:<n> runs inside its own vm.runInThisContext call, so callgrind counts exactly that
// loop (node's start-up, whose count varies by millions from run to run, is not counted) and
// writes it to its own numbered part file.
import { runInThisContext } from 'node:vm';
import { native } from '../src/binding/native.js';
import { F, randn, tidy } from '../src/index.js';


const a = randn([4]);
const x = randn([1, 8, 8, 8]);
const w = randn([8, 8, 3, 3]);
const ha = a.handle;
const hx = x.handle;
const hw = w.handle;

const probes: Record<string, (n: number) => void> = {
  // A bare N-API call: no arguments, returns a number.
  'napi-call': (n) => { for (let i = 0; i < n; i++) native.liveCount(); },
  // An N-API call that reads one tensor handle argument, no result tensor.
  'napi-handle': (n) => { for (let i = 0; i < n; i++) native.requiresGrad(ha); },
  // libtorch's add plus the native wrapper and free, no JS Tensor object.
  'raw-add': (n) => { for (let i = 0; i < n; i++) native.free(native.add(ha, ha)); },
  // The public API as bench/run.ts times it.
  add: (n) => { for (let i = 0; i < n; i++) a.add(a).dispose(); },
  // Results left to the scope: one tidy around blocks of 100 adds.
  'add-tidy': (n) => { for (let i = 0; i < n; i += 100) tidy(() => { for (let k = 0; k < 100; k++) a.add(a); }); },
  // One tidy per op.
  'add-tidy1': (n) => { for (let i = 0; i < n; i++) tidy(() => { a.add(a); }); },
  'raw-conv2d': (n) => { for (let i = 0; i < n; i++) native.free(native.conv2d(hx, hw, undefined, [1, 1], [1, 1], [1, 1], 1)); },
  'raw-conv2d-int': (n) => { for (let i = 0; i < n; i++) native.free(native.conv2d(hx, hw, undefined, 1 as never, 1 as never, 1 as never, 1)); },
  conv2d: (n) => { for (let i = 0; i < n; i++) F.conv2d(x, w, null, { padding: 1 }).dispose(); },
};

for (const arg of process.argv.slice(2)) {
  const [probe, count] = arg.split(':');
  const run = probes[probe];
  if (!run) throw new Error(`Expected one of ${Object.keys(probes).join(', ')} for probe but received '${probe}'`);
  (globalThis as { probe?: () => void }).probe = () => run(Number(count));
  runInThisContext('probe()');
}
