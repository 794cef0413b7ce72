// The one registry of anomaly scores (src/anomaly/scores/registry.ts): every list of score names is
// a filter over it, the --score and --fuse flags offer exactly its names with its descriptions, and
// no other source file declares its own list of score names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../helpers.js';
import { SCORES, scoreHelp, scoreInfo, scoreIsKind, scoreNames, scoreNeeds } from '../../src/anomaly/scores/registry.js';
import { HEAD_SCORER_NAMES, SCORER_INFO, SCORER_NAMES, scorerNeedsHead } from '../../src/eval/scorers/registry.js';
import { COMPONENT_SCORES, DEFAULT_FUSE, LOGIT_SCORES, NEEDS_VALIDATION, NETWORK_ONLY_SCORES, NETWORK_SCORES } from '../../src/anomaly/network-scores.js';
import { ANOMALY_SCORES, needsNormalHoldout, POSTERIOR_SCORES, QUALITY_SCORES } from '../../src/anomaly/score-options.js';
import { anomalySpec } from '../../src/cli/anomaly.js';
import { fitDetectorSpec } from '../../src/cli/fit-detector.js';
import { QUALITY_OPTIONS } from '../../src/cli/anomaly-quality.js';
import * as lib from '../../src/index.js';

const ALL = ['knn', 'lof', 'mahalanobis', 'center', 'msp', 'normal-prob', 'max-logit', 'normal-logit', 'rotation', 'mahalanobis-depths', 'fusion'];

test('the registry: every score once, with a description, a kind and needs that agree', () => {
  assert.deepEqual(scoreNames(), ALL);
  assert.equal(new Set(scoreNames()).size, SCORES.length);
  assert.deepEqual(SCORES.slice(0, SCORER_INFO.length).map((s) => s.name), SCORER_NAMES, 'the evaluation layer\'s scorers come first, in their order');
  for (const s of SCORES) {
    assert.ok(s.description.length > 0 && !s.description.includes('\n'), `${s.name}: a one-line description`);
    assert.equal(s.needs.logits === true, s.kind === 'logit', `${s.name}: the logit scores and only they need logits`);
    assert.equal(scorerNeedsHead(s.name), s.needs.logits === true);
    assert.equal(SCORER_NAMES.includes(s.name as never), s.kind === 'embedding' || s.kind === 'logit');
    assert.equal(scoreInfo(s.name), s);
  }
  assert.equal(scoreInfo('isolation-forest'), undefined);
  assert.equal(scoreNeeds('isolation-forest', 'logits'), false);
  assert.equal(scoreIsKind('isolation-forest', 'embedding'), false);
  assert.deepEqual(scoreNames({ needs: 'normalClasses' }), ['normal-prob', 'normal-logit']);
  assert.deepEqual(scoreNames({ needs: 'rotationHead' }), ['rotation']);
  assert.deepEqual(scoreNames({ needs: 'layers' }), ['mahalanobis-depths']);
  assert.deepEqual(scoreNames({ needs: 'normalHoldout' }), ['mahalanobis-depths', 'fusion']);
  assert.deepEqual(scoreNames({ kind: 'embedding' }), ['knn', 'lof', 'mahalanobis', 'center']);
  assert.deepEqual(scoreNames({ kind: 'embedding', lacks: 'logits' }), ['knn', 'lof', 'mahalanobis', 'center']);
  assert.throws(() => (SCORES as unknown as unknown[]).push({}), TypeError, 'the registry is frozen');
});

test('the old lists are filters over the registry, with the same names in the same order', () => {
  const logits = ['msp', 'normal-prob', 'max-logit', 'normal-logit'];
  assert.deepEqual([...HEAD_SCORER_NAMES], logits);
  assert.deepEqual([...LOGIT_SCORES], logits);
  assert.deepEqual([...POSTERIOR_SCORES], logits);
  assert.deepEqual([...NETWORK_ONLY_SCORES], ['rotation', 'mahalanobis-depths', 'fusion']);
  assert.deepEqual([...QUALITY_SCORES], ['rotation', 'mahalanobis-depths', 'fusion']);
  assert.deepEqual([...COMPONENT_SCORES], ALL.filter((s) => s !== 'fusion'));
  assert.deepEqual([...NETWORK_SCORES], ALL);
  assert.deepEqual([...ANOMALY_SCORES], ALL);
  assert.deepEqual([...NEEDS_VALIDATION].sort(), ['fusion', 'mahalanobis-depths']);
  assert.deepEqual([...DEFAULT_FUSE], ['knn', 'normal-logit', 'rotation']);
  assert.deepEqual(scoreInfo('fusion')!.defaultComponents, DEFAULT_FUSE);
  assert.ok(needsNormalHoldout(['knn', 'fusion'], []) && !needsNormalHoldout(['knn', 'rotation'], []));
  // the public names still reach users
  assert.deepEqual(lib.anomaly.ANOMALY_SCORES, ALL);
  assert.deepEqual(lib.evaluation.SCORER_NAMES, SCORER_NAMES);
  assert.deepEqual(lib.anomaly.scoreNames(), ALL);
});

test('every name --score and --fuse accept is in the registry, and their help comes from it', () => {
  for (const spec of [anomalySpec, fitDetectorSpec]) {
    const score = spec.options.score;
    assert.deepEqual(score.choices, ALL, `${spec.name} --score offers exactly the registry's scores`);
    for (const s of SCORES) assert.ok(score.description.includes(`'${s.name}' = ${s.description}`), `${spec.name} --score describes '${s.name}'`);
    assert.ok(score.description.includes(scoreHelp()));
  }
  assert.deepEqual(QUALITY_OPTIONS.fuse.choices, ALL.filter((s) => s !== 'fusion'));
  assert.deepEqual(QUALITY_OPTIONS.fuse.default, [...DEFAULT_FUSE]);
  for (const c of DEFAULT_FUSE) assert.ok(QUALITY_OPTIONS.fuse.choices!.includes(c));
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|js)$/.test(e.name) ? [path] : [];
  });
}

/** Array literals of quoted strings and spreads (e.g. ['knn', 'rotation'] or [...X, 'fusion']) naming two or more scores. */
function scoreNameLists(text: string, names: readonly string[]): string[] {
  const known = new Set(names);
  const lists = text.matchAll(/\[(\s*(?:'[^'\n]*'|"[^"\n]*"|\.\.\.[\w.]+)(?:\s*,\s*(?:'[^'\n]*'|"[^"\n]*"|\.\.\.[\w.]+))*\s*,?\s*)\]/g);
  return [...lists].filter((m) => [...m[1].matchAll(/'([^']*)'|"([^"]*)"/g)].filter((q) => known.has(q[1] ?? q[2])).length >= 2).map((m) => m[0]);
}

test('no source file but the two registries declares a list of score names', () => {
  const src = join(repoRoot, 'src');
  const registries = new Set(['eval/scorers/registry.ts', 'anomaly/scores/registry.ts']);
  const found = sourceFiles(src).filter((f) => !registries.has(relative(src, f)))
    .flatMap((f) => scoreNameLists(readFileSync(f, 'utf8'), ALL).map((l) => `${relative(src, f)}: ${l}`));
  assert.deepEqual(found, []);
  // the check finds the lists it is meant to find
  assert.deepEqual(scoreNameLists("const A = ['msp', 'normal-prob'];\nconst B = [...SCORER_NAMES, 'rotation', 'fusion'];\nconst C = ['knn'];\nconst D = ['a', 'b'];", ALL),
    ["['msp', 'normal-prob']", "[...SCORER_NAMES, 'rotation', 'fusion']"]);
});
