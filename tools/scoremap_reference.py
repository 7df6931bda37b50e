#!/usr/bin/python3
"""Reference score-map / locref targets, computed the way DeepLabCut's TensorFlow loaders do, for
tests/test_scoremap.c: writes tests/fixtures/scoremap_reference.safetensors and prints the hand case.

Plain numpy (/usr/bin/python3 tools/scoremap_reference.py). The two target functions below follow,
operation for operation, compute_target_part_scoremap_numpy and compute_scmap_weights of
deeplabcut/pose_estimation_tensorflow/datasets/pose_imgaug.py (single animal) and
pose_multianimal_imgaug.py (maDLC), including their bounding box in score-map cells and Python's /
numpy's round-half-to-even. Arrays are stored channel-first (C, H, W) as f32, as dlcc holds them.
"""
import json
import pathlib
import struct
import sys

import numpy as np

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def weights_of(cfg, shape, present_ids):
    """compute_scmap_weights: ones, or only the channels of the joints given."""
    if not cfg["weigh_only_present_joints"]:
        return np.ones(shape)
    weights = np.zeros(shape)
    for j_id in present_ids:
        weights[:, :, j_id] = 1.0
    return weights


def single_animal_targets(cfg, ids, coords, size, scale, use_box=True):
    """pose_imgaug: one joint at a time, a float half stride, Python's round() for the box."""
    stride = cfg["stride"]
    half_stride = stride / 2
    locref_scale = 1.0 / cfg["locref_stdev"]
    dist_thresh = float(cfg["pos_dist_thresh"] * scale)
    dist_thresh_sq = dist_thresh**2
    height, width = size
    n = cfg["num_joints"]
    scmap = np.zeros((height, width, n))
    locref_mask = np.zeros((height, width, 2 * n))
    locref_map = np.zeros((height, width, 2 * n))
    rows, cols = np.mgrid[:height, :width]
    for j_id, (j_x, j_y) in zip(ids, coords):
        j_x, j_y = float(j_x), float(j_y)
        x_sm = round((j_x - half_stride) / stride)
        y_sm = round((j_y - half_stride) / stride)
        min_x = round(max(x_sm - dist_thresh - 1, 0))
        max_x = round(min(x_sm + dist_thresh + 1, width - 1))
        min_y = round(max(y_sm - dist_thresh - 1, 0))
        max_y = round(min(y_sm + dist_thresh + 1, height - 1))
        dx = j_x - cols * stride - half_stride
        dy = j_y - rows * stride - half_stride
        inside = dx**2 + dy**2 <= dist_thresh_sq
        if use_box:
            inside &= (cols >= min_x) & (cols <= max_x) & (rows >= min_y) & (rows <= max_y)
        scmap[inside, j_id] = 1
        locref_mask[inside, 2 * j_id] = 1
        locref_mask[inside, 2 * j_id + 1] = 1
        locref_map[inside, 2 * j_id] = (dx * locref_scale)[inside]
        locref_map[inside, 2 * j_id + 1] = (dy * locref_scale)[inside]
    return scmap, weights_of(cfg, scmap.shape, ids), locref_map, locref_mask


def multi_animal_targets(cfg, ids, coords, size, scale, use_box=True):
    """pose_multianimal_imgaug: all joints at once, an integer half stride (stride // 2), np.round
    for the box, and a locref mask of ones everywhere unless weigh_only_present_joints."""
    stride = cfg["stride"]
    half_stride = stride // 2
    locref_scale = 1.0 / cfg["locref_stdev"]
    dist_thresh = float(cfg["pos_dist_thresh"] * scale)
    dist_thresh_sq = dist_thresh**2
    height, width = size
    n = cfg["num_joints"]
    scmap = np.zeros((height, width, n))
    locref_map = np.zeros((height, width, 2 * n))
    present_only = cfg["weigh_only_present_joints"]
    locref_mask = np.zeros((height, width, 2 * n)) if present_only else np.ones((height, width, 2 * n))
    grid = np.mgrid[:height, :width].transpose((1, 2, 0))
    xx = grid[..., 1][..., None]
    yy = grid[..., 0][..., None]
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    coords_sm = np.round((coords - half_stride) / stride).astype(int)
    mins = np.round(np.maximum(coords_sm - dist_thresh - 1, 0)).astype(int)
    maxs = np.round(np.minimum(coords_sm + dist_thresh + 1, [width - 1, height - 1])).astype(int)
    dx = coords[:, 0] - xx * stride - half_stride
    dy = coords[:, 1] - yy * stride - half_stride
    inside = dx**2 + dy**2 <= dist_thresh_sq
    if use_box:
        inside &= (xx >= mins[:, 0]) & (xx <= maxs[:, 0]) & (yy >= mins[:, 1]) & (yy <= maxs[:, 1])
    for k, j_id in enumerate(ids):
        cell = inside[..., k]
        scmap[cell, j_id] = 1
        if present_only:
            locref_mask[cell, 2 * j_id] = 1.0
            locref_mask[cell, 2 * j_id + 1] = 1.0
        locref_map[cell, 2 * j_id] = (dx * locref_scale)[cell, k]
        locref_map[cell, 2 * j_id + 1] = (dy * locref_scale)[cell, k]
    return scmap, weights_of(cfg, scmap.shape, ids), locref_map, locref_mask


def write_safetensors(path, tensors, metadata):
    """safetensors: 8-byte little-endian header length, JSON header (padded to 8), raw f32 data."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    tmp.replace(path)


def random_joints(rng, ids, image_w, image_h):
    """Joints strictly inside the image (as the loaders keep them), at f32-exact coordinates."""
    xy = rng.uniform([0.5, 0.5], [image_w - 0.5, image_h - 0.5], size=(len(ids), 2))
    return [(j, float(np.float32(x)), float(np.float32(y))) for j, (x, y) in zip(ids, xy)]


def make_cases(rng):
    """(name, cfg, map width, map height, scale, [(id, x, y)], multianimal)"""
    base = dict(stride=8, pos_dist_thresh=17, locref_stdev=7.2801)
    cases = []
    # single animal: ids 0,1,3,4 of 5 (2 absent), one joint on a half-cell tie (x = 40: (40-4)/8 =
    # 4.5, rounds to 4), one near the top-left corner; odd map sizes
    joints = random_joints(rng, [0, 1, 3], 13 * 8 - 3, 11 * 8 - 5) + [(4, 40.0, 1.75)]
    cases.append(("single", dict(base, num_joints=5, weigh_only_present_joints=False), 13, 11,
                  float(rng.uniform(0.4, 1.0)), joints, False))
    joints = random_joints(rng, [4, 1], 9 * 8, 7 * 8)
    cases.append(("single_present", dict(base, num_joints=5, weigh_only_present_joints=True), 9, 7,
                  float(rng.uniform(0.4, 1.0)), joints, False))
    joints = random_joints(rng, [0, 2], 20 * 4, 15 * 4)
    cases.append(("single_stride4", dict(base, stride=4, num_joints=3, weigh_only_present_joints=False), 20, 15,
                  float(rng.uniform(0.4, 1.0)), joints, False))
    # maDLC: 3 animals x 4 parts, animal 3 without part 2; animal 2's part 0 a few pixels from
    # animal 1's so the windows overlap (the later one's locref wins there)
    for name, present_only in (("multi", False), ("multi_present", True)):
        joints = []
        for animal in range(3):
            joints += random_joints(rng, [0, 1, 2, 3] if animal < 2 else [0, 1, 3], 14 * 8 - 2, 10 * 8 - 6)
        joints[4] = (0, joints[0][1] + 5.25, joints[0][2] - 3.5)
        cases.append((name, dict(base, num_joints=4, weigh_only_present_joints=present_only), 14, 10,
                      float(rng.uniform(0.4, 1.0)), joints, True))
    return cases


def print_hand_case():
    """The case test_scoremap_hand_case_lists_each_positive_cell checks: stride 8, pos_dist_thresh
    17, scale 1, one joint at (37.2, 21.9) on a 10 x 8 map."""
    cfg = dict(stride=8, pos_dist_thresh=17, locref_stdev=7.2801, num_joints=1, weigh_only_present_joints=False)
    scmap, _, locref, _ = single_animal_targets(cfg, [0], [(37.2, 21.9)], (8, 10), 1.0)
    for y, x in zip(*np.nonzero(scmap[..., 0])):
        print(f"  (x={x}, y={y}): dx/stdev={locref[y, x, 0]:.9f} dy/stdev={locref[y, x, 1]:.9f}")


def print_box_case():
    """The case test_scoremap_dlc_box_clips_only_below_stride_one_rounding_half_to_even checks: the
    box only bites when stride < 1; the second joint sits on a rounding tie (8.5 -> 8)."""
    cfg = dict(stride=0.25, pos_dist_thresh=2, locref_stdev=7.2801, num_joints=1, weigh_only_present_joints=False)
    for joint in ((2.125, 2.125), (2.25, 2.125)):
        with_box = single_animal_targets(cfg, [0], [joint], (20, 20), 1.0)[0][..., 0]
        without = single_animal_targets(cfg, [0], [joint], (20, 20), 1.0, use_box=False)[0][..., 0]
        ys, xs = np.nonzero(with_box)
        print(f"  joint {joint}: {int(with_box.sum())} positive cells (without the box {int(without.sum())}), "
              f"columns {xs.min()}..{xs.max()}, rows {ys.min()}..{ys.max()}")


def main():
    print("hand case, positive cells:")
    print_hand_case()
    print("stride 0.25, pos_dist_thresh 2:")
    print_box_case()
    rng = np.random.default_rng(20240620)
    tensors, metadata = {}, {}
    for name, cfg, width, height, scale, joints, multi in make_cases(rng):
        ids = [j for j, _, _ in joints]
        coords = [(x, y) for _, x, y in joints]
        targets = multi_animal_targets if multi else single_animal_targets
        outputs = targets(cfg, ids, coords, (height, width), scale)
        without_box = targets(cfg, ids, coords, (height, width), scale, use_box=False)
        box_matters = any(not np.array_equal(a, b) for a, b in zip(outputs, without_box))
        positives = int(outputs[0].sum())
        print(f"{name}: scale {scale!r}, {len(joints)} joints, {positives} positive cells, "
              f"bounding box changes the result: {box_matters}")
        metadata[name] = (f"num_joints={cfg['num_joints']} stride={cfg['stride']} "
                          f"pos_dist_thresh={cfg['pos_dist_thresh']} scale={scale!r} "
                          f"locref_stdev={cfg['locref_stdev']!r} "
                          f"weigh_only_present_joints={int(cfg['weigh_only_present_joints'])} "
                          f"multianimal={int(multi)} width={width} height={height}")
        tensors[f"{name}.joints"] = np.array(joints, dtype=np.float64)
        for key, array in zip(("scoremap", "weights", "locref", "locref_mask"), outputs):
            tensors[f"{name}.{key}"] = array.transpose(2, 0, 1)
    path = FIXTURES / "scoremap_reference.safetensors"
    write_safetensors(path, tensors, metadata)
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
