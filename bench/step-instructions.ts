// The seed's training step (MobileNetV2-0.5, batch 128, Adam AMSGrad) for instruction counting:
//   valgrind --tool=callgrind --collect-atstart=no \
//     --toggle-collect='node::contextify::ContextifyScript::EvalMachine*' --dump-after='*EvalMachine*' \
//     node --single-threaded dist/bench/step-instructions.js 1 2
// One warm-up step, then each count of steps in its own counted part; compare with PyTorch's peer
//   valgrind --tool=callgrind /usr/bin/python3 ../shared/bench/peer_torch_step.py --steps <n> --warmup 1 --threads 1
// (two step counts each; the difference divided by the step difference is one step), and
// callgrind_annotate --inclusive=yes for the share of each libtorch kernel.
import { runInThisContext } from 'node:vm';
import { Adam, manualSeed, randint, randn, tidy } from '../src/index.js';
import { createEmbeddingNet } from '../src/models/registry.js';
import { createHead } from '../src/losses/registry.js';

manualSeed(0);
const model = createEmbeddingNet({ name: 'mobilenetv2', alpha: 0.5, inputSize: 32 }).toChannelsLast();
const head = createHead('softmax', { embeddingDim: model.embeddingDim, numClasses: 10 });
const opt = new Adam([...model.parameters(), ...head.parameters()], { lr: 1e-4, amsgrad: true });
const { x, y } = tidy(() => ({ x: randn([128, 3, 32, 32]).contiguous('channels_last'), y: randint(0, 10, [128]) }));
const step = (): void => tidy(() => {
  opt.zeroGrad();
  head.loss(model.forward(x), y).backward();
  opt.step();
});
step();
for (const arg of process.argv.slice(2)) {
  (globalThis as { probe?: () => void }).probe = () => { for (let i = 0; i < Number(arg); i++) step(); };
  runInThisContext('probe()');
}
