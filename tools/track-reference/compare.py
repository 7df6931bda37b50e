#!/usr/bin/python3
# Runs random multi-animal data through DeepLabCut's own trackers and TrackletStitcher (loaded from
# a DeepLabCut checkout by dlc_code.py) and through dlcc's (small drivers built here against src/),
# and counts where they agree. Usage, from the repository root, with Debian's python3 (numpy, scipy,
# networkx, pandas, matplotlib):
#   /usr/bin/python3 tools/track-reference/compare.py DEEPLABCUT_CHECKOUT [--seed S] [--trials N]
# Stitching is compared where DeepLabCut's flow problem has a solution, with DeepLabCut's two index
# slips corrected (see stitch.h); where it has none both sides fall back differently, and that is
# counted apart.
import argparse, os, subprocess, sys, tempfile, warnings
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, here)
import dlc_code


def build(tmp):
    srcs = [os.path.join(root, 'src', 'track', f) for f in ('trackers.c', 'mincostflow.c', 'stitch.c')]
    srcs += [os.path.join(root, 'src', 'util', f) for f in ('assignment.c', 'error.c')]
    exes = {}
    for name in ('trackdrv', 'stitchdrv'):
        exe = os.path.join(tmp, name)
        subprocess.run(['cc', '-O1', '-std=c11', '-D_DEFAULT_SOURCE', '-I', os.path.join(root, 'src'),
                        os.path.join(here, name + '.c'), *srcs, '-lm', '-o', exe], check=True)
        exes[name] = exe
    return exes


def random_frames(rng, n_frames, nj):
    n_an = rng.integers(1, 5)
    pos = rng.uniform(50, 400, size=(n_an, 2)); vel = rng.normal(0, 4, size=(n_an, 2))
    shape = rng.normal(0, 15, size=(n_an, nj, 2))
    frames = []
    for f in range(n_frames):
        pos += vel; vel += rng.normal(0, 0.5, size=vel.shape)
        animals = []
        for a in range(n_an):
            if rng.random() < 0.15: continue
            pose = np.concatenate([pos[a] + shape[a] + rng.normal(0, 1.5, size=(nj, 2)), rng.uniform(0.2, 1, size=(nj, 1))], 1)
            drop = rng.random(nj) < 0.1
            if (~drop).sum() >= 3: pose[drop, :2] = np.nan   # DeepLabCut mixes up animals without an ellipse
            animals.append(pose)
        if rng.random() < 0.05:
            animals.append(np.concatenate([rng.uniform(0, 500, size=(1, 2)) + rng.normal(0, 10, size=(nj, 2)), np.ones((nj, 1))], 1))
        frames.append([animals[i] for i in rng.permutation(len(animals))])
    return frames


def compare_trackers(tu, exe, rng, trials):
    agree = 0
    for _ in range(trials):
        nj = int(rng.integers(3, 7)); frames = random_frames(rng, int(rng.integers(5, 60)), nj)
        method = int(rng.integers(0, 2)); max_age = int(rng.integers(0, 4)); min_hits = int(rng.integers(0, 4))
        thr = float(rng.choice([0.1, 0.3, 0.6])); slack = float(rng.choice([0, 10]))
        tracker = tu.SORTBox(max_age, min_hits, thr) if method == 0 else tu.SORTEllipse(max_age, min_hits, thr)
        expected, lines = [], [str(nj)]
        for f, animals in enumerate(frames):
            if not animals: continue
            a = np.stack(animals)
            rows = tracker.track(tu.calc_bboxes_from_keypoints(a, slack) if method == 0 else a[..., :2])
            ids = [-1] * len(a)
            for r in rows:
                tid, pid = r[-2:].astype(int)
                if pid != -1: ids[pid] = tid
            expected.append(f"{f} " + ' '.join(map(str, ids)))
            lines.append(f"{f} {len(a)}")
            lines += [' '.join(repr(float(v)) for v in p.ravel()) for p in a]
        out = subprocess.run([exe, str(method), str(max_age), str(min_hits), str(thr), str(slack)],
                             input='\n'.join(lines), capture_output=True, text=True, check=True).stdout.split('\n')
        agree += [l.strip() for l in out if l.strip()] == expected
    return agree


def random_tracklets(rng, n_an, n_frames, nj):
    pos = rng.uniform(50, 400, size=(n_an, 2)); vel = rng.normal(0, 3, size=(n_an, 2))
    shape = rng.normal(0, 12, size=(n_an, nj, 2))
    traj = np.zeros((n_an, n_frames, nj, 3))
    for f in range(n_frames):
        pos += vel; vel += rng.normal(0, 0.3, size=vel.shape)
        traj[:, f, :, :2] = pos[:, None] + shape + rng.normal(0, 1, size=(n_an, nj, 2))
        traj[:, f, :, 2] = rng.uniform(0.3, 1, size=(n_an, nj))
        traj[:, f][rng.random((n_an, nj)) < 0.1] = np.nan
    pieces = []
    for a in range(n_an):
        f = int(rng.integers(0, 5))
        while f < n_frames:
            run = [g for g in range(f, min(f + int(rng.integers(2, 60)), n_frames)) if rng.random() > 0.03]
            if run: pieces.append({g: traj[a, g].copy() for g in run})
            f = (run[-1] if run else f) + 1 + int(rng.integers(0, 8))
    for _ in range(rng.integers(0, 4)):
        f0 = int(rng.integers(0, n_frames - 3)); p0 = rng.uniform(0, 500, size=2)
        pieces.append({g: np.concatenate([p0 + rng.normal(0, 5, size=(nj, 2)), rng.uniform(0.1, 1, size=(nj, 1))], 1)
                       for g in range(f0, min(f0 + int(rng.integers(1, 4)), n_frames))})
    return {int(i): pieces[k] for i, k in enumerate(rng.permutation(len(pieces)))}


def compare_stitcher(st, exe, rng, trials):
    counts = dict(agree=0, differ=0, no_dlc_flow=0)
    for _ in range(trials):
        nj = int(rng.integers(2, 5)); nf = int(rng.integers(40, 200)); n_an = int(rng.integers(1, 4))
        tl = random_tracklets(rng, n_an, nf, nj)
        n_tracks = int(rng.integers(max(1, n_an - 1), n_an + 2)); ml = int(rng.choice([3, 5, 10]))
        split = bool(rng.random() < 0.8); pre = bool(rng.random() < 0.8); mg = int(rng.choice([0, 0, 5, 20]))
        try:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter('always')
                s = st.TrackletStitcher.from_dict_of_dict({k: dict(v) for k, v in tl.items()}, n_tracks, ml, split, pre)
                s.build_graph(max_gap=mg or None)
                s.stitch()
            if any('black magic' in str(x.message) for x in w):
                counts['no_dlc_flow'] += 1
                continue
        except (ValueError, OSError):
            counts['no_dlc_flow'] += 1
            continue
        lines = [f"{nj} {nf} {n_tracks} {ml} {int(split)} {int(pre)} {mg} {len(tl)}"]
        for k, d in tl.items():
            lines.append(f"{k} {len(d)}")
            lines += [f"{f} " + ' '.join(repr(float(v)) for v in d[f].ravel()) for f in sorted(d)]
        out = subprocess.run([exe], input='\n'.join(lines), capture_output=True, text=True, check=True).stdout.split('\n')
        tracks = {}
        for l in out[1:]:
            if l.strip():
                v = l.split(); tracks.setdefault(int(v[0]), {})[int(v[1])] = np.array([float(x) for x in v[2:]])
        same = not any(tracks.get(k) for k in range(len(s.tracks), n_tracks))
        for k, t in enumerate(s.tracks):
            c = tracks.get(k, {})
            same &= sorted(c) == list(t.inds) and all(np.allclose(c[f], t.data[i].ravel(), equal_nan=True)
                                                      for i, f in enumerate(t.inds))
        counts['agree' if same else 'differ'] += 1
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('dlc'); ap.add_argument('--seed', type=int, default=0); ap.add_argument('--trials', type=int, default=200)
    args = ap.parse_args()
    tu, st = dlc_code.load(args.dlc)
    dlc_code.correct_index_slips(st)
    st.trange = range   # no progress bars
    with tempfile.TemporaryDirectory() as tmp:
        exes = build(tmp)
        rng = np.random.default_rng(args.seed)
        print(f"trackers: {compare_trackers(tu, exes['trackdrv'], rng, args.trials)} of {args.trials} sequences agree")
        print(f"stitching: {compare_stitcher(st, exes['stitchdrv'], rng, args.trials)}")


if __name__ == '__main__':
    main()
