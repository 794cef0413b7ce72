import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveTensors, noGrad, randn, tidy } from '../../src/index.js';
import { BACKBONES, createEmbeddingNet } from '../../src/models/registry.js';

describe('backbones with 1-channel input', () => {
  for (const name of BACKBONES.filter((n) => n.startsWith('torchvision-'))) {
    it(`${name} keeps ImageNet's 3-channel stem and says so for inChannels: 1`, () => {
      assert.throws(() => createEmbeddingNet({ name, inChannels: 1 }), new RegExp(`Expected 3 input channels for ${name} .* but received 1; use --channels 3`));
    });
  }
  for (const name of BACKBONES.filter((n) => !n.startsWith('torchvision-'))) {
    it(`${name} takes [N,1,H,W] with inChannels: 1 and rejects 3 channels where it checks`, () => {
      const base = liveTensors();
      const net = createEmbeddingNet({ name, inChannels: 1, inputSize: 32 });
      try {
        const first = net.namedParameters().find(([key]) => key.endsWith('weight') && net.stateDict()[key].ndim === 4)!;
        assert.equal(first[1].shape[1], 1, `${first[0]} takes one input channel`);
        const shape = noGrad(() => tidy(() => net.eval().forward(randn([2, 1, 32, 32])).shape));
        assert.deepEqual(shape, [2, net.embeddingDim]);
        if (name.startsWith('mobilenet')) assert.throws(() => noGrad(() => tidy(() => net.forward(randn([2, 3, 32, 32])))), /Expected input \[N,1,H,W\]/);
      } finally {
        net.dispose();
      }
      assert.equal(liveTensors(), base);
    });
  }
});
