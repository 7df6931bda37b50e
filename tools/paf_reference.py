#!/usr/bin/python3
"""Reference part-affinity-field targets, computed the way DeepLabCut's TensorFlow maDLC loader does,
for tests/test_targets_paf.c: prints the band cells of one small case as a C initializer.

Plain numpy (/usr/bin/python3 tools/paf_reference.py). paf_targets() follows, operation for
operation, the PAF part of compute_target_part_scoremap_numpy in
deeplabcut/pose_estimation_tensorflow/datasets/pose_multianimal_imgaug.py (DeepLabCut 3.0.1):
HWC arrays, joints as one flat coordinate array plus one id array per animal, the first joint of an
id per animal, limbs of zero length skipped, later animals written over earlier ones. One
departure: DeepLabCut marks the mask with mask[band, [2l, 2l + 1]] = 1, which numpy cannot
broadcast unless the band has 1 or 2 cells (IndexError; with 2 cells one cell per channel), so
with weigh_only_present_joints its own code cannot run on this case; here both channels are
marked on every band cell, as its gaussian_scmap variant writes them (and as dlcc does).
"""
from math import sqrt

import numpy as np


def paf_targets(graph, pafwidth, stride, weigh_only_present_joints, joint_id, coords, size, scale):
    """(paf, mask), each (height, width, 2 * len(graph)); joint_id: one id array per animal,
    coords: all animals' joints, animal after animal."""
    height, width = size
    half_stride = stride // 2
    shape = (height, width, 2 * len(graph))
    paf = np.zeros(shape)
    mask_out = np.zeros(shape) if weigh_only_present_joints else np.ones(shape)
    grid = np.mgrid[:height, :width].transpose((1, 2, 0))
    y, x = np.rollaxis(grid * stride + half_stride, 2)
    offset = 0
    for ids in joint_id:
        ids = list(ids)
        if len(ids) >= 2:
            for l, (bp1, bp2) in enumerate(graph):
                if bp1 not in ids or bp2 not in ids:
                    continue
                ax, ay = coords[ids.index(bp1) + offset]
                bx, by = coords[ids.index(bp2) + offset]
                length = sqrt((bx - ax) ** 2 + (by - ay) ** 2)
                if not length > 0:
                    continue
                dx, dy = (bx - ax) / length, (by - ay) / length
                ends = [dx * ax + dy * ay, dx * bx + dy * by]
                mid = ay * dx - ax * dy
                along = dx * x + dy * y
                across = ((y * dx - x * dy) - mid) * 1.0 / pafwidth * scale
                inside = (along >= min(ends)) & (along <= max(ends)) & (np.abs(across) <= 1)
                fade = 1 - np.abs(across)[inside]
                if weigh_only_present_joints:
                    mask_out[inside, 2 * l] = 1.0
                    mask_out[inside, 2 * l + 1] = 1.0
                paf[inside, 2 * l] = dx * fade
                paf[inside, 2 * l + 1] = dy * fade
        offset += len(ids)
    return paf, mask_out


# The case of test_paf_matches_deeplabcut_numpy_reference: three animals, animal 1 lacking joint 2
# (its joints listed out of order), animal 2 with one joint; limb 3 is limb 2 reversed.
GRAPH = [(0, 1), (1, 2), (0, 2), (2, 0)]
ANIMALS = [
    [(0, 13.7, 9.2), (1, 41.3, 30.6), (2, 22.5, 38.1)],
    [(1, 50.9, 27.7), (0, 30.2, 12.4)],
    [(2, 60.0, 44.0)],
]
STRIDE, PAFWIDTH, SCALE, WIDTH, HEIGHT = 8, 8, 0.8, 8, 6


def main():
    joint_id = [np.array([j[0] for j in animal]) for animal in ANIMALS]
    coords = np.array([[j[1], j[2]] for animal in ANIMALS for j in animal])
    paf, mask = paf_targets(GRAPH, PAFWIDTH, STRIDE, True, joint_id, coords, (HEIGHT, WIDTH), SCALE)
    rows = []
    for l in range(len(GRAPH)):
        for r in range(HEIGHT):
            for c in range(WIDTH):
                assert mask[r, c, 2 * l] == mask[r, c, 2 * l + 1]
                if mask[r, c, 2 * l]:
                    rows.append((l, c, r, paf[r, c, 2 * l], paf[r, c, 2 * l + 1]))
    print(f"/* {len(rows)} band cells: limb, x, y, paf x, paf y */")
    for l, c, r, px, py in rows:
        print(f"{{{l}, {c}, {r}, {px:.9f}, {py:.9f}}},")


if __name__ == "__main__":
    main()
