#!/usr/bin/python3
"""Reference peaks, link costs and assemblies for tests/test_infer_assembly.c, computed by DeepLabCut's
own code: writes tests/fixtures/assembly_reference.json.

Run by a developer: /usr/bin/python3 tools/assembly_reference.py [--dlc PATH]
PATH is a DeepLabCut checkout (a source tree or a git directory; default: the read-only mirror
/work/.mirror/DeepLabCut+DeepLabCut/repo). Needs numpy, scipy, pandas, networkx and tqdm (Debian:
python3-numpy python3-scipy python3-pandas python3-networkx python3-tqdm); DeepLabCut itself is not
installed: deeplabcut/core/inferenceutils.py (the Assembler) and
deeplabcut/pose_estimation_tensorflow/core/predict_multianimal.py (compute_peaks_and_costs) are loaded
from PATH and run unchanged. The TensorFlow part of the maDLC graph (nnets/base.py
add_inference_layers: Gaussian smoothing of the score maps, max-pool NMS, threshold) is transcribed
below in numpy, since TensorFlow is not there.

Cases:
  lsap        scipy's linear_sum_assignment on small matrices full of ties (tests/test_assignment.c);
  calibration Assembler.calibrate on synthetic labeled animals (pd.read_hdf stood in for);
  maps        synthetic score, locref and PAF maps -> peaks -> costs -> assemblies;
  detections  synthetic peaks and costs -> assemblies, under several Assembler settings.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import types
import unittest.mock

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

ROOT = pathlib.Path(__file__).resolve().parent.parent
MIRROR = "/work/.mirror/DeepLabCut+DeepLabCut/repo"


def dlc_source(checkout, relpath):
    path = pathlib.Path(checkout) / relpath
    if path.is_file():
        return path.read_text()
    return subprocess.run(["git", "-C", checkout, "show", f"HEAD:{relpath}"], check=True, capture_output=True,
                          text=True).stdout


def load_module(checkout, name, relpath, edit=None):
    """Runs a DeepLabCut source file as module name; edit (old, new) changes one line first (only to find
    frames where that line matters)."""
    text = dlc_source(checkout, relpath)
    if edit:
        assert edit[0] in text, edit[0]
        text = text.replace(edit[0], edit[1])
    module = types.ModuleType(name)
    module.__file__ = relpath
    sys.modules[name] = module
    exec(compile(text, relpath, "exec"), module.__dict__)
    module.tqdm = lambda iterable, **_: iterable  # no progress bars
    return module


def load_dlc(checkout):
    # predict_multianimal imports TensorFlow and scikit-image at the top; the functions used here need
    # neither.
    for stub in ("tensorflow", "skimage", "skimage.feature"):
        sys.modules.setdefault(stub, types.ModuleType(stub))
    sys.modules["skimage.feature"].peak_local_max = None
    iu = load_module(checkout, "dlc_inferenceutils", "deeplabcut/core/inferenceutils.py")
    pm = load_module(checkout, "dlc_predict_multianimal",
                     "deeplabcut/pose_estimation_tensorflow/core/predict_multianimal.py")
    return iu, pm


# ---- the TensorFlow inference layers (nnets/base.py add_inference_layers), in numpy -----------------

def gaussian_kernel(sigma, size):
    """make_2d_gaussian_kernel: softmax of -k^2 / (2 sigma^2), k = -size//2+1 .. size//2, outer product."""
    k = np.arange(-size // 2 + 1, size // 2 + 1)
    z = -(k.astype(np.float32) ** 2) / np.float32(2 * sigma**2)
    e = np.exp(z - z.max())
    k1 = (e / e.sum()).astype(np.float32)
    return np.einsum("i,j->ij", k1, k1)


def depthwise_same(maps, kernel):
    """tf.nn.depthwise_conv2d(..., padding="SAME") of [H, W, C] maps: zeros outside."""
    h, w, _ = maps.shape
    r = kernel.shape[0] // 2
    padded = np.zeros((h + 2 * r, w + 2 * r, maps.shape[2]))
    padded[r:r + h, r:r + w] = maps
    out = np.zeros(maps.shape)
    for u in range(2 * r + 1):
        for v in range(2 * r + 1):
            out += float(kernel[u, v]) * padded[u:u + h, v:v + w]
    return out.astype(np.float32)


def maxpool_same(maps, n):
    """tf.nn.max_pool2d(ksize n, strides 1, "SAME"): offsets -(n-1)//2 .. n//2, padding never wins."""
    h, w, _ = maps.shape
    before, after = (n - 1) // 2, n // 2
    padded = np.full((h + n - 1, w + n - 1, maps.shape[2]), -np.inf, dtype=np.float32)
    padded[before:before + h, before:before + w] = maps
    out = np.full(maps.shape, -np.inf, dtype=np.float32)
    for u in range(n):
        for v in range(n):
            out = np.maximum(out, padded[u:u + h, v:v + w])
    return out


def peak_indices(prob, nms_radius, sigma, threshold):
    """The peak_inds output for one frame: (0, row, col, joint) in tf.where's row-major order."""
    smooth = depthwise_same(prob, gaussian_kernel(sigma, 2 * nms_radius + 1))
    pooled = maxpool_same(smooth, nms_radius)
    maxima = smooth * (smooth == pooled).astype(np.float32)
    inds = np.argwhere(maxima[np.newaxis] >= np.float32(threshold))
    return inds.astype(np.int32)


# ---- helpers -----------------------------------------------------------------------------------------

def num(v):
    """A JSON number, null for NaN."""
    v = float(v)
    return None if np.isnan(v) else v


def f32(v):
    """An f32 quantity (a score, an m1 cost) in its shortest f32 spelling; the test reads it back as
    (double)(float)value, the exact f32 again."""
    v = np.float32(v)
    return None if np.isnan(v) else float(repr(v).replace("np.float32(", "").rstrip(")"))


def run_assembler(iu, frames, graph, paf_inds, num_joints, n_multi, options, calibration=None):
    data = {"metadata": {"all_joints_names": [f"part{i}" for i in range(num_joints)], "PAFgraph": graph,
                         "PAFinds": list(paf_inds)}}
    for i, frame in enumerate(frames):
        data[f"frame{i:04d}"] = frame
    assembler = iu.Assembler(data, max_n_individuals=options["max_n_individuals"], n_multibodyparts=n_multi,
                             greedy=options["greedy"], pcutoff=options["pcutoff"],
                             min_affinity=options["min_affinity"], min_n_links=options["min_n_links"],
                             max_overlap=options["max_overlap"], add_discarded=options["add_discarded"])
    if calibration is not None:
        with unittest.mock.patch.object(iu.pd, "read_hdf", lambda _path: calibration.copy()):
            assembler.calibrate("CollectedData.h5")
        assert assembler._kde is not None
    assembler.assemble(chunk_size=0)
    results = []
    for i in range(len(frames)):
        animals = []
        for assembly in assembler.assemblies.get(i, []):
            rows = [None if np.isnan(r[0]) else [num(r[0]), num(r[1]), f32(r[2])] for r in assembly.data]
            animals.append({"parts": rows, "affinity": num(assembly.affinity), "confidence": num(assembly.confidence),
                            "n_links": assembly.n_links})
        unique = assembler.unique.get(i)
        unique = None if unique is None else [None if np.isnan(r[0]) else [num(r[0]), num(r[1]), f32(r[2])]
                                              for r in unique]
        results.append({"animals": animals, "unique": unique})
    return results, assembler


def labels_frame(n_multi, animals):
    """A CollectedData-like frame: one row per image, columns (scorer, individuals, bodyparts, coords)."""
    n_ind = animals.shape[1]
    columns = pd.MultiIndex.from_product([["scorer"], [f"ind{i}" for i in range(n_ind)],
                                          [f"part{j}" for j in range(n_multi)], ["x", "y"]],
                                         names=["scorer", "individuals", "bodyparts", "coords"])
    return pd.DataFrame(animals.reshape(animals.shape[0], -1), columns=columns)


# ---- synthetic animals -------------------------------------------------------------------------------

TEMPLATE = np.array([[0.0, -30.0], [-13.0, -14.0], [13.0, -14.0], [0.0, 38.0], [0.0, 10.0]])


def animal_parts(rng, n_multi, centre, scale=1.0, noise=2.0):
    angle = rng.uniform(0, 2 * np.pi)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return centre + scale * TEMPLATE[:n_multi] @ rot.T + rng.normal(0, noise, (n_multi, 2))


def training_animals(rng, n_multi, n_images, n_ind):
    xy = np.full((n_images, n_ind, n_multi, 2), np.nan)
    for i in range(n_images):
        for a in range(n_ind):
            if rng.random() < 0.1:
                continue  # this individual is not in the image
            xy[i, a] = animal_parts(rng, n_multi, rng.uniform(50, 350, 2), scale=rng.uniform(0.9, 1.1), noise=3.0)
            if rng.random() < 0.3:
                xy[i, a, rng.integers(n_multi)] = np.nan  # one part not labeled
    return xy


def detection_frame(rng, n_multi, n_unique, graph, n_animals, spurious, touching):
    """Peaks (shuffled within each part) and m1 costs: high between parts of one animal, low otherwise."""
    centres = []
    for a in range(n_animals):
        if touching and a > 0:
            centres.append(centres[-1] + rng.uniform(-35, 35, 2))
        else:
            centres.append(rng.uniform(60, 440, 2))
    owner, coords, confs = [[] for _ in range(n_multi + n_unique)], [[] for _ in range(n_multi + n_unique)], \
        [[] for _ in range(n_multi + n_unique)]
    for a, c in enumerate(centres):
        parts = animal_parts(rng, n_multi, c)
        for j in range(n_multi):
            if rng.random() < 0.12:
                continue
            owner[j].append(a)
            coords[j].append(parts[j])
            confs[j].append(rng.uniform(0.05, 1.0))
    for _ in range(spurious):
        j = int(rng.integers(n_multi))
        owner[j].append(-1)
        coords[j].append(rng.uniform(20, 480, 2))
        confs[j].append(rng.uniform(0.01, 0.7))
    for u in range(n_unique):
        for _ in range(int(rng.integers(0, 3))):
            owner[n_multi + u].append(-1)
            coords[n_multi + u].append(rng.uniform(20, 480, 2))
            confs[n_multi + u].append(rng.uniform(0.01, 1.0))
    xy, prob = [], []
    for j in range(n_multi + n_unique):
        order = rng.permutation(len(coords[j]))
        owner[j] = [owner[j][i] for i in order]
        xy.append(np.round(np.array([coords[j][i] for i in order]).reshape(-1, 2), 3))
        prob.append(np.round(np.array([confs[j][i] for i in order], dtype=np.float32), 3).reshape(-1, 1))
    costs = {}
    for k, (s, t) in enumerate(graph):
        m = np.zeros((len(owner[s]), len(owner[t])), dtype=np.float32)
        for i, oi in enumerate(owner[s]):
            for j, oj in enumerate(owner[t]):
                same = oi >= 0 and oi == oj
                m[i, j] = rng.uniform(0.55, 1.0) if same else (0.0 if rng.random() < 0.3 else rng.uniform(0, 0.4))
        costs[k] = {"m1": np.round(m, 3), "distance": np.ones(m.shape, dtype=np.float32)}
    return {"coordinates": (xy,), "confidence": prob, "costs": costs}


def frame_json(frame, n_limbs):
    peaks = []
    for j, (xy, p) in enumerate(zip(frame["coordinates"][0], frame["confidence"])):
        for (x, y), (c,) in zip(xy, p):
            peaks.append([j, float(x), float(y), f32(c)])
    return {"peaks": peaks, "costs": [[f32(v) for v in frame["costs"][k]["m1"].ravel()] for k in range(n_limbs)]}


# ---- cases -------------------------------------------------------------------------------------------

def lsap_cases(rng):
    cases = []
    for shape in [(3, 3), (2, 4), (4, 2), (5, 5), (3, 5), (6, 4), (4, 4), (1, 3), (3, 1)]:
        for levels in (2, 3, 7):
            cost = rng.integers(0, levels, shape).astype(float) / 4
            for maximize in (True, False):
                rows, cols = linear_sum_assignment(cost, maximize=maximize)
                cases.append({"cost": cost.tolist(), "maximize": maximize, "rows": rows.tolist(),
                              "cols": cols.tolist()})
    return cases


def calibration_case(iu, rng, n_multi):
    animals = training_animals(rng, n_multi, 40, 2)
    _, assembler = run_assembler(iu, [{"coordinates": ([np.zeros((0, 2))] * n_multi,),
                                       "confidence": [np.zeros((0, 1))] * n_multi, "costs": {}}],
                                 [[0, 1]], [0], n_multi, n_multi,
                                 {"max_n_individuals": 2, "greedy": False, "pcutoff": 0.1, "min_affinity": 0.1,
                                  "min_n_links": 1, "max_overlap": 0.8, "add_discarded": False},
                                 calibration=labels_frame(n_multi, animals))
    kde = assembler._kde
    flat = animals.reshape(-1, n_multi, 2)
    return {"n_bodyparts": n_multi, "animals": [[[num(v) for v in p] for p in a] for a in flat],
            "n_used": int(kde.n), "mean": [float(v) for v in kde.mean],
            "covariance": [[float(v) for v in r] for r in kde.covariance],
            "inv_cov": [[float(v) for v in r] for r in kde.inv_cov]}, labels_frame(n_multi, animals)


def tabu_frames(checkout, iu, calibration, graph, options, want=2):
    """Frames where the tabu list of _fill_assembly (a link refused by the Mahalanobis test, given another
    chance after a later link is accepted) changes DeepLabCut's result: rare (about 1 frame in 300 of
    crowded calibrated scenes), so they are searched for by running the Assembler without that step."""
    no_tabu = load_module(checkout, "dlc_inferenceutils_no_tabu", "deeplabcut/core/inferenceutils.py",
                          ("                        _, _, link = heapq.heappop(tabu)\n",
                           "                        raise IndexError\n"))
    rng = np.random.default_rng(100)
    found = []
    while len(found) < want:
        frames = [detection_frame(rng, 4, 0, graph, int(rng.integers(2, 5)), int(rng.integers(0, 5)),
                                  rng.random() < 0.7) for _ in range(100)]
        with_tabu, _ = run_assembler(iu, frames, graph, range(len(graph)), 4, 4, options, calibration)
        without, _ = run_assembler(no_tabu, frames, graph, range(len(graph)), 4, 4, options, calibration)
        found += [f for f, a, b in zip(frames, with_tabu, without) if a != b]
    return found[:want]


def detection_cases(iu, rng, calibration, checkout):
    graph4 = [[0, 1], [0, 2], [1, 2], [0, 3], [1, 3], [2, 3]]
    reversed4 = [[1, 0], [0, 2], [2, 1], [3, 0], [1, 3], [3, 2]]  # some limbs from the higher part
    chain4 = [[0, 1], [1, 2], [2, 3]]
    revchain4 = [[1, 0], [2, 1], [3, 2]]
    # parts 2, 3 joined to 0, 1 only by limbs from the higher part: the complete-group step leaves them
    # out, so surplus assemblies get fused (the one graph found where that branch of build_assemblies runs)
    fusion4 = [[0, 1], [2, 0], [3, 1], [3, 2]]
    default = {"max_n_individuals": 3, "greedy": False, "pcutoff": 0.1, "min_affinity": 0.1, "min_n_links": 2,
               "max_overlap": 0.8, "add_discarded": False}
    settings = [
        ("optimal", 4, 1, graph4, {}, False, (1, 3), 2, False),
        ("optimal_touching", 4, 1, graph4, {}, False, (2, 3), 1, True),
        ("greedy", 4, 1, graph4, {"greedy": True}, False, (1, 3), 2, True),
        ("surplus", 4, 0, graph4, {"max_n_individuals": 2, "min_n_links": 1}, False, (2, 4), 3, True),
        ("add_discarded", 4, 1, graph4, {"add_discarded": True, "min_n_links": 3}, False, (1, 3), 2, True),
        ("no_nms_tree", 4, 0, [[0, 1], [0, 2], [0, 3]], {"max_overlap": 1.0, "min_n_links": 1}, False, (1, 3), 2,
         True),
        ("reversed_limbs", 4, 1, reversed4, {"min_n_links": 1}, False, (1, 4), 2, True),
        ("reversed_surplus", 4, 0, reversed4, {"max_n_individuals": 2, "min_n_links": 1}, False, (2, 4), 3, True),
        ("chain_surplus", 4, 0, chain4, {"max_n_individuals": 2, "min_n_links": 1}, False, (2, 4), 4, True),
        ("greedy_surplus", 4, 0, graph4, {"greedy": True, "max_n_individuals": 2}, False, (2, 4), 2, True),
        ("fusion", 4, 0, fusion4, {"max_n_individuals": 3, "min_n_links": 1}, False, (2, 3), 1, True),
        ("calibrated", 4, 1, graph4, {}, True, (1, 3), 2, True),
        ("calibrated_fusion", 4, 0, fusion4, {"max_n_individuals": 3, "min_n_links": 1}, True, (2, 3), 1, True),
        ("calibrated_tabu", 4, 0, reversed4, {"max_n_individuals": 2, "min_n_links": 1}, True, (2, 4), 4, True),
        ("calibrated_revchain", 4, 0, revchain4, {"max_n_individuals": 2, "min_n_links": 1}, True, (2, 4), 4, True),
        ("calibrated_crowded", 4, 0, reversed4, {"max_n_individuals": 4, "min_n_links": 1}, True, (3, 4), 5, True),
        ("calibrated_surplus", 4, 0, graph4, {"max_n_individuals": 2, "min_n_links": 1}, True, (2, 4), 3, True),
        ("calibrated_add_discarded", 4, 0, graph4, {"add_discarded": True, "greedy": True}, True, (1, 3), 2, True),
        ("single_individual", 4, 1, graph4, {"max_n_individuals": 1}, False, (1, 2), 2, False),
        ("one_multi_part", 1, 1, [], {"max_n_individuals": 2}, False, (0, 3), 2, False),
    ]
    cases = []
    for name, n_multi, n_unique, graph, changes, calibrated, (lo, hi), spurious, touching in settings:
        options = dict(default, **changes)
        frames = []
        if name == "calibrated_tabu":
            frames = tabu_frames(checkout, iu, calibration, graph, options)
        while len(frames) < 20:
            frame = detection_frame(rng, n_multi, n_unique, graph, int(rng.integers(lo, hi + 1)),
                                    int(rng.integers(0, spurious + 1)), touching and rng.random() < 0.5)
            # distinct scores, so that sorting the set of discarded joints has one answer
            scores = np.concatenate([p.ravel() for p in frame["confidence"]])
            if len(np.unique(scores)) != len(scores):
                continue
            frames.append(frame)
        results, _ = run_assembler(iu, frames, graph, range(len(graph)), n_multi + n_unique, n_multi, options,
                                   calibration if calibrated else None)
        cases.append({"name": name, "n_multi": n_multi, "num_joints": n_multi + n_unique, "graph": graph,
                      "options": options, "calibrated": calibrated,
                      "frames": [dict(frame_json(f, len(graph)), **r) for f, r in zip(frames, results)]})
    triangle = [[0, 1], [0, 2], [1, 2]]
    options = dict(default, min_n_links=1)
    frames = [tie_frame(5, 9), tie_frame(1, 9), tie_frame(2, 10)]
    results, _ = run_assembler(iu, frames, triangle, range(3), 3, 3, options)
    cases.append({"name": "set_order_ties", "n_multi": 3, "num_joints": 3, "graph": triangle, "options": options,
                  "calibrated": False, "frames": [dict(frame_json(f, 3), **r) for f, r in zip(frames, results)]})
    return cases


def tie_frame(p, q):
    """Joint p (part 0) and q (part 1) linked at 0.9; p links to X and q to Y (both part 2) at 0.5 each. The
    assembly grown from (p, q) takes whichever of the two tied links it pushed first: Python iterates the
    set {p, q} in hash-table order (slot p % 8, then q's slot), not in increasing order."""
    n0, n1 = p + 1, q - p
    xy0 = np.array([[10.0 + 30 * i, 10.0] for i in range(n0)])
    xy1 = np.array([[10.0 + 30 * i, 60.0] for i in range(n1)])
    xy2 = np.array([[100.0, 120.0], [300.0, 120.0]])
    conf0 = np.full((n0, 1), 0.2, dtype=np.float32)
    conf1 = np.full((n1, 1), 0.2, dtype=np.float32)
    conf0[p] = conf1[q - n0] = 0.9
    m01 = np.zeros((n0, n1), dtype=np.float32)
    m01[p, q - n0] = 0.9
    m02 = np.zeros((n0, 2), dtype=np.float32)
    m02[p, 0] = 0.5  # p - X
    m12 = np.zeros((n1, 2), dtype=np.float32)
    m12[q - n0, 1] = 0.5  # q - Y
    ones = lambda m: np.ones(m.shape, dtype=np.float32)
    return {"coordinates": ([xy0, xy1, xy2],), "confidence": [conf0, conf1, np.full((2, 1), 0.8, np.float32)],
            "costs": {0: {"m1": m01, "distance": ones(m01)}, 1: {"m1": m02, "distance": ones(m02)},
                      2: {"m1": m12, "distance": ones(m12)}}}


def synthetic_maps(rng, height, width, stride, locref_stdev, n_multi, n_unique, graph, n_animals):
    """Gaussian blobs for parts, locref pointing at them, PAF bands along limbs (as the training targets),
    all quantised so that the f32 values are exact in JSON."""
    num_joints = n_multi + n_unique
    prob = rng.uniform(0, 0.004, (height, width, num_joints))
    locref = rng.normal(0, 0.3, (height, width, num_joints, 2))
    paf = rng.normal(0, 0.05, (height, width, len(graph), 2))
    rows, cols = np.mgrid[:height, :width]
    cy, cx = rows * stride + stride // 2, cols * stride + stride // 2
    centres = []
    while len(centres) < n_animals:
        c = rng.uniform([40, 40], [width * stride - 40, height * stride - 40])
        if all(np.hypot(*(c - d)) > 45 for d in centres):
            centres.append(c)
    for c in centres:
        parts = animal_parts(rng, n_multi, c, scale=0.8)
        for j in range(n_multi):
            x, y = parts[j]
            d2 = ((cx - x) ** 2 + (cy - y) ** 2) / stride**2
            prob[..., j] = np.maximum(prob[..., j], rng.uniform(0.4, 0.98) * np.exp(-d2 / (2 * 1.1**2)))
            near = d2 <= 4
            locref[near, j, 0] = ((x - cx) / locref_stdev)[near]
            locref[near, j, 1] = ((y - cy) / locref_stdev)[near]
        for k, (s, t) in enumerate(graph):
            (x1, y1), (x2, y2) = parts[s], parts[t]
            length = np.hypot(x2 - x1, y2 - y1)
            dx, dy = (x2 - x1) / length, (y2 - y1) / length
            along = dx * (cx - x1) + dy * (cy - y1)
            across = np.abs(dy * (cx - x1) - dx * (cy - y1)) / 20.0
            band = (along >= 0) & (along <= length) & (across <= 1)
            paf[band, k, 0] = (dx * (1 - across))[band]
            paf[band, k, 1] = (dy * (1 - across))[band]
    for u in range(n_unique):
        x, y = rng.uniform(20, width * stride - 20), rng.uniform(20, height * stride - 20)
        d2 = ((cx - x) ** 2 + (cy - y) ** 2) / stride**2
        prob[..., n_multi + u] = np.maximum(prob[..., n_multi + u], 0.7 * np.exp(-d2 / 2))
    q = lambda a, s: np.round(np.clip(a, -4, 4) * s).astype(np.int64)
    return q(np.clip(prob, 0, 1), 65536), q(locref, 4096), q(paf, 4096)


def map_cases(iu, pm, rng):
    stride, locref_stdev = 8, 7.2801
    graph = [[0, 1], [0, 2], [1, 2]]
    paf_best = [2, 0, 1]
    n_multi, n_unique = 3, 1
    num_joints = n_multi + n_unique
    cases = []
    variants = [  # greedy, animals, map size, nmsradius, sigma, locref_smooth
        (False, 3, 20, 24, 5, 1, False), (True, 2, 18, 22, 5, 1, False), (False, 4, 24, 26, 5, 1, False),
        (False, 3, 22, 24, 4, 1.5, True)]
    for frame_no, (greedy, n_animals, height, width, nms_radius, sigma, locref_smooth) in enumerate(variants):
        prob_q, locref_q, paf_q = synthetic_maps(rng, height, width, stride, locref_stdev, n_multi, n_unique, graph,
                                                 n_animals)
        prob = (prob_q / 65536).astype(np.float32)
        locref = (locref_q / 4096).astype(np.float32)
        paf = (paf_q / 4096).astype(np.float32)
        inds = peak_indices(prob, nms_radius, sigma, 0.01)
        if locref_smooth:  # the same kernel on the raw locref channels, before the numpy side scales them
            flat = depthwise_same(locref.reshape(height, width, -1), gaussian_kernel(sigma, 2 * nms_radius + 1))
            locref_used = flat.reshape(locref.shape)
        else:
            locref_used = locref
        locrefs = locref_used[np.newaxis].copy()
        locrefs *= locref_stdev
        sub_graph = [graph[l] for l in paf_best]
        preds = pm.compute_peaks_and_costs(prob[np.newaxis], locrefs, paf[np.newaxis], inds.copy(), sub_graph,
                                           paf_best, stride, 0, 10, 3)
        frame = preds[0]
        options = {"max_n_individuals": 4, "greedy": greedy, "pcutoff": 0.1, "min_affinity": 0.1,
                   "min_n_links": 1, "max_overlap": 0.8, "add_discarded": False}
        results, _ = run_assembler(iu, [frame], graph, paf_best, num_joints, n_multi, options)
        peaks = []
        for j in range(num_joints):
            sel = inds[:, 3] == j
            for (r, c), (x, y), (p,) in zip(inds[sel, 1:3], frame["coordinates"][0][j], frame["confidence"][j]):
                peaks.append([j, int(r), int(c), float(x), float(y), f32(p)])
        costs = [[f32(v) for v in frame["costs"][l]["m1"].ravel()] for l in paf_best]
        chw = lambda a: a.reshape(height, width, -1).transpose(2, 0, 1).ravel().tolist()
        cases.append({"name": f"maps{frame_no}", "height": height, "width": width, "stride": stride,
                      "locref_stdev": locref_stdev, "nms_radius": nms_radius, "sigma": sigma,
                      "locref_smooth": locref_smooth, "n_multi": n_multi, "num_joints": num_joints,
                      "limbs": [[graph[l][0], graph[l][1], l] for l in paf_best], "n_paf_limbs": len(graph),
                      "options": options, "prob_q": chw(prob_q), "locref_q": chw(locref_q), "paf_q": chw(paf_q),
                      "peaks": peaks, "costs": costs, **results[0]})
    return cases


def check_linspace_cells(limit=300):
    """np.linspace(a, b, 10) cast to int gives floor((9a + k(b - a)) / 9), whichever of its two float
    formulas numpy takes; dlcc relies on it (paf.c)."""
    i = np.arange(10.0)
    for a in range(limit):
        b = np.arange(limit)
        exact = (9 * a + np.outer(i, b - a)) // 9
        for step_form in (i[:, None] * ((b - a) / 9.0) + a, (i[:, None] / 9.0) * (b - a) + a):
            got = np.floor(step_form)
            got[-1] = b
            assert (got == exact).all(), a


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dlc", default=MIRROR, help="DeepLabCut checkout (source tree or git directory)")
    parser.add_argument("--out", default=str(ROOT / "tests" / "fixtures" / "assembly_reference.json"))
    args = parser.parse_args()
    iu, pm = load_dlc(args.dlc)
    check_linspace_cells()
    rng = np.random.default_rng(20261205)
    calibration, labels = calibration_case(iu, rng, 4)
    fixture = {"lsap": lsap_cases(rng), "calibration": calibration, "maps": map_cases(iu, pm, rng),
               "detections": detection_cases(iu, rng, labels, args.dlc)}
    text = json.dumps(fixture, separators=(",", ":"))
    pathlib.Path(args.out).write_text(text + "\n")
    print(f"wrote {args.out} ({len(text)} bytes)")
    for case in fixture["detections"]:
        counts = [len(f["animals"]) for f in case["frames"]]
        print(f"  {case['name']}: {len(case['frames'])} frames, {sum(counts)} animals, "
              f"animals per frame {min(counts)}..{max(counts)}")
    for case in fixture["maps"]:
        print(f"  {case['name']}: {len(case['peaks'])} peaks, {len(case['animals'])} animals")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
