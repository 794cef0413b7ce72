// Atomic writes: the project's writeFileAtomic (src/util/atomic-write.ts) vs write-file-atomic.
//
//   node bench/deps/atomic-write.mjs [--rounds 5] [--large]
//
// Set-up (scratch install, build) at the top of bench/deps/common.mjs. Prints
//  1. speed: 200 small JSON files (4 KB, like results.json) and 8 × 16 MB buffers (checkpoint
//     size), both with fsync, the two libraries alternating within each round;
//  2. behaviour, each found by running it: bad data, mode of an existing file, symlinked target,
//     concurrent writes to one file, temporary files left after a failure, and (with strace on
//     PATH) which fsync calls each makes;
//  3. with --large only: a 2.2 GB buffer (needs ~2.5 GB of RAM and of free disk in the temp dir).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { projectImport, scratchImport, scratchVersion, spread } from './common.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);

const wfaModule = await scratchImport('write-file-atomic');
const wfa = wfaModule.default ?? wfaModule;
const { writeFileAtomic } = await projectImport('src/util/atomic-write.js');
const writers = {
  project: (file, data) => writeFileAtomic(file, data),
  [`write-file-atomic ${scratchVersion('write-file-atomic')}`]: (file, data) => wfa(file, data),
};

// Child mode for strace: one write of a small file, nothing else.
if (args[0] === '--one') {
  await writers[args[1] === 'project' ? 'project' : Object.keys(writers)[1]](args[2], 'hello\n');
  process.exit(0);
}

const ROUNDS = Number(opt('--rounds', 5));
const dir = mkdtempSync(join(tmpdir(), 'deps-atomic-'));
const tmpLeft = (d) => readdirSync(d).filter((f) => /\.tmp-|\.\d+$/.test(f));

try {
  // ---- 1. speed ----
  const json = `${JSON.stringify({ history: Array.from({ length: 40 }, (_, i) => ({ epoch: i, val_acc: Math.random(), train_loss: Math.random() })) }, null, 2)}\n`.slice(0, 4096);
  const big = Buffer.alloc(16 << 20, 7);
  const times = Object.fromEntries(Object.keys(writers).map((k) => [k, { small: [], big: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    const names = Object.keys(writers);
    if (round % 2) names.reverse();
    for (const name of names) {
      let t = performance.now();
      for (let i = 0; i < 200; i++) await writers[name](join(dir, `r${i}.json`), json);
      times[name].small.push(performance.now() - t);
      t = performance.now();
      for (let i = 0; i < 8; i++) await writers[name](join(dir, `big${i}.bin`), big);
      times[name].big.push(performance.now() - t);
    }
  }
  console.log(`speed, ${ROUNDS} rounds, ms median (min–max) — temp dir ${dir}`);
  for (const [name, t] of Object.entries(times)) {
    console.log(`  ${name.padEnd(26)} 200 × 4 KB: ${spread(t.small, 0).padEnd(18)} 8 × 16 MB: ${spread(t.big, 0)}`);
  }

  // ---- 2. behaviour ----
  console.log('\nbehaviour');
  for (const [name, write] of Object.entries(writers)) {
    const sub = mkdtempSync(join(dir, 'b-'));
    const row = [];
    // Bad data: the project's rule is a clear error, never a silently wrong file.
    const bad = join(sub, 'bad.json');
    try {
      await write(bad, undefined);
      row.push(`undefined data → ${existsSync(bad) ? `writes a ${statSync(bad).size}-byte file` : 'no file, no error'}`);
    } catch (e) {
      row.push(`undefined data → ${e.constructor.name}: ${e.message.slice(0, 70)}`);
    }
    // Mode of an existing file (e.g. a 0600 credentials-like file) after rewriting it.
    const modeFile = join(sub, 'mode.json');
    writeFileSync(modeFile, 'old');
    chmodSync(modeFile, 0o600);
    await write(modeFile, 'new');
    row.push(`existing 0600 file → ${(statSync(modeFile).mode & 0o777).toString(8).padStart(4, '0')} after the write`);
    // Symlinked target: does the write replace the link or the file it points to?
    const real = join(sub, 'real.json');
    const link = join(sub, 'link.json');
    writeFileSync(real, 'old');
    symlinkSync(real, link);
    await write(link, 'new');
    row.push(`write to a symlink → ${lstatSync(link).isSymbolicLink() ? `link kept, its target now "${readFileSync(real, 'utf8')}"` : `link replaced by a file, old target still "${readFileSync(real, 'utf8')}"`}`);
    // Concurrent writes to one file: the result must be one complete version.
    const same = join(sub, 'same.json');
    const versions = Array.from({ length: 20 }, (_, i) => `${String(i).repeat(5000)}\n`);
    await Promise.all(versions.map((v) => write(same, v)));
    const final = readFileSync(same, 'utf8');
    row.push(`20 concurrent writes → ${versions.includes(final) ? `one complete version (#${versions.indexOf(final)})` : 'a mixed file'}`);
    // Failure: a target in a folder that does not exist.
    try {
      await write(join(sub, 'missing', 'x.json'), 'x');
      row.push('missing folder → no error');
    } catch (e) {
      row.push(`missing folder → ${e.code}, message names ${e.message.includes('.tmp-') || /x\.json\.\d+/.test(e.message) ? 'the temporary file' : 'the target'}`);
    }
    row.push(`temporary files left: ${tmpLeft(sub).length}`);
    console.log(`  ${name}\n${row.map((r) => `    - ${r}`).join('\n')}`);
  }

  // fsync calls, seen by strace: on ext4 a rename is durable only after the folder is fsynced too.
  let strace = false;
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    strace = true;
  } catch {
    console.log('\n(strace not found: fsync calls not traced)');
  }
  if (strace) {
    console.log('\nfsync calls for one small write (strace -f -e trace=openat,fsync,fdatasync,rename)');
    const self = fileURLToPath(import.meta.url);
    for (const who of ['project', 'write-file-atomic']) {
      const target = join(dir, `traced-${who}.json`);
      const log = join(dir, `strace-${who}.log`);
      execFileSync('strace', ['-f', '-qq', '-e', 'trace=openat,fsync,fdatasync,rename', '-o', log, process.execPath, self, '--one', who, target], { stdio: 'ignore' });
      const lines = readFileSync(log, 'utf8').split('\n');
      // Map fds to the paths they were opened on, then name each fsync'd fd.
      const fds = new Map();
      const synced = [];
      for (const line of lines) {
        const open = /openat\(AT_FDCWD, "([^"]+)".*\) = (\d+)/.exec(line);
        if (open) fds.set(open[2], open[1]);
        const sync = /(fsync|fdatasync)\((\d+)\)/.exec(line);
        if (sync) synced.push(fds.get(sync[2]) ?? `fd ${sync[2]}`);
      }
      const relevant = synced.filter((p) => p.startsWith(dir));
      console.log(`  ${who.padEnd(18)} ${relevant.length} fsync: ${relevant.map((p) => (p === dir ? '<folder>' : p.slice(dir.length + 1).replace(/\.(tmp-.*|\d+)$/, '.<tmp>'))).join(', ')}`);
    }
  }

  // ---- 3. a buffer over 2 GiB (one write(2) call moves at most 0x7ffff000 bytes on Linux) ----
  if (args.includes('--large')) {
    console.log('\n2.2 GB buffer');
    const huge = Buffer.alloc(2.2e9, 1);
    for (const [name, write] of Object.entries(writers)) {
      const file = join(dir, 'huge.bin');
      const t = performance.now();
      let outcome;
      try {
        await write(file, huge);
        outcome = `file of ${statSync(file).size} bytes (${statSync(file).size === huge.length ? 'complete' : 'TRUNCATED'})`;
      } catch (e) {
        outcome = `error ${e.code ?? e.message}`;
      }
      console.log(`  ${name.padEnd(26)} ${outcome}, ${((performance.now() - t) / 1000).toFixed(1)} s`);
      rmSync(file, { force: true });
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
