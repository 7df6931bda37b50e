#!/usr/bin/python3
"""Times PyTorch on one job of bench/engine.sh: the same DeepLabCut pose network dlcc builds
(tools/torch_pose_nets.py), the same training step or inference, batch, input size and precision as
bench/bench_engine.c, for a side-by-side figure. Not a test: it measures, it checks nothing.

    /usr/bin/python3 bench/torch_engine.py --net NET --mode train|infer [--dtype f32|bf16] --batch N
        --size WxH [--threads N] [--warmup N] [--iters N] [--min-seconds S] [--seed S]

Prints one line, as bench_engine.c: 'result img_per_s R mean_img_per_s M iters N seconds S others_cpu F
maxrss_kib K' (R from the fastest iteration, F the share of the CPUs other processes used meanwhile).
bf16 is autocast (weights and optimizer in f32), as PyTorch users run it.
"""
import argparse
import contextlib
import os
import pathlib
import resource
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tools"))
import torch_pose_nets  # noqa: E402

# The same numbers as bench_engine.c: openfield's 4 body parts, pose_cfg's first multi_step rate and
# locref_loss_weight (MobileNetV2's batch-norm momentum comes with torch_pose_nets.make_pose_net).
JOINTS = 4
LR = 0.005
LOCREF_WEIGHT = 0.05


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--net", required=True)
    p.add_argument("--mode", required=True, choices=("train", "infer"))
    p.add_argument("--dtype", default="f32", choices=("f32", "bf16"))
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--size", required=True, help="WxH")
    p.add_argument("--threads", type=int, default=0, help="0: PyTorch's default")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--min-seconds", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    a.width, a.height = (int(v) for v in a.size.split("x"))
    return a


def build(net_type):
    """The network with dlcc's initialisation (tools/torch_pose_nets.py's init_like_dlcc) and, for
    ResNets, torchvision's zero_init_residual, as bench_engine.c does (frozen batch norm on random
    weights otherwise overflows within a step)."""
    try:
        model = torch_pose_nets.make_pose_net(net_type, JOINTS)
    except ValueError as e:
        sys.exit(f"torch_engine.py: {e}")
    return torch_pose_nets.init_like_dlcc(model, zero_init_residual=True)


def machine_busy_seconds():
    """CPU seconds the machine spent busy (user, system, interrupts, steal), as bench_engine.c counts."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    t = os.times()
    return t.user + t.system


def main():
    a = parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = build(a.net)
    # DeepLabCut's TensorFlow engine trains ResNets with frozen batch norm (running statistics, scale
    # and shift still trained) and MobileNetV2 with batch statistics; inference uses running ones.
    model.train(a.mode == "train" and a.net in torch_pose_nets.MOBILENET_WIDTHS)
    images = torch.rand(a.batch, 3, a.height, a.width) * 255
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if a.dtype == "bf16" else contextlib.nullcontext()

    if a.mode == "train":
        with torch.no_grad():
            shapes = {k: v.shape for k, v in model(images[:1]).items()}
        part_target = (torch.rand(a.batch, *shapes["part_pred"][1:]) < 0.1).float()
        locref_target = torch.randn(a.batch, *shapes["locref"][1:])
        opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
        bce, huber = nn.BCEWithLogitsLoss(), nn.HuberLoss(delta=1.0)

        def step():
            with autocast:
                out = model(images)
            loss = (bce(out["part_pred"].float(), part_target) +
                    LOCREF_WEIGHT * huber(out["locref"].float(), locref_target))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    else:
        def step():
            with torch.inference_mode(), autocast:
                out = model(images)
                for v in out.values():
                    v.float()

    for _ in range(a.warmup):
        step()
    iters, elapsed, best = 0, 0.0, None
    start, busy0, own0 = time.perf_counter(), machine_busy_seconds(), own_cpu_seconds()
    while iters < a.iters or elapsed < a.min_seconds:
        t0 = time.perf_counter()
        step()
        t = time.perf_counter() - t0
        best = t if best is None else min(best, t)
        iters += 1
        elapsed = time.perf_counter() - start
    others = (machine_busy_seconds() - busy0 - (own_cpu_seconds() - own0)) / (elapsed * os.cpu_count())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"torch_engine: PyTorch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    print(f"result img_per_s {a.batch / best:.4f} mean_img_per_s {a.batch * iters / elapsed:.4f} iters {iters} "
          f"seconds {elapsed:.3f} others_cpu {others:.2f} maxrss_kib {rss}")


if __name__ == "__main__":
    main()
