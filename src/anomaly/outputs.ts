// The anomaly protocol's outputs: the results table (as printed and in report.html), anomaly.json,
// the ROC / score / embedding charts (.svg/.png) and report.html.
import { join } from 'node:path';
import { rocChart } from '../report/roc-chart.js';
import { histogramChart } from '../report/histogram-chart.js';
import { scatterChart } from '../report/scatter-chart.js';
import { lineChart } from '../report/line-chart.js';
import { seriesColor } from '../report/palette.js';
import { writeChart } from '../report/png.js';
import { HtmlReport } from '../report/html-report.js';
import { formatTable } from '../util/table.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { AnomalyFigures, AnomalyResults, AnomalyRow } from './results.js';

export const byAuroc = <T extends { auroc: number }>(a: T, b: T): number => b.auroc - a.auroc;

export function tableRows(rows: AnomalyRow[]): Array<Record<string, unknown>> {
  return [...rows].sort(byAuroc).map((r) => ({
    head: r.head, score: r.score + (r.score_options ? ` ${JSON.stringify(r.score_options)}` : ''), auroc: r.auroc, aupr: r.aupr, fpr_at_95_tpr: r.fpr_at_95_tpr,
    n_normal: r.n_normal, n_anomaly: r.n_anomaly, best_val_acc: r.best_val_acc ?? '', train_minutes: r.train_seconds / 60,
  }));
}

export function resultTable(rows: AnomalyRow[]): string {
  return rows.length === 0 ? '(no results)' : formatTable(tableRows(rows), { digits: 4 });
}

export const rowLabel = (r: AnomalyRow): string => (r.head === 'autoencoder' ? 'autoencoder (reconstruction)' : `${r.head} · ${r.score}`);

export async function writeAnomalyOutputs(out: string, r: AnomalyResults, figures: AnomalyFigures): Promise<void> {
  await writeFileAtomic(join(out, 'anomaly.json'), `${JSON.stringify(r, null, 2)}\n`);
  const report = new HtmlReport({ title: 'deepmetric anomaly', subtitle: r.command })
    .config({
      normal: r.protocol.normal.join(', '), anomaly: r.protocol.anomaly.join(', '), reference: r.protocol.reference.join(', ') || 'none',
      n_train: r.protocol.n_train, n_fit: r.protocol.n_fit, n_val: r.protocol.n_val, n_test_normal: r.protocol.n_test_normal, n_test_anomaly: r.protocol.n_test_anomaly,
      ...r.config, dataset: r.dataset.source, threads: r.threads, ...r.versions,
    }, { heading: 'Configuration' })
    .notes(`Protocol: each head is trained on the ${r.protocol.normal.join(', ')} (normal) and reference classes and never sees an image of ${r.protocol.anomaly.join(', ')}. ` +
      `Every score is fitted on the embeddings of the ${r.protocol.n_fit} normal training images only, then ranks the ${r.protocol.n_test_normal} normal and ${r.protocol.n_test_anomaly} anomalous test images; ` +
      'AUROC is the probability that an anomaly scores above a normal image. The weights after the last epoch are scored.', { heading: 'Protocol' });
  if (r.results.length > 0) {
    report.table(tableRows(r.results), { heading: 'Results (sorted by AUROC)', digits: 4, highlight: { column: 'auroc', best: 'max' } });
    const sorted = [...figures.rows].sort((a, b) => byAuroc(a.row, b.row));
    const roc = rocChart(sorted.map((f) => ({ label: rowLabel(f.row), fpr: f.metrics.roc.fpr, tpr: f.metrics.roc.tpr, auroc: f.row.auroc })),
      { title: `ROC: ${r.protocol.normal.join(',')} (normal) vs ${r.protocol.anomaly.join(',')} (anomaly)` });
    await writeChart(out, 'roc', roc);
    report.figure(roc, { heading: 'ROC curves', caption: 'One curve per head and score; the anomaly class is the positive class.' });
    const best = sorted[0];
    const hist = histogramChart([
      { label: `normal (${r.protocol.normal.join(',')})`, values: best.normal },
      { label: `anomaly (${r.protocol.anomaly.join(',')})`, values: best.anomaly },
    ], { title: `Anomaly scores: ${rowLabel(best.row)} (AUROC ${best.row.auroc.toFixed(3)})`, xLabel: 'anomaly score (higher = more anomalous)' });
    await writeChart(out, 'scores', hist);
    report.figure(hist, { heading: 'Score distributions', caption: `Scores of the test images under the best row, ${rowLabel(best.row)}.` });
    const bestHead = sorted.find((f) => figures.projections.has(f.row.head));
    if (bestHead) {
      const p = figures.projections.get(bestHead.row.head)!;
      const group = (label: string, pts: number[][], color?: string) => ({ label, x: pts.map((q) => q[0]), y: pts.map((q) => q[1]), ...(color ? { color } : {}) });
      // Normal and anomaly keep the histogram's colours; the reference classes are context, in grey.
      const groups = [
        ...(p.reference.length > 0 ? [group(`reference (${r.protocol.reference.join(',')})`, p.reference, '#a0a0a0')] : []),
        group(`normal (${r.protocol.normal.join(',')})`, p.normal, seriesColor(0)),
        group(`anomaly (${r.protocol.anomaly.join(',')})`, p.anomaly, seriesColor(1)),
      ];
      const pct = (v: number | undefined) => `${((v ?? 0) * 100).toFixed(1)}%`;
      const scatter = scatterChart(groups, { title: `Test embeddings of ${bestHead.row.head}, PCA`, xLabel: `PC1 (${pct(p.explained[0])} of variance)`, yLabel: `PC2 (${pct(p.explained[1])})` });
      await writeChart(out, 'embedding', scatter);
      report.figure(scatter, { heading: 'Embedding', caption: `The first two principal components of the ${bestHead.row.head} embeddings of the test images (a sample of the reference classes).` });
    }
  }
  const withHistory = r.heads.filter((h) => h.history.length > 0);
  if (withHistory.length > 0) {
    report.figure(lineChart(withHistory.map((h) => ({ label: h.name, x: h.history.map((e) => e.epoch), y: h.history.map((e) => e.val_acc) })),
      { title: 'Validation accuracy (normal + reference test images)', xLabel: 'epoch', yLabel: 'validation accuracy' }), { heading: 'Training' });
  }
  if (r.autoencoder && r.autoencoder.history.length > 0) {
    report.table(r.autoencoder.history.map((e) => ({ ...e })), { heading: 'Autoencoder training', digits: 5 });
  }
  await report.write(join(out, 'report.html'));
}
