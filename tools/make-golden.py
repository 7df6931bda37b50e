#!/usr/bin/python3
"""Writes dlcc's golden fixtures, tests/fixtures/<layer>_*.safetensors, from PyTorch.

Run by a developer, not by CI, with Debian's python3-torch (apt-get install python3-torch):
    /usr/bin/python3 tools/make-golden.py
Each fixture holds one layer's input, parameters (named as the C test declares them, e.g.
"conv.weight"), output, a random output gradient and the resulting gradients of the input and
parameters ("grad.input", "grad.conv.weight"), plus the layer's configuration as metadata.
References are computed in float64 from the float32 inputs and stored as float32, so the C test
measures its own f32 error only.
"""
import json
import pathlib
import struct
import sys

import torch
import torch.nn.functional as F

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def write_safetensors(path, tensors, metadata):
    """safetensors: 8-byte little-endian header length, JSON header (padded to 8), raw data."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name, tensor in tensors.items():
        data = tensor.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
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


# name, Conv2d arguments, input shape (N, C, H, W)
CONV_CASES = [
    ("conv_3x3_s1_p1", dict(in_channels=4, out_channels=6, kernel=3, stride=1, padding=1, dilation=1, groups=1,
                            bias=True), (2, 4, 9, 11)),
    ("conv_7x7_s2_p3", dict(in_channels=3, out_channels=8, kernel=7, stride=2, padding=3, dilation=1, groups=1,
                            bias=False), (1, 3, 16, 14)),  # ResNet's conv1
    ("conv_3x3_d2_p2", dict(in_channels=4, out_channels=5, kernel=3, stride=1, padding=2, dilation=2, groups=1,
                            bias=True), (2, 4, 10, 9)),  # ResNet's dilated last stage
    ("conv_dw_3x3_s2", dict(in_channels=6, out_channels=6, kernel=3, stride=2, padding=1, dilation=1, groups=6,
                            bias=False), (2, 6, 9, 8)),  # MobileNetV2's depthwise
    ("conv_1x1_s2", dict(in_channels=8, out_channels=4, kernel=1, stride=2, padding=0, dilation=1, groups=1,
                         bias=True), (2, 8, 8, 6)),  # ResNet's downsample; even sizes skip the last row
]


def conv_fixture(name, cfg, shape, generator):
    k = cfg["kernel"]
    x = torch.randn(shape, generator=generator)
    w = torch.randn(cfg["out_channels"], cfg["in_channels"] // cfg["groups"], k, k, generator=generator) * 0.3
    b = torch.randn(cfg["out_channels"], generator=generator) if cfg["bias"] else None
    xd = x.double().requires_grad_()
    wd = w.double().requires_grad_()
    bd = b.double().requires_grad_() if b is not None else None
    y = F.conv2d(xd, wd, bd, stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"],
                 groups=cfg["groups"])
    gy = torch.randn(y.shape, generator=generator)
    y.backward(gy.double())
    tensors = {"input": x, "conv.weight": w}
    if b is not None:
        tensors["conv.bias"] = b
    tensors.update({"output": y, "grad.output": gy, "grad.input": xd.grad, "grad.conv.weight": wd.grad})
    if b is not None:
        tensors["grad.conv.bias"] = bd.grad
    meta = dict(cfg, bias=int(cfg["bias"]), generator=f"PyTorch {torch.__version__}, float64 reference")
    write_safetensors(FIXTURES / f"{name}.safetensors", tensors, meta)


def double_leaf(t):
    return t.double().requires_grad_()


def backward_with_random_grad(y, generator):
    """Backpropagates a random output gradient; returns it (float32, as stored)."""
    gy = torch.randn(y.shape, generator=generator)
    y.backward(gy.double())
    return gy


# name, activation, input shape, input scale (ReLU6 needs values beyond 6)
ELTWISE_CASES = [
    ("eltwise_relu", "relu", (2, 5, 4, 3), 1.0),
    ("eltwise_relu6", "relu6", (2, 5, 4, 3), 4.0),
    ("eltwise_sigmoid", "sigmoid", (2, 5, 4, 3), 3.0),
]
ELTWISE_FUNCTIONS = {"relu": F.relu, "relu6": F.relu6, "sigmoid": torch.sigmoid}


def eltwise_fixture(name, kind, shape, scale, generator):
    x = torch.randn(shape, generator=generator) * scale
    xd = double_leaf(x)
    y = ELTWISE_FUNCTIONS[kind](xd)
    gy = backward_with_random_grad(y, generator)
    tensors = {"input": x, "output": y, "grad.output": gy, "grad.input": xd.grad}
    meta = dict(kind=kind, generator=f"PyTorch {torch.__version__}, float64 reference")
    write_safetensors(FIXTURES / f"{name}.safetensors", tensors, meta)


# name, MaxPool2d arguments, input shape
POOL_CASES = [
    ("pool_3x3_s2_p1", dict(kernel=3, stride=2, padding=1), (2, 4, 9, 10)),  # ResNet's maxpool
    ("pool_2x2_s2", dict(kernel=2, stride=2, padding=0), (1, 3, 8, 7)),  # odd width: last column unread
    ("pool_3x3_s1_p1", dict(kernel=3, stride=1, padding=1), (1, 2, 6, 5)),  # overlapping windows
]


def pool_fixture(name, cfg, shape, generator):
    x = torch.randn(shape, generator=generator)
    xd = double_leaf(x)
    y = F.max_pool2d(xd, cfg["kernel"], cfg["stride"], cfg["padding"])
    gy = backward_with_random_grad(y, generator)
    tensors = {"input": x, "output": y, "grad.output": gy, "grad.input": xd.grad}
    meta = dict(cfg, generator=f"PyTorch {torch.__version__}, float64 reference")
    write_safetensors(FIXTURES / f"{name}.safetensors", tensors, meta)


# name, ReLU after the add, input shape
ADD_CASES = [
    ("add", False, (2, 5, 4, 3)),
    ("add_relu", True, (2, 5, 4, 3)),  # ResNet's bottleneck output: relu(bn3 + shortcut)
]


def add_fixture(name, relu, shape, generator):
    a, b = torch.randn(shape, generator=generator), torch.randn(shape, generator=generator)
    ad, bd = double_leaf(a), double_leaf(b)
    y = ad + bd
    if relu:
        y = F.relu(y)
    gy = backward_with_random_grad(y, generator)
    tensors = {"input.a": a, "input.b": b, "output": y, "grad.output": gy, "grad.input.a": ad.grad,
               "grad.input.b": bd.grad}
    meta = dict(relu=int(relu), generator=f"PyTorch {torch.__version__}, float64 reference")
    write_safetensors(FIXTURES / f"{name}.safetensors", tensors, meta)


# name, channels of each input, (N, H, W)
CONCAT_CASES = [
    ("concat_3", (3, 8, 5), (2, 4, 5)),
]


def concat_fixture(name, channels, nhw, generator):
    n, h, w = nhw
    xs = [torch.randn((n, c, h, w), generator=generator) for c in channels]
    xds = [double_leaf(x) for x in xs]
    y = torch.cat(xds, dim=1)
    gy = backward_with_random_grad(y, generator)
    tensors = {f"input.{i}": x for i, x in enumerate(xs)}
    tensors.update({"output": y, "grad.output": gy})
    tensors.update({f"grad.input.{i}": xd.grad for i, xd in enumerate(xds)})
    meta = dict(inputs=len(channels), channels=",".join(str(c) for c in channels),
                generator=f"PyTorch {torch.__version__}, float64 reference")
    write_safetensors(FIXTURES / f"{name}.safetensors", tensors, meta)


# Each layer kind draws from its own generator, so adding cases to one never changes another's.
LAYER_CASES = [
    (ELTWISE_CASES, eltwise_fixture, 20240701),
    (POOL_CASES, pool_fixture, 20240702),
    (ADD_CASES, add_fixture, 20240703),
    (CONCAT_CASES, concat_fixture, 20240704),
]


def main():
    FIXTURES.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(20240603)
    for name, cfg, shape in CONV_CASES:
        conv_fixture(name, cfg, shape, generator)
        print(f"wrote {FIXTURES / name}.safetensors", file=sys.stderr)
    for cases, make_fixture, seed in LAYER_CASES:
        generator = torch.Generator().manual_seed(seed)
        for name, *args in cases:
            make_fixture(name, *args, generator)
            print(f"wrote {FIXTURES / name}.safetensors", file=sys.stderr)


if __name__ == "__main__":
    main()
