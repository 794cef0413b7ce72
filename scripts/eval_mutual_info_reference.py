#!/usr/bin/env python3
"""Reference NMI / AMI values for test/eval/mutual-information.test.ts, with numpy only.

sklearn is not installed here, so this re-derives its formulas (arithmetic normalisation, the
default average_method) from the definitions, independently of the TypeScript port:
  MI  = sum_ij n_ij/N * log(N n_ij / (a_i b_j))
  EMI = sum_ij sum_nij nij/N log(N nij/(a_i b_j)) * hypergeometric P(nij)   (Vinh et al. 2010)
  NMI = MI / mean(H(U), H(V));  AMI = (MI - EMI) / (mean(H(U), H(V)) - EMI)
Run: /usr/bin/python3 scripts/eval_mutual_info_reference.py
"""
import json
from math import lgamma, log, exp

import numpy as np


def contingency(a, b):
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), dtype=np.int64)
    np.add.at(table, (ai, bi), 1)
    return table


def entropy(counts):
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def mutual_info(table):
    n = table.sum()
    a = table.sum(1, keepdims=True)
    b = table.sum(0, keepdims=True)
    nz = table > 0
    return float((table[nz] / n * np.log(n * table[nz] / (a @ b)[nz])).sum())


def expected_mutual_info(table):
    n = int(table.sum())
    emi = 0.0
    for ai in table.sum(1):
        for bj in table.sum(0):
            ai, bj = int(ai), int(bj)
            for nij in range(max(1, ai + bj - n), min(ai, bj) + 1):
                log_p = (lgamma(ai + 1) + lgamma(bj + 1) + lgamma(n - ai + 1) + lgamma(n - bj + 1)
                         - lgamma(n + 1) - lgamma(nij + 1) - lgamma(ai - nij + 1) - lgamma(bj - nij + 1)
                         - lgamma(n - ai - bj + nij + 1))
                emi += nij / n * log(n * nij / (ai * bj)) * exp(log_p)
    return emi


def scores(a, b):
    table = contingency(np.asarray(a), np.asarray(b))
    mi = mutual_info(table)
    emi = expected_mutual_info(table)
    mean_h = (entropy(table.sum(1)) + entropy(table.sum(0))) / 2
    return {"mi": mi, "emi": emi, "nmi": mi / mean_h, "ami": (mi - emi) / (mean_h - emi)}


if __name__ == "__main__":
    # sklearn's own test case (test_supervised.py: test_adjusted_mutual_info_score).
    a = [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3]
    b = [1, 1, 1, 1, 2, 1, 2, 2, 2, 2, 3, 1, 3, 3, 3, 2, 2]
    cases = {"sklearn_17": scores(a, b), "sklearn_17_x110": scores(a * 110, b * 110)}
    # Unequal numbers of classes and clusters.
    cases["uneven"] = scores([0, 0, 0, 1, 1, 1, 2, 2, 2, 2], [0, 0, 1, 1, 1, 1, 2, 2, 3, 3])
    print(json.dumps(cases, indent=2))
