import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { listImageInputs } from '../../src/data/sources/image-inputs.js';
import { encodedImage, makeTempDir } from './fixtures.js';

const { dir, cleanup } = makeTempDir('deepmetric-inputs-');
after(cleanup);

it('lists the images inside a .zip archive, as for tar archives', async () => {
  const folder = join(dir, 'new');
  mkdirSync(folder);
  const png = await encodedImage('png', [10, 20, 30]);
  writeFileSync(join(folder, 'a.png'), png);
  writeFileSync(join(folder, 'b.png'), png);
  const zip = join(dir, 'new.zip');
  execFileSync('python3', ['-m', 'zipfile', '-c', zip, folder]);
  const inputs = [];
  for await (const input of listImageInputs([zip])) inputs.push(input);
  assert.deepEqual(inputs.map((i) => i.name), [`${zip}:new/a.png`, `${zip}:new/b.png`]);
  assert.ok((await inputs[0].read()).equals(png));
});
