#!/usr/bin/python3
"""Reference numbers for tests/test_eval_multianimal.c: a seeded random multi-animal case (poses of a
few images) with its OKS values, pose mAP / mAR and RMSE computed the way DeepLabCut 3.0.1 does,
written to tests/fixtures/oks_reference.h (hex floats, so the test reads the exact doubles).

Run with Debian's python (numpy + scipy): /usr/bin/python3 tools/oks_reference.py
DeepLabCut is not needed: the functions below restate, with numpy and scipy, the formulas of
deeplabcut/core/inferenceutils.py (calc_object_keypoint_similarity, match_assemblies,
evaluate_assembly: what the TensorFlow engine's evaluate_multianimal reports),
deeplabcut/core/metrics/distance_metrics.py and matching.py (compute_oks, compute_rmse with
match_greedy_oks, compute_detection_rmse: what the PyTorch engine reports) and
deeplabcut/core/crossvalutils.py (find_closest_neighbors).
"""
import pathlib

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "oks_reference.h"
SEED = 20240611
N_FRAMES = 8
N_BODYPARTS = 9
SIGMA = 0.1
PCUTOFF = 0.6
PER_KEYPOINT_SIGMAS = np.array([0.025, 0.05, 0.079, 0.072, 0.062, 0.107, 0.087, 0.089, 0.1])
MARGIN = 2.0
OKS_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_LEVELS = np.linspace(0, 1, 101)


def oks(xy_pred, xy_true, sigma, margin=0.0):
    """OKS of one prediction (n_bpt x 2) against one label (n_bpt x 2); NaN when undefined."""
    visible = ~np.isnan(xy_true).all(axis=1)
    if visible.sum() < 2:
        return np.nan
    true = xy_true[visible]
    area = np.prod(np.ptp(true, axis=0) + np.spacing(1) + margin * 2)
    if np.isclose(area, 0):
        return np.nan
    denom = 2 * area * (2 * sigma) ** 2
    if isinstance(sigma, np.ndarray):
        denom = denom[visible]
    pred = xy_pred[visible]
    pred[np.isnan(pred)] = np.inf
    return np.mean(np.exp(-np.sum((pred - true) ** 2, axis=1) / denom))


def n_present(pose):
    return int(np.sum(~np.isnan(pose[:, :2]).any(axis=1)))


def precision_recall(n_gt, oks_values, threshold):
    tp = np.cumsum(oks_values >= threshold)
    fp = np.cumsum(oks_values < threshold)
    rc = tp / n_gt
    pr = tp / (fp + tp + np.spacing(1))
    recall = rc[-1]
    for i in range(len(pr) - 1, 0, -1):
        if pr[i] > pr[i - 1]:
            pr[i - 1] = pr[i]
    idx = np.searchsorted(rc, RECALL_LEVELS, side="left")
    precision = np.zeros(idx.shape)
    valid = idx < len(pr)
    precision[valid] = pr[idx[valid]]
    return precision, recall


def map_tensorflow(frames, sigma, margin):
    """evaluate_assembly with greedy_matching=False (the TensorFlow engine's default)."""
    scores, oks_values, total_gt = [], [], 0
    for truth, pred in frames:
        # Images without any labeled keypoint are not in the ground-truth dict.
        labeled = [t for t in truth if not np.isnan(t).all()]
        if not labeled:
            continue
        gts = [t for t in labeled if n_present(t) > 1]
        preds = [p for p in pred if n_present(p) > 1]
        total_gt += len(gts)
        conf = [np.nanmean(p[:, 2]) for p in preds]
        order = np.argsort(conf)[::-1]
        preds = [preds[i] for i in order]
        mat = np.zeros((len(preds), len(gts)))
        for i, p in enumerate(preds):
            for j, t in enumerate(gts):
                value = oks(p[:, :2].copy(), t, sigma, margin)
                if not np.isnan(value):
                    mat[i, j] = value
        matched = np.zeros(len(preds))
        rows, cols = linear_sum_assignment(mat, maximize=True)
        for r, c in zip(rows, cols):
            matched[r] = mat[r, c]
        scores += [conf[i] for i in order]
        oks_values += list(matched)
    if not scores:
        return 0.0, 0.0
    idx = np.argsort(-np.asarray(scores), kind="mergesort")
    ranked = np.asarray(oks_values)[idx]
    precisions, recalls = [], []
    for t in OKS_THRESHOLDS:
        p, r = precision_recall(total_gt, ranked, t)
        precisions.append(p)
        recalls.append(r)
    return np.asarray(precisions).mean(), np.asarray(recalls).mean()


def prepare_pytorch(frames):
    """prepare_evaluation_data: negative scores dropped, poses sorted by mean score."""
    data = []
    for truth, pred in frames:
        gt = truth[np.any(np.all(~np.isnan(truth), axis=-1), axis=-1)]
        pr = pred.copy()
        pr[pr[..., 2] < 0] = np.nan
        pr = pr[np.any(np.all(~np.isnan(pr), axis=-1), axis=-1)]
        scores = np.nanmean(pr[:, :, 2], axis=-1)
        data.append((gt, pr[np.argsort(-scores, kind="mergesort")]))
    return data


def oks_matrix(gt, pred, sigma, margin):
    mat = np.zeros((len(pred), len(gt)))
    for i, p in enumerate(pred):
        for j, t in enumerate(gt):
            mat[i, j] = oks(p[:, :2].copy(), t[:, :2], sigma, margin)
    return mat


def greedy_oks(gt, pred, mat, threshold):
    """match_greedy_oks: per prediction (already sorted) the matched gt index and OKS, or (-1, 0)."""
    taken, result = set(), []
    for i in range(len(pred)):
        row = mat[i]
        if np.all(np.isnan(row)):
            result.append((-1, 0.0))
            continue
        best = int(np.nanargmax(row))
        if best in taken or row[best] < threshold:
            result.append((-1, 0.0))
            continue
        taken.add(best)
        result.append((best, row[best]))
    return result


def map_pytorch(frames, sigma, margin):
    """compute_oks."""
    total_gt, data = 0, []
    for gt, pred in prepare_pytorch(frames):
        gt = gt[np.sum(np.all(~np.isnan(gt), axis=-1), axis=-1) > 1]
        pred = pred[np.sum(np.all(~np.isnan(pred), axis=-1), axis=-1) > 1]
        total_gt += len(gt)
        data.append((gt, pred, oks_matrix(gt, pred, sigma, margin)))
    precisions, recalls = [], []
    for t in OKS_THRESHOLDS:
        scores, values = [], []
        for gt, pred, mat in data:
            for p, (_, value) in zip(pred, greedy_oks(gt, pred, mat, t)):
                scores.append(np.nanmean(p[:, 2]))
                values.append(value)
        if not scores:
            return 0.0, 0.0
        idx = np.argsort(-np.asarray(scores), kind="mergesort")
        p, r = precision_recall(total_gt, np.asarray(values)[idx], t)
        precisions.append(p)
        recalls.append(r)
    return np.asarray(precisions).mean(), np.asarray(recalls).mean()


def rmse_pytorch(frames, pcutoff):
    """compute_rmse (multi-animal): greedy OKS matching with sigma 0.1, OKS >= 1e-6."""
    errors, scores = [], []
    for gt, pred in prepare_pytorch(frames):
        mat = oks_matrix(gt, pred, 0.1, 0.0)
        for p, (j, _) in zip(pred, greedy_oks(gt, pred, mat, 1e-6)):
            if j < 0:
                errors.append(np.full(len(p), np.nan))
            else:
                errors.append(np.linalg.norm(p[:, :2] - gt[j][:, :2], axis=1))
            scores.append(p[:, 2])
    errors, scores = np.stack(errors), np.stack(scores)
    cut = errors[scores >= pcutoff]
    return np.nansum(errors) / np.sum(~np.isnan(errors)), np.nansum(cut) / np.sum(~np.isnan(cut))


def closest_neighbors(query, ref, k=3):
    """find_closest_neighbors."""
    tree = cKDTree(ref)
    dist, inds = tree.query(query, k=k)
    idx = np.argsort(dist[:, 0])
    neighbors = np.full(len(query), -1, dtype=int)
    picked = {tree.n}
    for i, ind in enumerate(inds[idx]):
        for j in ind:
            if j not in picked:
                picked.add(j)
                neighbors[idx[i]] = j
                break
        if len(picked) == ref.shape[0] + 1:
            break
    return neighbors


def detection_rmse(frames, pcutoff):
    """compute_detection_rmse: per body part, labels to the predicted keypoints of that part."""
    dists, dists_cut = [], []
    for gt, pred in prepare_pytorch(frames):
        for b in range(gt.shape[1] if len(gt) else 0):
            g = gt[:, b][~np.any(np.isnan(gt[:, b]), axis=1)]
            p = pred[:, b][~np.any(np.isnan(pred[:, b]), axis=1)] if len(pred) else np.zeros((0, 3))
            if len(g) == 0 or len(p) == 0:
                continue
            for gi, pi in enumerate(closest_neighbors(g, p[:, :2])):
                if pi != -1:
                    d = np.linalg.norm(g[gi] - p[pi, :2])
                    dists.append(d)
                    if p[pi, 2] >= pcutoff:
                        dists_cut.append(d)
    return np.mean(dists), np.mean(dists_cut)


def random_case(rng):
    """Frames of up to 3 animals; each prediction is a noisy copy of an animal (some keypoints
    dropped), plus false positives; one frame has a confident prediction but no labels (the
    TensorFlow engine ignores it, the PyTorch engine counts a false positive)."""
    frames = []
    for f in range(N_FRAMES):
        n_animals = 0 if f == 5 else int(rng.integers(1, 4))
        truth = np.full((n_animals, N_BODYPARTS, 2), np.nan)
        for a in range(n_animals):
            centre = rng.uniform(100, 500, size=2)
            extent = rng.uniform(20, 80, size=2)
            truth[a] = centre + rng.uniform(-1, 1, size=(N_BODYPARTS, 2)) * extent
            hidden = rng.random(N_BODYPARTS) < 0.15
            truth[a][hidden] = np.nan
        if f == 2 and n_animals:  # an animal with a single labeled keypoint does not count
            truth[0][1:] = np.nan
        preds = []
        for a in range(n_animals):
            if rng.random() < 0.2:  # missed animal
                continue
            base = truth[a].copy()
            missing = np.isnan(base).any(axis=1)
            base[missing] = np.nanmean(truth[a], axis=0) if n_present(truth[a]) else [300, 300]
            noise = rng.uniform(0.5, 12)
            p = np.empty((N_BODYPARTS, 3))
            p[:, :2] = base + rng.normal(0, noise, size=(N_BODYPARTS, 2))
            p[:, 2] = rng.uniform(0.3, 1.0, size=N_BODYPARTS)
            p[rng.random(N_BODYPARTS) < 0.1] = np.nan
            preds.append(p)
        for _ in range(int(rng.integers(0, 2)) + (f == 5)):  # false positives
            p = np.empty((N_BODYPARTS, 3))
            p[:, :2] = rng.uniform(100, 500, size=2) + rng.uniform(-40, 40, size=(N_BODYPARTS, 2))
            p[:, 2] = rng.uniform(0.9, 1.0, size=N_BODYPARTS) if f == 5 else rng.uniform(0.05, 0.9, size=N_BODYPARTS)
            preds.append(p)
        if f == 3:  # a prediction of one keypoint does not count
            p = np.full((N_BODYPARTS, 3), np.nan)
            p[0] = [250.0, 250.0, 0.99]
            preds.append(p)
        order = rng.permutation(len(preds))
        pred = np.asarray([preds[i] for i in order]).reshape((len(preds), N_BODYPARTS, 3))
        frames.append((truth, pred))
    return frames


def c_double(x):
    if np.isnan(x):
        return "NAN"
    return float(x).hex()


def c_array(name, values, per_line=6):
    values = list(values)
    lines = []
    for i in range(0, len(values), per_line):
        lines.append("    " + ", ".join(c_double(v) for v in values[i:i + per_line]) + ",")
    body = "\n".join(lines) if lines else "    0"
    return f"static const double {name}[] = {{\n{body}\n}};\n"


def main():
    rng = np.random.default_rng(SEED)
    frames = random_case(rng)
    oks_default, oks_custom = [], []
    for truth, pred in frames:
        for p in pred:
            for t in truth:
                oks_default.append(oks(p[:, :2].copy(), t, SIGMA))
                oks_custom.append(oks(p[:, :2].copy(), t, PER_KEYPOINT_SIGMAS, MARGIN))
    tf_map, tf_mar = map_tensorflow(frames, SIGMA, 0.0)
    pt_map, pt_mar = map_pytorch(frames, SIGMA, 0.0)
    tf_map_c, tf_mar_c = map_tensorflow(frames, PER_KEYPOINT_SIGMAS, MARGIN)
    rmse, rmse_cut = rmse_pytorch(frames, PCUTOFF)
    det, det_cut = detection_rmse(frames, PCUTOFF)

    out = [
        "/* Generated by tools/oks_reference.py (seed %d): a random multi-animal case and DeepLabCut's\n"
        " * numbers for it (OKS, pose mAP/mAR of both engines, RMSE). Do not edit. */\n" % SEED,
        "#define OKSREF_N_FRAMES %d\n#define OKSREF_N_BODYPARTS %d\n" % (N_FRAMES, N_BODYPARTS),
        "static const size_t oksref_n_truth[] = {%s};\n" % ", ".join(str(len(t)) for t, _ in frames),
        "static const size_t oksref_n_pred[] = {%s};\n" % ", ".join(str(len(p)) for _, p in frames),
        "/* Frame after frame: labels n_truth x n_bodyparts x (x, y). */\n",
        c_array("oksref_truth", np.concatenate([t.ravel() for t, _ in frames])),
        "/* Frame after frame: predictions n_pred x n_bodyparts x (x, y, score). */\n",
        c_array("oksref_pred", np.concatenate([p.ravel() for _, p in frames])),
        "/* Frame after frame, OKS of prediction i against label g at [i * n_truth + g]. */\n",
        "static const double oksref_sigma = %s;\n" % c_double(SIGMA),
        c_array("oksref_oks", oks_default),
        "/* The same with per-keypoint sigmas and a margin. */\n",
        c_array("oksref_sigmas", PER_KEYPOINT_SIGMAS),
        "static const double oksref_margin = %s;\n" % c_double(MARGIN),
        c_array("oksref_oks_custom", oks_custom),
        "/* evaluate_assembly (TensorFlow engine), compute_oks (PyTorch engine). */\n",
        "static const double oksref_tf_map = %s, oksref_tf_mar = %s;\n" % (c_double(tf_map), c_double(tf_mar)),
        "static const double oksref_tf_map_custom = %s, oksref_tf_mar_custom = %s;\n"
        % (c_double(tf_map_c), c_double(tf_mar_c)),
        "static const double oksref_pt_map = %s, oksref_pt_mar = %s;\n"
        % (c_double(pt_map), c_double(pt_mar)),
        "/* compute_rmse and compute_detection_rmse with pcutoff. */\n",
        "static const double oksref_pcutoff = %s;\n" % c_double(PCUTOFF),
        "static const double oksref_rmse = %s, oksref_rmse_pcutoff = %s;\n" % (c_double(rmse), c_double(rmse_cut)),
        "static const double oksref_det_rmse = %s, oksref_det_rmse_pcutoff = %s;\n"
        % (c_double(det), c_double(det_cut)),
    ]
    OUT.write_text("".join(out))
    print(f"wrote {OUT}")
    print(f"TF mAP {tf_map:.6f} mAR {tf_mar:.6f}; custom sigmas mAP {tf_map_c:.6f} mAR {tf_mar_c:.6f}")
    print(f"PyTorch mAP {pt_map:.6f} mAR {pt_mar:.6f}")
    print(f"RMSE {rmse:.6f} (pcutoff {rmse_cut:.6f}); detection RMSE {det:.6f} ({det_cut:.6f})")
    print("truth/pred per frame:", [(len(t), len(p)) for t, p in frames])


if __name__ == "__main__":
    main()
