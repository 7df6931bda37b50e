#!/usr/bin/python3
"""The PyTorch yardstick for dlcc's accuracy (issue #4): trains the network `dlcc train` trains on a
shuffle of a single-animal DeepLabCut project, the same way, then scores it as `dlcc evaluate` does.

    /usr/bin/python3 bench/openfield_torch.py PROJECT [--shuffle K] [--iters N] [--threads T] [--seed S]

It reads what `dlcc create-training-dataset` wrote for the shuffle (train/pose_cfg.yaml, the training
set JSON, the Documentation_data split, the merged CollectedData CSV) and follows dlcc's recipe:
tools/torch_pose_nets.py's networks with dlcc's random initialisation, batches as src/train/loader.c
and src/augment/batch.c make them (batch_size images drawn with replacement, one scale per batch,
per-image mirror and rotation, then resized to the batch's size), tools/scoremap_reference.py's
targets, src/nn/loss.c's losses (TensorFlow's SUM_BY_NONZERO_WEIGHTS reduction), SGD with momentum 0.9
(or Adam) on multi_step's rates for iterations 0..N, batch norm as src/train/trainer.c chooses it from
random weights. Evaluation predicts every labeled image at native size (arg-max plus locref, as
src/infer/predict_single.c) and prints DeepLabCut's train and test errors in one line:

    pytorch <net> <iters> iters batch <B>: train <x> px, test <y> px, <r> img/s, <w> s

(<r> and <w>: training images per second and seconds of training). Not a test: it checks nothing.
bench/openfield_accuracy.sh runs it next to dlcc; see docs/accuracy.md.
"""
import argparse
import concurrent.futures
import json
import math
import pathlib
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from PIL import Image

TOOLS = pathlib.Path(__file__).resolve().parent.parent / "tools"
sys.path.insert(0, str(TOOLS))
import scoremap_reference  # noqa: E402
import torch_pose_nets  # noqa: E402

# pose_cfg keys dlcc fills in when the file leaves them out (src/project/posecfg_keys.c).
POSE_CFG_DEFAULTS = {"stride": 8.0, "optimizer": "sgd", "mirror": False, "apply_prob": 0.5, "rotation": 0,
                     "rotratio": 0.0, "scale_jitter_lo": 1.0, "scale_jitter_up": 1.0, "global_scale": 1.0,
                     "weigh_only_present_joints": False, "regularize": False, "weight_decay": 0.0001,
                     "min_input_size": 64, "max_input_size": 1500, "location_refinement": True,
                     "locref_huber_loss": True, "locref_loss_weight": 0.05, "locref_stdev": 7.2801,
                     "pos_dist_thresh": 17.0, "intermediate_supervision": False, "batch_size": 1}
SIZE_TRIES = 9          # src/augment/batch.h: DLCC_AUG_SIZE_TRIES draws of the batch's scale
SGD_MOMENTUM = 0.9      # TensorFlow's ApplyMomentum as DeepLabCut uses it
ADAM = dict(betas=(0.9, 0.999), eps=1e-8)  # tf.train.AdamOptimizer's defaults (src/nn/optimizer.h)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("project", help="the project's folder or its config.yaml")
    p.add_argument("--shuffle", type=int, default=1)
    p.add_argument("--trainingsetindex", type=int, default=0)
    p.add_argument("--iters", type=int, default=0, help="last iteration (default: multi_step's last)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    p.add_argument("--seed", type=int, default=None, help="default: the shuffle number, as dlcc train")
    p.add_argument("--display-iters", type=int, default=0, help="loss line every D iterations (default: pose_cfg's)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p.parse_args()


# ---- the shuffle's files (src/project/layout.c) ----

def find_shuffle(project, shuffle, trainingsetindex):
    """(project root, pose_cfg dict, training-set entries, split dict, merged labels) of the shuffle."""
    config_path = pathlib.Path(project)
    if config_path.is_dir():
        config_path = config_path / "config.yaml"
    root = config_path.resolve().parent
    cfg = yaml.safe_load(config_path.read_text())
    fraction = cfg["TrainingFraction"][trainingsetindex]
    pct = int(100.0 * fraction)
    model_dir = root / f"dlc-models/iteration-{cfg['iteration']}/{cfg['Task']}{cfg['date']}-trainset{pct}shuffle{shuffle}"
    pose_cfg_path = model_dir / "train" / "pose_cfg.yaml"
    if not pose_cfg_path.is_file():
        sys.exit(f"openfield_torch.py: {pose_cfg_path} does not exist: run dlcc create-training-dataset "
                 f"{config_path} --shuffle {shuffle} first")
    pose_cfg = dict(POSE_CFG_DEFAULTS)
    pose_cfg.update({k: v for k, v in yaml.safe_load(pose_cfg_path.read_text()).items() if v is not None})
    dataset = json.loads((root / pose_cfg["dataset"]).read_text())
    if dataset.get("format") != "dlcc training set 1" or dataset.get("multianimal"):
        sys.exit(f"openfield_torch.py: {pose_cfg['dataset']} is not a single-animal dlcc training set")
    split = json.loads((root / pose_cfg["metadataset"]).read_text())
    labels_path = (root / pose_cfg["dataset"]).parent / f"CollectedData_{cfg['scorer']}.csv"
    return root, pose_cfg, pose_cfg_path, dataset["images"], split, read_labels(labels_path)


def read_labels(path):
    """DeepLabCut's single-animal CollectedData CSV: (row names, body part of each column, N x C x 2)."""
    lines = [line.rstrip("\n").split(",") for line in path.read_text().splitlines() if line.strip()]
    header = {row[0]: row[1:] for row in lines[:3]}
    if "individuals" in header or "coords" not in header:
        sys.exit(f"openfield_torch.py: {path} is not a single-animal table (scorer, bodyparts, coords rows)")
    coords = header["coords"]
    bodyparts = header["bodyparts"][::2]
    if coords[::2] != ["x"] * len(bodyparts) or coords[1::2] != ["y"] * len(bodyparts):
        sys.exit(f"openfield_torch.py: {path}: expected x, y column pairs")
    names, values = [], []
    for row in lines[3:]:
        names.append(row[0])
        values.append([float(v) if v.strip() else math.nan for v in row[1:]])
    return names, bodyparts, np.array(values, dtype=np.float64).reshape(len(names), len(bodyparts), 2)


def load_rgb(path):
    """8-bit RGB, as src/image/image.c hands images over (gray copied, alpha dropped, 16-bit cut)."""
    with Image.open(path) as img:
        if img.mode in ("I;16", "I;16B", "I"):
            img = Image.fromarray((np.asarray(img, dtype=np.uint32) >> 8).astype(np.uint8))
        return np.asarray(img.convert("RGB"), dtype=np.uint8)


# ---- batches (src/train/loader.c, src/augment/batch.c) ----

def scaled_length(length, factor):
    exact = length * factor
    return max(1, int(math.ceil(exact - 1e-9 * exact)))


def size_ok(cfg, width, height):
    area = float(width) * height
    return cfg["min_input_size"] ** 2 <= area <= cfg["max_input_size"] ** 2


def rotate_bilinear(img, degrees):
    """src/augment/affine.c: each output pixel blends the 4 source pixels around where the inverse
    rotation about the centre sends it; outside pixels are black; rounded by +0.5 and truncation."""
    h, w = img.shape[:2]
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    a = math.radians(degrees)
    s, c = math.sin(a), math.cos(a)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    dx, dy = xs - cx, ys - cy
    sx, sy = cx + c * dx + s * dy, cy - s * dx + c * dy
    x0, y0 = np.floor(sx), np.floor(sy)
    ax, ay = sx - x0, sy - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    out = np.zeros((h, w, 3), np.float64)
    for kx, ky, weight in ((0, 0, (1 - ax) * (1 - ay)), (1, 0, ax * (1 - ay)), (0, 1, (1 - ax) * ay),
                           (1, 1, ax * ay)):
        px, py = x0 + kx, y0 + ky
        ok = (px >= 0) & (py >= 0) & (px < w) & (py < h)
        out += np.where(ok[..., None], img[np.clip(py, 0, h - 1), np.clip(px, 0, w - 1)], 0) * weight[..., None]
    return np.minimum(out + 0.5, 255).astype(np.uint8)


def rotate_point(x, y, degrees, w, h):
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    a = math.radians(degrees)
    s, c = math.sin(a), math.cos(a)
    dx, dy = x - cx, y - cy
    return cx + c * dx - s * dy, cy + s * dx + c * dy


class Batches:
    """Batch k is a function of (seed, k) only, as in dlcc's loader; images are decoded once."""

    def __init__(self, cfg, root, entries, seed):
        self.cfg, self.seed = cfg, seed
        self.images = [load_rgb(root / e["image"]) for e in entries]
        self.joints = [[(int(j), float(x), float(y)) for animal in e["joints"] for j, x, y in animal
                        if math.isfinite(x) and math.isfinite(y)] for e in entries]
        self.target_cfg = {k: cfg[k] for k in ("stride", "locref_stdev", "pos_dist_thresh", "num_joints",
                                               "weigh_only_present_joints")}

    def choose_size(self, rng, picks):
        cfg = self.cfg
        for _ in range(SIZE_TRIES):
            scale = cfg["global_scale"] * (cfg["scale_jitter_lo"] +
                                           (cfg["scale_jitter_up"] - cfg["scale_jitter_lo"]) * rng.random())
            h, w = self.images[picks[rng.integers(len(picks))]].shape[:2]
            bw, bh = scaled_length(w, scale), scaled_length(h, scale)
            if size_ok(cfg, bw, bh):
                return bw, bh
        sys.exit(f"openfield_torch.py: no batch size within min/max_input_size after {SIZE_TRIES} draws")

    def sample(self, rng, index, bw, bh):
        """One frame: mirror, rotate, resize; its joints through the same maps, kept when inside."""
        cfg = self.cfg
        img = self.images[index]
        h, w = img.shape[:2]
        mirrored = bool(cfg["mirror"]) and rng.random() < cfg["apply_prob"]
        rotation = 0.0
        if cfg["rotation"] > 0 and rng.random() < cfg["rotratio"]:
            rotation = cfg["rotation"] * (2.0 * rng.random() - 1.0)
        if mirrored:
            img = img[:, ::-1]
        if rotation != 0:
            img = rotate_bilinear(img, rotation)
        if (w, h) != (bw, bh):
            img = np.asarray(Image.fromarray(np.ascontiguousarray(img)).resize((bw, bh), Image.BICUBIC))
        ids, coords = [], []
        for j, x, y in self.joints[index]:
            if mirrored:
                x = (w - 1) - x
            if rotation != 0:
                x, y = rotate_point(x, y, rotation, w, h)
            x, y = (x + 0.5) * bw / w - 0.5, (y + 0.5) * bh / h - 0.5
            if -0.5 < x < bw - 0.5 and -0.5 < y < bh - 0.5:
                ids.append(j)
                coords.append((x, y))
        return img, ids, coords, min(bw / w, bh / h)

    def make(self, k):
        rng = np.random.default_rng([self.seed, k])
        n = self.cfg["batch_size"]
        picks = rng.integers(len(self.images), size=n)
        bw, bh = self.choose_size(rng, picks)
        stride = self.cfg["stride"]
        map_w, map_h = int(math.ceil(bw / (stride * 2)) * 2), int(math.ceil(bh / (stride * 2)) * 2)
        pixels, score, weights, locref, mask = [], [], [], [], []
        for index in picks:
            img, ids, coords, scale = self.sample(rng, index, bw, bh)
            pixels.append(np.asarray(img, np.float32).transpose(2, 0, 1))
            s, wt, lr, lm = scoremap_reference.single_animal_targets(self.target_cfg, ids, coords, (map_h, map_w),
                                                                     scale)
            for out, a in ((score, s), (weights, wt), (locref, lr), (mask, lm)):
                out.append(np.asarray(a, np.float32).transpose(2, 0, 1))
        return tuple(torch.from_numpy(np.stack(a)) for a in (pixels, score, weights, locref, mask))


# ---- training ----

def learning_rate(cfg, iteration):
    """pose_cfg's multi_step: the rate of the first step whose last iteration is not passed yet."""
    for lr, until in cfg["multi_step"]:
        if iteration <= until:
            return lr
    return cfg["multi_step"][-1][0]


def weighted_mean(per_element, weights, factor=1.0):
    """tf.losses' SUM_BY_NONZERO_WEIGHTS: sum(w * l) / count(w != 0), 0 when no weight is."""
    present = torch.count_nonzero(weights)
    if present == 0:
        return per_element.sum() * 0.0
    return (per_element * weights).sum() * (factor / present)


def losses(cfg, out, score, weights, locref, mask):
    part = weighted_mean(F.binary_cross_entropy_with_logits(out["part_pred"], score, reduction="none"), weights)
    total, loc = part, torch.zeros(())
    if cfg["location_refinement"]:
        if cfg["locref_huber_loss"]:
            per = F.huber_loss(out["locref"], locref, reduction="none", delta=1.0)
        else:
            per = (out["locref"] - locref) ** 2
        loc = weighted_mean(per, mask, cfg["locref_loss_weight"])
        total = total + loc
    return total, part, loc


def make_optimizer(cfg, model):
    """dlcc's optimizer: weight decay (when regularize) on convolution and head weights only."""
    decayed = [p for p in model.parameters() if p.dim() == 4]
    others = [p for p in model.parameters() if p.dim() != 4]
    wd = cfg["weight_decay"] if cfg["regularize"] else 0.0
    groups = [{"params": decayed, "weight_decay": wd}, {"params": others, "weight_decay": 0.0}]
    if cfg["optimizer"] == "adam":
        return torch.optim.Adam(groups, lr=learning_rate(cfg, 0), **ADAM)
    return torch.optim.SGD(groups, lr=learning_rate(cfg, 0), momentum=SGD_MOMENTUM)


def train(cfg, model, batches, last, display, quiet):
    model.train()  # batch statistics: MobileNetV2 always, ResNets from random weights (trainer.c)
    opt = make_optimizer(cfg, model)
    images, window, start = 0, [], time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(batches.make, 0)
        for it in range(last + 1):
            pixels, score, weights, locref, mask = pending.result()
            if it < last:
                pending = pool.submit(batches.make, it + 1)
            for g in opt.param_groups:
                g["lr"] = learning_rate(cfg, it)
            total, part, loc = losses(cfg, model(pixels), score, weights, locref, mask)
            if not torch.isfinite(total):
                sys.exit(f"openfield_torch.py: the loss is {total.item()} at iteration {it}: training diverged")
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            images += pixels.shape[0]
            window.append((total.item(), part.item(), loc.item()))
            if not quiet and it > 0 and it % display == 0:
                mean = np.mean(window, axis=0)
                print(f"iteration: {it} loss: {mean[0]:.4f} scmap loss: {mean[1]:.4f} locref loss: {mean[2]:.4f} "
                      f"lr: {learning_rate(cfg, it):g}", file=sys.stderr)
                window = []
    seconds = time.perf_counter() - start
    return images / seconds, seconds


# ---- evaluation (src/eval/evaluate.c, src/infer/predict_single.c, src/eval/errors.c) ----

@torch.no_grad()
def predict(cfg, model, img):
    """(J x 2) keypoints of one image at native size: arg-max of the sigmoid (first on ties) plus the
    locref offset, in f32 as dlcc computes it."""
    out = model(torch.from_numpy(np.asarray(img, np.float32).transpose(2, 0, 1)).unsqueeze(0))
    logits = out["part_pred"][0].numpy()
    joints, map_h, map_w = logits.shape
    with np.errstate(over="ignore"):  # exp overflows to inf for logits below -88: the sigmoid is 0, as expf's
        probs = (np.float32(1) / (np.float32(1) + np.exp(-logits))).reshape(joints, -1)
    best = probs.argmax(axis=1)
    cy, cx = best // map_w, best % map_w
    stride = cfg["stride"]
    xy = np.stack([cx * stride + 0.5 * stride, cy * stride + 0.5 * stride], axis=1).astype(np.float64)
    if cfg["location_refinement"]:
        loc = out["locref"][0].numpy().reshape(joints, 2, -1)
        stdev = np.float32(cfg["locref_stdev"])
        xy[:, 0] += loc[np.arange(joints), 0, best] * stdev
        xy[:, 1] += loc[np.arange(joints), 1, best] * stdev
    return xy


def evaluate(cfg, model, root, split, labels):
    """DeepLabCut's train and test errors: np.nanmean of the distances over the split's rows and every
    labeled column (unlabeled ones are NaN)."""
    names, bodyparts, values = labels
    joint_of = [cfg["all_joints_names"].index(b) for b in bodyparts]
    model.eval()
    dist = np.empty(values.shape[:2])
    for row, name in enumerate(names):
        xy = predict(cfg, model, load_rgb(root / name))[joint_of]
        dist[row] = np.sqrt(((values[row] - xy) ** 2).sum(axis=1))
    for key, names_key in (("train_indices", "train_images"), ("test_indices", "test_images")):
        listed = split.get(names_key)
        if listed is not None and listed != [names[i] for i in split[key]]:
            sys.exit(f"openfield_torch.py: the split's {names_key} do not match the merged labels' rows")
    return tuple(float(np.nanmean(dist[split[key]])) for key in ("train_indices", "test_indices"))


def main():
    a = parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    seed = a.seed if a.seed is not None else a.shuffle
    root, cfg, pose_cfg_path, entries, split, labels = find_shuffle(a.project, a.shuffle, a.trainingsetindex)
    if cfg.get("multi_step") in (None, []):
        sys.exit(f"openfield_torch.py: {pose_cfg_path} has no multi_step")
    if cfg["stride"] != 8 or cfg["intermediate_supervision"]:
        sys.exit(f"openfield_torch.py: {pose_cfg_path}: only stride 8 without intermediate supervision is done here")
    last = cfg["multi_step"][-1][1]
    if a.iters > 0:
        last = min(a.iters, last)
    net_type = cfg["net_type"]
    torch.manual_seed(seed)
    model = torch_pose_nets.make_pose_net(net_type, cfg["num_joints"], cfg["location_refinement"])
    torch_pose_nets.init_like_dlcc(model)
    batches = Batches(cfg, root, entries, seed)
    if not a.quiet:
        print(f"openfield_torch: PyTorch {torch.__version__}, {torch.get_num_threads()} threads; {net_type} from "
              f"random weights (seed {seed}), {len(entries)} training images, iterations 0 to {last}, batch "
              f"{cfg['batch_size']}, {cfg['optimizer']}, multi_step {cfg['multi_step']}", file=sys.stderr)
    display = a.display_iters if a.display_iters > 0 else int(cfg.get("display_iters") or 1000)
    rate, seconds = train(cfg, model, batches, last, display, a.quiet)
    train_err, test_err = evaluate(cfg, model, root, split, labels)
    print(f"pytorch {net_type} {last} iters batch {cfg['batch_size']}: train {train_err:.2f} px, test {test_err:.2f} "
          f"px, {rate:.2f} img/s, {seconds:.0f} s")


if __name__ == "__main__":
    main()
