// Tar: the project's streaming reader (src/data/tar-reader.ts readTarFile) vs node-tar's list
// (tar.t with onReadEntry), both reading every entry and all of its bytes from a .tar.gz.
//
//   node bench/deps/tar.mjs [--rounds 5] [--file /work/shared/datasets/cifar10-jpeg.tar.gz]
//
// Then builds a small hostile archive with python3's tarfile (entries "../escape.txt",
// "/absolute.txt", a symlink to /etc/passwd, a hard link, and a normal file) and prints what each
// reader yields for it, and what node-tar's extract (tar.x) writes to disk from it.
//
// Set-up (scratch install, build) at the top of bench/deps/common.mjs. The two readers alternate
// within each round (the machine is shared, so a slow moment hits both); both must agree on the
// number of file entries and the total bytes, or the script fails.
import { performance } from 'node:perf_hooks';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectImport, scratchImport, scratchVersion, spread } from './common.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const ROUNDS = Number(opt('--rounds', 5));
const FILE = opt('--file', '/work/shared/datasets/cifar10-jpeg.tar.gz');

const tarModule = await scratchImport('tar');
const tar = tarModule.t ? tarModule : tarModule.default; // CommonJS build: functions sit on default
const { readTarFile } = await projectImport('src/data/tar-reader.js');
const tarVersion = scratchVersion('tar');

async function ours() {
  let files = 0;
  let bytes = 0;
  let entries = 0;
  for await (const entry of readTarFile(FILE)) {
    entries++;
    if (entry.type === 'file') {
      files++;
      bytes += entry.data.length;
    }
  }
  return { entries, files, bytes };
}

// The closest node-tar equivalent of readTarFile: strict parsing (errors, not warnings), each file
// entry's bytes gathered into one Buffer as our reader hands them to the dataset code.
async function nodeTar() {
  let files = 0;
  let bytes = 0;
  let entries = 0;
  await tar.t({
    file: FILE,
    strict: true,
    onReadEntry(entry) {
      entries++;
      if (entry.type !== 'File' && entry.type !== 'OldFile') {
        entry.resume();
        return;
      }
      const chunks = [];
      entry.on('data', (c) => chunks.push(c));
      entry.on('end', () => {
        const data = Buffer.concat(chunks);
        files++;
        bytes += data.length;
      });
    },
  });
  return { entries, files, bytes };
}

const runners = { 'project readTarFile': ours, [`node-tar ${tarVersion} t()`]: nodeTar };
const times = Object.fromEntries(Object.keys(runners).map((k) => [k, []]));
const counts = {};
for (let round = 0; round < ROUNDS; round++) {
  const names = Object.keys(runners);
  if (round % 2 === 1) names.reverse();
  for (const name of names) {
    const t = performance.now();
    counts[name] = await runners[name]();
    times[name].push(performance.now() - t);
  }
}
const [a, b] = Object.values(counts);
if (a.files !== b.files || a.bytes !== b.bytes) {
  throw new Error(`The readers disagree: ${JSON.stringify(counts)}`);
}
console.log(`${FILE} (${statSync(FILE).size} bytes gzip): ${a.files} files, ${a.bytes} bytes of contents, ${a.entries} / ${b.entries} entries (project / node-tar)`);
console.log(`rounds: ${ROUNDS}; ms, median (min–max)`);
for (const [name, t] of Object.entries(times)) {
  const mbps = (a.bytes / 1e6) / (Math.min(...t) / 1000);
  console.log(`${name.padEnd(24)} ${spread(t, 0).padEnd(22)} best ${mbps.toFixed(0)} MB/s of contents`);
}

// ---- hostile entries ----
const dir = mkdtempSync(join(tmpdir(), 'deps-tar-'));
try {
  const hostile = join(dir, 'hostile.tar.gz');
  execFileSync('python3', ['-c', `
import io, tarfile, sys
with tarfile.open(sys.argv[1], 'w:gz', format=tarfile.PAX_FORMAT) as t:
    def add(name, data=b'x', **kw):
        info = tarfile.TarInfo(name); info.size = len(data)
        for k, v in kw.items(): setattr(info, k, v)
        t.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    add('ok/normal.txt', b'fine')
    add('../escape.txt', b'escaped')
    add('/absolute.txt', b'absolute')
    link = tarfile.TarInfo('ok/passwd-link'); link.type = tarfile.SYMTYPE; link.linkname = '/etc/passwd'; t.addfile(link)
    hard = tarfile.TarInfo('ok/hard-link'); hard.type = tarfile.LNKTYPE; hard.linkname = 'ok/normal.txt'; t.addfile(hard)
`, hostile]);
  const oursSeen = [];
  for await (const e of readTarFile(hostile)) oursSeen.push(`${e.path} (${e.type}${e.type === 'file' ? `, ${e.data.length} B` : ''})`);
  const theirsSeen = [];
  await tar.t({ file: hostile, onReadEntry: (e) => { theirsSeen.push(`${e.path} (${e.type})`); e.resume(); } });
  console.log('\nhostile archive, entries as each reader hands them to the caller:');
  console.log(`  project readTarFile: ${oursSeen.join('; ')}`);
  console.log(`  node-tar t():        ${theirsSeen.join('; ')}`);
  const target = join(dir, 'extract', 'inside');
  mkdirSync(target, { recursive: true });
  const warnings = [];
  await tar.x({ file: hostile, cwd: target, onwarn: (code, message) => warnings.push(`${code}: ${message}`) });
  const written = [];
  const walk = (d, rel = '') => {
    for (const f of readdirSync(d, { withFileTypes: true })) {
      written.push(`${rel}${f.name}${f.isSymbolicLink() ? ' (symlink)' : ''}`);
      if (f.isDirectory()) walk(join(d, f.name), `${rel}${f.name}/`);
    }
  };
  walk(target);
  console.log(`  node-tar x() wrote inside the target: ${written.join(', ')}; outside it: ${existsSync(join(dir, 'extract', 'escape.txt')) ? 'escape.txt (!)' : 'nothing'}`);
  console.log(`  node-tar x() warnings: ${warnings.join(' | ')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
