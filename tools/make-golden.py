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

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import torch_pose_nets  # noqa: E402  (tools/ is not a package)

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


def loss_fixture(generator):
    """tests/fixtures/loss_golden.safetensors: DeepLabCut's three losses on one 2x3x4x5 head, each
    reduced as tf.compat.v1.losses does by default (SUM_BY_NONZERO_WEIGHTS: sum(w * l) divided by
    the number of non-zero weights), with the gradient of that loss with respect to the predictions.
    PyTorch's per-element losses (reduction="none") are the same functions as TensorFlow's."""
    shape = (2, 3, 4, 5)
    weights = torch.tensor([0.0, 1.0, 1.0, 0.5])[torch.randint(0, 4, shape, generator=generator)]
    tensors = {}
    for name in ("sigmoid_ce", "huber", "l2"):
        pred = torch.randn(shape, generator=generator) * 2.0
        if name == "sigmoid_ce":
            target = (torch.rand(shape, generator=generator) < 0.3).float()
        else:
            target = torch.randn(shape, generator=generator) * 1.5
            # keep |pred - target| off Huber's kink at 1, where the derivative jumps
            gap = pred - target
            near = (gap.abs() - 1.0).abs() < 0.05
            pred = torch.where(near, target + gap.sign() * 1.2, pred)
        pd = pred.double().requires_grad_()
        td, wd = target.double(), weights.double()
        if name == "sigmoid_ce":
            per = F.binary_cross_entropy_with_logits(pd, td, reduction="none")
        elif name == "huber":
            per = F.huber_loss(pd, td, reduction="none", delta=1.0)
        else:
            per = F.mse_loss(pd, td, reduction="none")
        loss = (per * wd).sum() / (wd != 0).sum()
        loss.backward()
        tensors.update({f"{name}.pred": pred, f"{name}.target": target, f"{name}.weights": weights,
                        f"{name}.loss": loss.detach().reshape(1), f"{name}.grad": pd.grad})
    meta = dict(reduction="SUM_BY_NONZERO_WEIGHTS", generator=f"PyTorch {torch.__version__}, float64 reference")
    write_safetensors(FIXTURES / "loss_golden.safetensors", tensors, meta)


OPT_LRS = (0.1, 0.1, 0.4)  # the rate changes at the third step, as multi_step does
OPT_WEIGHT_DECAY = 0.01


def optimizer_fixture(generator):
    """tests/fixtures/optimizer_golden.safetensors: three steps of torch.optim from one parameter
    tensor and three gradients, for SGD with momentum 0.9 and Adam, each without and with weight
    decay. TensorFlow's MomentumOptimizer is torch's SGD (dampening 0, no Nesterov). TensorFlow's
    AdamOptimizer is torch's Adam with epsilon divided by sqrt(1 - beta2^t) at step t (TF adds
    epsilon to sqrt(v) before the bias correction, torch after), so eps is set per step;
    gradient magnitudes span 1e-9 to 1 so that this difference shows. Weight decay as torch adds it
    (wd * param to the gradient) is the gradient of TensorFlow's l2_regularizer(wd), which is
    wd * sum(param^2) / 2."""
    shape = (2, 3, 5)
    init = torch.randn(shape, generator=generator)
    magnitude = 10.0 ** (-9.0 * torch.rand(shape, generator=generator))
    grads = [torch.randn(shape, generator=generator) * magnitude for _ in OPT_LRS]
    tensors = {"param.init": init}
    for t, g in enumerate(grads, 1):
        tensors[f"grad.{t}"] = g
    for case, wd in (("sgd", 0.0), ("sgd_wd", OPT_WEIGHT_DECAY), ("adam", 0.0), ("adam_wd", OPT_WEIGHT_DECAY)):
        p = init.double().clone().requires_grad_()
        if case.startswith("sgd"):
            opt = torch.optim.SGD([p], lr=OPT_LRS[0], momentum=0.9, weight_decay=wd)
        else:
            opt = torch.optim.Adam([p], lr=OPT_LRS[0], betas=(0.9, 0.999), weight_decay=wd)
        for t, (g, lr) in enumerate(zip(grads, OPT_LRS), 1):
            for group in opt.param_groups:
                group["lr"] = lr
                if case.startswith("adam"):
                    group["eps"] = 1e-8 / (1.0 - 0.999**t) ** 0.5
            p.grad = g.double()
            opt.step()
            tensors[f"{case}.after.{t}"] = p.detach().clone()
    meta = dict(lrs=",".join(str(lr) for lr in OPT_LRS), weight_decay=OPT_WEIGHT_DECAY,
                generator=f"PyTorch {torch.__version__}, float64 reference")
    write_safetensors(FIXTURES / "optimizer_golden.safetensors", tensors, meta)


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


# name, ConvTranspose2d arguments (output_padding -1: TensorFlow's 'SAME', see deconv_fixture), input shape
DECONV_CASES = [
    ("deconv_3x3_s2_tf_same", dict(in_channels=4, out_channels=3, kernel=3, stride=2, padding=0, output_padding=-1,
                                   dilation=1, bias=True), (2, 4, 5, 6)),  # DeepLabCut's TF heads
    ("deconv_3x3_s2_p1_op1", dict(in_channels=4, out_channels=3, kernel=3, stride=2, padding=1, output_padding=1,
                                  dilation=1, bias=True), (2, 4, 5, 6)),  # DeepLabCut's PyTorch heads
    ("deconv_4x4_s2_p1", dict(in_channels=3, out_channels=5, kernel=4, stride=2, padding=1, output_padding=0,
                              dilation=1, bias=False), (1, 3, 4, 7)),
    ("deconv_3x3_s1_d2_p1", dict(in_channels=3, out_channels=2, kernel=3, stride=1, padding=1, output_padding=1,
                                 dilation=2, bias=True), (2, 3, 6, 5)),
]


def tf_same_conv2d_transpose(x, w, stride):
    """TensorFlow's conv2d_transpose(padding='SAME') by its definition: the gradient, with respect to
    its input, of conv2d(padding='SAME') from an output_shape of input * stride. TensorFlow pads that
    convolution by kernel - stride rows in all, the odd one at the bottom (and right)."""
    n, _, h, wd = x.shape
    k = w.shape[2]
    total = max(k - stride, 0)
    z = torch.zeros(n, w.shape[1], h * stride, wd * stride, dtype=x.dtype, requires_grad=True)
    pads = (total // 2, total - total // 2, total // 2, total - total // 2)
    y = F.conv2d(F.pad(z, pads), w, stride=stride)
    return torch.autograd.grad((y * x).sum(), z)[0]


def deconv_fixture(name, cfg, shape, generator):
    k, op = cfg["kernel"], cfg["output_padding"]
    x = torch.randn(shape, generator=generator)
    w = torch.randn(cfg["in_channels"], cfg["out_channels"], k, k, generator=generator) * 0.3
    b = torch.randn(cfg["out_channels"], generator=generator) if cfg["bias"] else None
    xd = x.double().requires_grad_()
    wd = w.double().requires_grad_()
    bd = b.double().requires_grad_() if b is not None else None
    # PyTorch refuses a negative output_padding; it drops rows at the end of the op = 0 output.
    y = F.conv_transpose2d(xd, wd, bd, stride=cfg["stride"], padding=cfg["padding"], output_padding=max(op, 0),
                           dilation=cfg["dilation"])
    if op < 0:
        y = y[:, :, :op, :op]
        assert y.shape[2] == shape[2] * cfg["stride"] and y.shape[3] == shape[3] * cfg["stride"]
        tf = tf_same_conv2d_transpose(xd.detach(), wd.detach(), cfg["stride"])
        if bd is not None:
            tf = tf + bd.detach().view(1, -1, 1, 1)
        assert torch.allclose(y, tf), "padding 0, output_padding -1 is not TensorFlow's SAME"
    gy = torch.randn(y.shape, generator=generator)
    y.backward(gy.double())
    tensors = {"input": x, "deconv.weight": w}
    if b is not None:
        tensors["deconv.bias"] = b
    tensors.update({"output": y, "grad.output": gy, "grad.input": xd.grad, "grad.deconv.weight": wd.grad})
    if b is not None:
        tensors["grad.deconv.bias"] = bd.grad
    meta = dict(cfg, bias=int(cfg["bias"]), generator=f"PyTorch {torch.__version__}, float64 reference")
    write_safetensors(FIXTURES / f"{name}.safetensors", tensors, meta)



# name, batch norm arguments (stats: "frozen" uses the running statistics, "batch" the batch's), input shape
BATCHNORM_CASES = [
    ("batchnorm_frozen", dict(channels=3, eps=1e-3, momentum=0.1, stats="frozen"), (2, 3, 4, 5)),
    ("batchnorm_batch", dict(channels=4, eps=1e-5, momentum=0.1, stats="batch"), (3, 4, 3, 5)),
    ("batchnorm_batch_one_image", dict(channels=2, eps=1e-3, momentum=0.003, stats="batch"), (1, 2, 3, 4)),
]


def batchnorm_fixture(name, cfg, shape, generator):
    c = cfg["channels"]
    x = torch.randn(shape, generator=generator) * 2 + 0.5
    w = 1 + 0.3 * torch.randn(c, generator=generator)
    b = 0.3 * torch.randn(c, generator=generator)
    mean = 0.5 * torch.randn(c, generator=generator)
    # Small variances, so that eps matters in the frozen case.
    var = (0.002 if cfg["stats"] == "frozen" else 0.5) + torch.rand(c, generator=generator)
    xd = x.double().requires_grad_()
    wd = w.double().requires_grad_()
    bd = b.double().requires_grad_()
    mean_after, var_after = mean.double().clone(), var.double().clone()
    training = cfg["stats"] == "batch"
    y = F.batch_norm(xd, mean_after, var_after, wd, bd, training=training, momentum=cfg["momentum"], eps=cfg["eps"])
    gy = torch.randn(y.shape, generator=generator)
    y.backward(gy.double())
    inference = F.batch_norm(x.double(), mean_after, var_after, w.double(), b.double(), training=False,
                             eps=cfg["eps"])
    tensors = {"input": x, "bn.weight": w, "bn.bias": b, "bn.running_mean": mean, "bn.running_var": var,
               "output": y, "grad.output": gy, "grad.input": xd.grad, "grad.bn.weight": wd.grad,
               "grad.bn.bias": bd.grad, "updated.bn.running_mean": mean_after, "updated.bn.running_var": var_after,
               "inference.output": inference}
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




# name, upsampling arguments (factor, or output size when factor is 0), input shape
UPSAMPLE_CASES = [
    ("upsample_bilinear_x2", dict(factor=2, size_h=0, size_w=0), (2, 3, 5, 7)),
    ("upsample_bilinear_x4", dict(factor=4, size_h=0, size_w=0), (1, 2, 3, 4)),
    ("upsample_bilinear_to_size", dict(factor=0, size_h=11, size_w=3), (2, 2, 4, 5)),  # up in height, down in width
]


def upsample_fixture(name, cfg, shape, generator):
    x = torch.randn(shape, generator=generator)
    xd = x.double().requires_grad_()
    if cfg["factor"]:
        y = F.interpolate(xd, scale_factor=cfg["factor"], mode="bilinear", align_corners=False)
        by_size = F.interpolate(xd, size=(shape[2] * cfg["factor"], shape[3] * cfg["factor"]), mode="bilinear",
                                align_corners=False)
        assert torch.allclose(y, by_size), "an integer factor and the size it gives differ"
    else:
        y = F.interpolate(xd, size=(cfg["size_h"], cfg["size_w"]), mode="bilinear", align_corners=False)
    gy = torch.randn(y.shape, generator=generator)
    y.backward(gy.double())
    tensors = {"input": x, "output": y, "grad.output": gy, "grad.input": xd.grad}
    meta = dict(cfg, generator=f"PyTorch {torch.__version__}, float64 reference")
    write_safetensors(FIXTURES / f"{name}.safetensors", tensors, meta)

# A reduced-width ResNet with every head (tests/test_nn_resnet.c): torchvision's structure and names,
# base width 4 instead of 64, 2 blocks per stage (an identity block in each, and layer4's dilated
# ones) but 3 in layer3 so that the intermediate head reads a middle unit.
RESNET_SMALL = dict(net_type="resnet_50", width=4, blocks=(2, 2, 3, 2), num_joints=3, num_idchannel=1, num_limbs=2,
                    intermediate_supervision_layer=2, input=(2, 3, 64, 48))


def check_against_torchvision():
    """The structure of torch_pose_nets.PoseResNet is torchvision's: same names and shapes, and the
    same features from the same weights (torchvision's output stride 16 variant)."""
    try:
        import torchvision
    except ImportError:
        print("torchvision missing: PoseResNet not checked against it", file=sys.stderr)
        return
    ours = torch_pose_nets.PoseResNet(torch_pose_nets.RESNET_BLOCKS["resnet_50"]).eval()
    theirs = torchvision.models.resnet50(replace_stride_with_dilation=[False, False, True]).eval()
    backbone = {k: v for k, v in ours.state_dict().items() if k.split(".")[0] not in torch_pose_nets.HEADS}
    reference = {k: v for k, v in theirs.state_dict().items() if not k.startswith("fc.")}
    assert backbone.keys() == reference.keys(), set(backbone) ^ set(reference)
    assert all(backbone[k].shape == reference[k].shape for k in backbone)
    theirs.load_state_dict(ours.state_dict(), strict=False)
    x = torch.rand(1, 3, 80, 72) * 255
    def features(m):
        x1 = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        return m.layer4(m.layer3(m.layer2(m.layer1(x1))))

    with torch.no_grad():
        mine, tv = features(ours), features(theirs)
    assert torch.allclose(mine, tv), "PoseResNet's backbone differs from torchvision's"
    print(f"PoseResNet matches torchvision {torchvision.__version__}'s resnet50", file=sys.stderr)


def randomise_batchnorm(model, generator):
    """Non-trivial frozen statistics and affine parameters, so that batch norm is really tested."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            c = module.num_features
            module.weight.data = 1 + 0.2 * torch.randn(c, generator=generator)
            module.bias.data = 0.2 * torch.randn(c, generator=generator)
            module.running_mean.data = 0.2 * torch.randn(c, generator=generator)
            module.running_var.data = 0.5 + torch.rand(c, generator=generator)


def resnet_fixture(generator):
    """tests/fixtures/resnet_small.safetensors: the input (RGB 0..255), every parameter, every head's
    output, a random gradient for each head (the loss sum(head * grad) over all heads) and the
    gradient of every trained parameter. Batch norm frozen (eval mode), as DeepLabCut trains."""
    cfg = RESNET_SMALL
    joints = cfg["num_joints"] + cfg["num_idchannel"]
    torch.manual_seed(20240620)
    model = torch_pose_nets.PoseResNet(cfg["blocks"], width=cfg["width"], part=joints, locref=2 * cfg["num_joints"],
                                       pairwise=2 * cfg["num_limbs"], interm_unit=cfg["intermediate_supervision_layer"])
    randomise_batchnorm(model, generator)
    for head in torch_pose_nets.HEADS:
        getattr(model, head).bias.data.normal_(0, 0.1, generator=generator)
    x = torch.rand(cfg["input"], generator=generator) * 255
    params = {k: v.clone() for k, v in model.state_dict().items() if "num_batches_tracked" not in k}
    model = model.double().eval()
    out = model(x.double())
    grads = {name: torch.randn(y.shape, generator=generator) for name, y in out.items()}
    torch.autograd.backward([out[n] for n in grads], [g.double() for g in grads.values()])
    tensors = {"input": x}
    tensors.update(params)
    tensors.update({f"output.{n}": y for n, y in out.items()})
    tensors.update({f"grad.output.{n}": g for n, g in grads.items()})
    tensors.update({f"grad.{n}": p.grad for n, p in model.named_parameters()})
    meta = dict(cfg, blocks=",".join(str(b) for b in cfg["blocks"]), input=",".join(str(d) for d in cfg["input"]),
                generator=f"PyTorch {torch.__version__}, float64 reference")
    torch_pose_nets.write_safetensors(FIXTURES / "resnet_small.safetensors", tensors, meta)


# A reduced MobileNetV2 with every head (tests/test_nn_mobilenet.c): torchvision's structure and names,
# width multiplier 0.1 (8 to 32 channels) and a last 1x1 convolution of 24 channels instead of 1280;
# batch norm with batch statistics as DeepLabCut's TensorFlow MobileNetV2 trains (momentum 0.003,
# slim's decay 0.997); the intermediate head on slim's layer_12 (features.11), DeepLabCut's default.
MOBILENET_SMALL = dict(net_type="mobilenet_v2_0.35", width_multiplier=0.1, last_channels=24, num_joints=3,
                       num_limbs=1, intermediate_supervision_layer=12, bn_momentum=0.003, input=(2, 3, 64, 48))


def check_mobilenet_against_torchvision():
    """PoseMobileNetV2 is torchvision's mobilenet_v2 with features.14's stride 1: same names, shapes
    and features from the same weights."""
    try:
        import torchvision
    except ImportError:
        print("torchvision missing: PoseMobileNetV2 not checked against it", file=sys.stderr)
        return
    ours = torch_pose_nets.PoseMobileNetV2(0.35).eval()
    theirs = torchvision.models.mobilenet_v2(width_mult=0.35).eval()
    theirs.features[14].conv[1][0].stride = (1, 1)  # DeepLabCut's output stride 16
    backbone = {k: v for k, v in ours.state_dict().items() if k.startswith("features.")}
    reference = {k: v for k, v in theirs.state_dict().items() if k.startswith("features.")}
    assert backbone.keys() == reference.keys(), set(backbone) ^ set(reference)
    assert all(backbone[k].shape == reference[k].shape for k in backbone)
    theirs.load_state_dict(ours.state_dict(), strict=False)
    x = torch.rand(1, 3, 80, 72) * 255
    with torch.no_grad():
        assert torch.allclose(ours.features(x), theirs.features(x)), "PoseMobileNetV2 differs from torchvision's"
    print(f"PoseMobileNetV2 matches torchvision {torchvision.__version__}'s mobilenet_v2", file=sys.stderr)


def relu6_margin(model, x):
    """The smallest distance of any ReLU6 input from its kinks 0 and 6 in a forward of x: below a
    few f32 rounding errors, dlcc's f32 forward may land on the other side of a kink than PyTorch's
    float64 one, and that element's gradient (passed or blocked) then differs entirely."""
    inputs = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: inputs.append(inp[0].detach()))
             for m in model.modules() if isinstance(m, torch.nn.ReLU6)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return min(min(float(t.abs().min()), float((t - 6).abs().min())) for t in inputs)


def mobilenet_fixture(seed):
    """tests/fixtures/mobilenet_small.safetensors: as resnet_small, with batch norm in training mode
    (batch statistics; "updated.<bn>.running_*" are the running statistics after that forward). The
    first seed from `seed` whose ReLU6 inputs all stay 2e-6 away from 0 and 6 (see relu6_margin)."""
    for attempt in range(100):
        generator = torch.Generator().manual_seed(seed + attempt)
        tensors, meta, margin = mobilenet_case(seed + attempt, generator)
        if margin > 2e-6:
            break
    meta.update(seed=seed + attempt, relu6_margin=f"{margin:.3g}")
    torch_pose_nets.write_safetensors(FIXTURES / "mobilenet_small.safetensors", tensors, meta)


def mobilenet_case(seed, generator):
    cfg = MOBILENET_SMALL
    torch.manual_seed(seed)
    model = torch_pose_nets.PoseMobileNetV2(cfg["width_multiplier"], part=cfg["num_joints"],
                                            locref=2 * cfg["num_joints"], pairwise=2 * cfg["num_limbs"],
                                            interm_layer=cfg["intermediate_supervision_layer"],
                                            last_channels=cfg["last_channels"])
    randomise_batchnorm(model, generator)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = cfg["bn_momentum"]
    for head in torch_pose_nets.HEADS:
        getattr(model, head).bias.data.normal_(0, 0.1, generator=generator)
    x = torch.rand(cfg["input"], generator=generator) * 255
    params = {k: v.clone() for k, v in model.state_dict().items() if "num_batches_tracked" not in k}
    model = model.double().train()
    margin = relu6_margin(model, x.double())
    model.load_state_dict(params)  # that forward moved the running statistics
    out = model(x.double())
    grads = {name: torch.randn(y.shape, generator=generator) for name, y in out.items()}
    torch.autograd.backward([out[n] for n in grads], [g.double() for g in grads.values()])
    tensors = {"input": x}
    tensors.update(params)
    tensors.update({f"output.{n}": y for n, y in out.items()})
    tensors.update({f"grad.output.{n}": g for n, g in grads.items()})
    tensors.update({f"grad.{n}": p.grad for n, p in model.named_parameters()})
    tensors.update({f"updated.{n}": v for n, v in model.state_dict().items() if "running_" in n})
    meta = dict(cfg, input=",".join(str(d) for d in cfg["input"]),
                generator=f"PyTorch {torch.__version__}, float64 reference")
    return tensors, meta, margin


# A reduced dlcrnet_ms5 with every head (tests/test_nn_dlcrnet.c): base width 2 (decoder widths 16, 4, 8,
# 8, 4 and 4 stage features instead of 512, 128, 256, 256, 128, 128), layer2 with the three units the
# fusion reads, an input whose sizes are no multiple of 16 so that both resizes interpolate (40x36:
# layer1 10x9 -> 12x12, layer2.2 5x5 -> 6x6).
DLCRNET_SMALL = dict(net_type="dlcrnet_ms5", width=2, blocks=(2, 3, 2, 2), num_joints=3, num_idchannel=1, num_limbs=2,
                     intermediate_supervision_layer=2, input=(2, 3, 40, 36))


def dlcrnet_fixture(generator):
    """tests/fixtures/dlcrnet_small.safetensors: as resnet_small (backbone batch norm frozen), with the
    decoder's batch norm on batch statistics as DeepLabCut's graph has it; "single.output.<head>" are
    the heads for the first image alone (its own statistics)."""
    cfg = DLCRNET_SMALL
    joints = cfg["num_joints"] + cfg["num_idchannel"]
    torch.manual_seed(20240901)
    model = torch_pose_nets.PoseDLCRNet(cfg["blocks"], width=cfg["width"], part=joints, locref=2 * cfg["num_joints"],
                                        pafs=2 * cfg["num_limbs"], interm_unit=cfg["intermediate_supervision_layer"])
    torch_pose_nets.init_like_dlcc(model)
    randomise_batchnorm(model, generator)
    for module in model.modules():
        if isinstance(module, (torch_pose_nets.TFSameDeconv, torch_pose_nets.TFSameConv2d)) and module.bias is not None:
            module.bias.data.normal_(0, 0.1, generator=generator)
        if isinstance(module, torch_pose_nets.SlimBatchNorm):
            module.bias.data.normal_(0, 0.2, generator=generator)
    x = torch.rand(cfg["input"], generator=generator) * 255
    params = {k: v.clone() for k, v in model.state_dict().items() if "num_batches_tracked" not in k}
    model = model.double().eval()
    out = model(x.double())
    grads = {name: torch.randn(y.shape, generator=generator) for name, y in out.items()}
    torch.autograd.backward([out[n] for n in grads], [g.double() for g in grads.values()])
    with torch.no_grad():
        single = model(x[:1].double())
    tensors = {"input": x}
    tensors.update(params)
    tensors.update({f"output.{n}": y for n, y in out.items()})
    tensors.update({f"single.output.{n}": y for n, y in single.items()})
    tensors.update({f"grad.output.{n}": g for n, g in grads.items()})
    tensors.update({f"grad.{n}": p.grad for n, p in model.named_parameters()})
    meta = dict(cfg, blocks=",".join(str(b) for b in cfg["blocks"]), input=",".join(str(d) for d in cfg["input"]),
                generator=f"PyTorch {torch.__version__}, float64 reference")
    torch_pose_nets.write_safetensors(FIXTURES / "dlcrnet_small.safetensors", tensors, meta)


# Fixtures that can be written alone: `make-golden.py dlcrnet_small` writes only that one.
SINGLE_FIXTURES = {"dlcrnet_small": lambda: dlcrnet_fixture(torch.Generator().manual_seed(20240902))}


def main():
    FIXTURES.mkdir(parents=True, exist_ok=True)
    if len(sys.argv) > 1:
        for name in sys.argv[1:]:
            if name not in SINGLE_FIXTURES:
                sys.exit(f"unknown fixture {name}: one of {', '.join(SINGLE_FIXTURES)}")
            SINGLE_FIXTURES[name]()
            print(f"wrote {FIXTURES / name}.safetensors", file=sys.stderr)
        return
    for name, write in SINGLE_FIXTURES.items():
        write()
        print(f"wrote {FIXTURES / name}.safetensors", file=sys.stderr)
    check_mobilenet_against_torchvision()
    mobilenet_fixture(20240623)
    print(f"wrote {FIXTURES}/mobilenet_small.safetensors", file=sys.stderr)
    check_against_torchvision()
    resnet_fixture(torch.Generator().manual_seed(20240621))
    print(f"wrote {FIXTURES}/resnet_small.safetensors", file=sys.stderr)
    generator = torch.Generator().manual_seed(20240603)
    for name, cfg, shape in CONV_CASES:
        conv_fixture(name, cfg, shape, generator)
        print(f"wrote {FIXTURES / name}.safetensors", file=sys.stderr)
    loss_fixture(torch.Generator().manual_seed(20240611))
    optimizer_fixture(torch.Generator().manual_seed(20240612))
    print(f"wrote {FIXTURES}/loss_golden.safetensors and optimizer_golden.safetensors", file=sys.stderr)


    for cases, make_fixture, seed in LAYER_CASES:
        generator = torch.Generator().manual_seed(seed)
        for name, *args in cases:
            make_fixture(name, *args, generator)
            print(f"wrote {FIXTURES / name}.safetensors", file=sys.stderr)


    generator = torch.Generator().manual_seed(20240611)  # each layer kind its own stream
    for name, cfg, shape in DECONV_CASES:
        deconv_fixture(name, cfg, shape, generator)
        print(f"wrote {FIXTURES / name}.safetensors", file=sys.stderr)
    generator = torch.Generator().manual_seed(20240612)
    for name, cfg, shape in BATCHNORM_CASES:
        batchnorm_fixture(name, cfg, shape, generator)
        print(f"wrote {FIXTURES / name}.safetensors", file=sys.stderr)
    generator = torch.Generator().manual_seed(20240613)
    for name, cfg, shape in UPSAMPLE_CASES:
        upsample_fixture(name, cfg, shape, generator)
        print(f"wrote {FIXTURES / name}.safetensors", file=sys.stderr)


if __name__ == "__main__":
    main()
