"""DeepLabCut's ResNet, MobileNetV2 and dlcrnet_ms5 pose networks in PyTorch, as dlcc builds them
(src/nn/resnet.c, src/nn/mobilenet.c, src/nn/dlcrnet.c): the reference for the golden fixtures
(tools/make-golden.py) and for the real-size comparisons (tools/torch-pose-reference.py, called by
tests/test_nn_network_torch.c).

The ResNet is torchvision's (Bottleneck blocks, replace_stride_with_dilation=[False, False, True]) and
the MobileNetV2 torchvision's with features.14 at stride 1 (DeepLabCut's output stride 16), written
out here so that their widths can be reduced for small fixtures; make-golden.py checks both against
torchvision itself when installed. Heads are TensorFlow's conv2d_transpose(kernel 3, stride 2,
padding 'SAME'): PyTorch's ConvTranspose2d(3, stride 2, padding 0) with the last row and column
dropped. Frozen batch norm is eval-mode BatchNorm2d.

PoseDLCRNet is DeepLabCut's TensorFlow dlcrnet_ms5 (nnets/multi.py, multi_stage) written anew on
that ResNet: see docs/nn.md for the mapping of its layers to DeepLabCut's graph.
"""
import json
import math
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

RESNET_BLOCKS = {"resnet_50": (3, 4, 6, 3), "resnet_101": (3, 4, 23, 3), "resnet_152": (3, 8, 36, 3)}
MEAN_PIXEL = (123.68, 116.779, 103.939)
HEADS = ("part_pred", "locref", "pairwise_pred", "intermediate_part_pred")


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride, dilation, downsample):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=False)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class TFSameDeconv(nn.ConvTranspose2d):
    """slim.conv2d_transpose(kernel 3, stride 2, padding 'SAME'): output = 2 * input."""

    def __init__(self, in_channels, out_channels):
        super().__init__(in_channels, out_channels, 3, stride=2, padding=0, bias=True)

    def forward(self, x):
        return super().forward(x)[:, :, :-1, :-1]


class PoseResNet(nn.Module):
    """Backbone with torchvision's module names (conv1, bn1, layer1..4) and DeepLabCut's heads."""

    def __init__(self, blocks, width=64, part=1, locref=0, pairwise=0, interm_unit=0):
        super().__init__()
        self._make_backbone(blocks, width)
        self.interm_unit = interm_unit
        features = 32 * width
        self.part_pred = TFSameDeconv(features, part)
        self.locref = TFSameDeconv(features, locref) if locref else None
        self.pairwise_pred = TFSameDeconv(features, pairwise) if pairwise else None
        self.intermediate_part_pred = TFSameDeconv(16 * width, part) if interm_unit else None
        self.register_buffer("mean_pixel", torch.tensor(MEAN_PIXEL).view(1, 3, 1, 1), persistent=False)

    def _make_backbone(self, blocks, width):
        """torchvision's ResNet at output stride 16 (replace_stride_with_dilation=[False, False, True])."""
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=False)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.inplanes, self.dilation = width, 1
        self.layer1 = self._make_layer(width, blocks[0], 1, False)
        self.layer2 = self._make_layer(2 * width, blocks[1], 2, False)
        self.layer3 = self._make_layer(4 * width, blocks[2], 2, False)
        self.layer4 = self._make_layer(8 * width, blocks[3], 2, True)

    def _make_layer(self, planes, blocks, stride, dilate):
        """torchvision's ResNet._make_layer."""
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck(self.inplanes, planes, stride, previous_dilation, downsample)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes, 1, self.dilation, None) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, images):
        """images: N x 3 x H x W, RGB 0..255. Returns the heads by name."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(images - self.mean_pixel.to(images.dtype)))))
        x = self.layer2(self.layer1(x))
        interm = None
        for unit, block in enumerate(self.layer3, 1):
            x = block(x)
            if unit == self.interm_unit:
                interm = x
        x = self.layer4(x)
        out = {"part_pred": self.part_pred(x)}
        if self.locref is not None:
            out["locref"] = self.locref(x)
        if self.pairwise_pred is not None:
            out["pairwise_pred"] = self.pairwise_pred(x)
        if interm is not None:
            out["intermediate_part_pred"] = self.intermediate_part_pred(interm)
        return out


class TFSameConv2d(nn.Conv2d):
    """slim.conv2d's padding 'SAME': output ceil(in / stride), the input padded by
    max((out - 1) * stride + kernel - in, 0) in all, the odd row and column at the end."""

    def __init__(self, in_channels, out_channels, kernel, stride=1, bias=True):
        super().__init__(in_channels, out_channels, kernel, stride=stride, padding=0, bias=bias)

    def forward(self, x):
        pads = []
        for size, k, s in ((x.shape[3], self.kernel_size[1], self.stride[1]),
                           (x.shape[2], self.kernel_size[0], self.stride[0])):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


class SlimBatchNorm(nn.Module):
    """tf-slim's batch_norm with its defaults, as multi.py's decoder calls it: no scale (only the
    shift, "bias"), eps 1e-3, and is_training=True, so the batch's statistics (biased variance) in
    every forward, inference included; no running statistics."""

    def __init__(self, channels, eps=1e-3):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        var = ((x - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) + self.bias.view(1, -1, 1, 1)


class DecoderConv(nn.Module):
    """multi.py's decoder_filters/decoder_parallel_N: slim.conv2d('SAME', no bias) + batch norm + ReLU."""

    def __init__(self, cin, cout, kernel, stride):
        super().__init__()
        self.conv = TFSameConv2d(cin, cout, kernel, stride, bias=False)
        self.bn = SlimBatchNorm(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def resize_to_multiple(x, m):
    """Bilinear resize (align_corners=False) to m * ceil(size / m): DeepLabCut's resize of a feature map
    to 2 or 4 times ceil(input / 16). An identity when the size is a multiple already."""
    size = [math.ceil(d / m) * m for d in x.shape[2:]]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


DLCRNET_BACKBONES = {"dlcrnet_ms5": "resnet_50", "dlcr101_ms5": "resnet_101", "dlcr152_ms5": "resnet_152"}


class PoseDLCRNet(PoseResNet):
    """DeepLabCut's dlcrnet_ms5 at stride 8 on torchvision's ResNet (src/nn/dlcrnet.c). Fusion: layer1's
    output (slim's block1/unit_3) resized to 4 * ceil(H / 16) and taken to stride 16 by
    decoder_parallel_3/_4 (3x3 stride 2) and _5 (1x1); layer2.2's output (block2/unit_3) resized to
    2 * ceil(H / 16) and taken to stride 16 by decoder_parallel_1 (3x3 stride 2) and _2 (1x1); both
    concatenated before layer4. Stages: part_pred_s1, locref, the ReLU'd stage_features and
    pairwise_pred_s1 upsample that by 2; part_pred_s2..s4 / pairwise_pred_s2..s4 and the final
    part_pred / pairwise_pred (3x3 convolutions) refine [score maps, fields, features], the score maps
    of stages 3 and 4 adding the previous stage's. Decoder widths scale with the base width (64: 512,
    128, 256, 256, 128; 128 features)."""

    def __init__(self, blocks, width=64, part=1, locref=0, pafs=2, interm_unit=0):
        nn.Module.__init__(self)
        self._make_backbone(blocks, width)
        self.interm_unit = interm_unit
        self.decoder_parallel_1 = DecoderConv(8 * width, 8 * width, 3, 2)
        self.decoder_parallel_2 = DecoderConv(8 * width, 2 * width, 1, 1)
        self.decoder_parallel_3 = DecoderConv(4 * width, 4 * width, 3, 2)
        self.decoder_parallel_4 = DecoderConv(4 * width, 4 * width, 3, 2)
        self.decoder_parallel_5 = DecoderConv(4 * width, 2 * width, 1, 1)
        fused, features = 4 * width + 32 * width, 2 * width
        self.part_pred_s1 = TFSameDeconv(fused, part)
        self.locref = TFSameDeconv(fused, locref) if locref else None
        self.stage_features = TFSameDeconv(fused, features)
        self.pairwise_pred_s1 = TFSameDeconv(fused, pafs)
        stage = part + pafs + features
        for i in range(2, 5):
            setattr(self, f"pairwise_pred_s{i}", TFSameConv2d(stage, pafs, 3))
            setattr(self, f"part_pred_s{i}", TFSameConv2d(stage, part, 3))
        self.part_pred = TFSameConv2d(stage, part, 3)
        self.pairwise_pred = TFSameConv2d(stage, pafs, 3)
        self.intermediate_part_pred = TFSameDeconv(16 * width, part) if interm_unit else None
        self.register_buffer("mean_pixel", torch.tensor(MEAN_PIXEL).view(1, 3, 1, 1), persistent=False)

    def forward(self, images):
        x = self.maxpool(self.relu(self.bn1(self.conv1(images - self.mean_pixel.to(images.dtype)))))
        bank1 = x = self.layer1(x)
        for unit, block in enumerate(self.layer2, 1):
            x = block(x)
            if unit == 3:
                bank2 = x
        interm = None
        for unit, block in enumerate(self.layer3, 1):
            x = block(x)
            if unit == self.interm_unit:
                interm = x
        x = self.layer4(x)
        bank2 = self.decoder_parallel_2(self.decoder_parallel_1(resize_to_multiple(bank2, 2)))
        bank1 = self.decoder_parallel_5(self.decoder_parallel_4(self.decoder_parallel_3(resize_to_multiple(bank1, 4))))
        net = torch.cat([bank1, bank2, x], 1)
        out = {}
        hm = self.part_pred_s1(net)
        if self.locref is not None:
            out["locref"] = self.locref(net)
        features = F.relu(self.stage_features(net))
        paf = self.pairwise_pred_s1(net)
        stage_in = torch.cat([hm, paf, features], 1)
        for i in range(2, 5):
            paf = getattr(self, f"pairwise_pred_s{i}")(stage_in)
            refined = getattr(self, f"part_pred_s{i}")(stage_in)
            hm = refined + hm if i > 2 else refined
            stage_in = torch.cat([hm, paf, features], 1)
        out["part_pred"] = self.part_pred(stage_in)
        out["pairwise_pred"] = self.pairwise_pred(stage_in)
        if interm is not None:
            out["intermediate_part_pred"] = self.intermediate_part_pred(interm)
        return out


def read_safetensors(path):
    """Returns ({name: float32 tensor}, metadata) of a safetensors file with F32 tensors."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {info['dtype']}, expected F32")
        start, end = info["data_offsets"]
        flat = torch.frombuffer(bytearray(data[start:end]), dtype=torch.float32)
        tensors[name] = flat.reshape(info["shape"])
    return tensors, meta


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


MOBILENET_WIDTHS = {"mobilenet_v2_1.0": 1.0, "mobilenet_v2_0.75": 0.75, "mobilenet_v2_0.5": 0.5,
                    "mobilenet_v2_0.35": 0.35}
# (expansion, channels, blocks, stride) of torchvision's (and slim's V2_DEF) inverted residual stages
MOBILENET_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                    (6, 320, 1, 1))


def make_divisible(v, divisor=8):
    """torchvision's _make_divisible."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def conv_bn_act(cin, cout, kernel, stride=1, groups=1, act=True):
    """torchvision's Conv2dNormActivation with ReLU6: modules 0 (conv), 1 (bn), 2 (ReLU6)."""
    layers = [nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6(inplace=False))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """torchvision's InvertedResidual: conv.0 expansion (unless t == 1), depthwise, projection, bn."""

    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = int(round(cin * t))
        layers = [conv_bn_act(cin, hidden, 1)] if t != 1 else []
        layers += [conv_bn_act(hidden, hidden, 3, stride, groups=hidden), nn.Conv2d(hidden, cout, 1, bias=False),
                   nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class PoseMobileNetV2(nn.Module):
    """torchvision's MobileNetV2 features (names features.N...) at output stride 16 as DeepLabCut's
    TensorFlow MobileNetV2: features.14 (the first 160-channel block) with stride 1, no dilation.
    interm_layer is slim's layer_N (features.N-1), 0 for none."""

    def __init__(self, width, part=1, locref=0, pairwise=0, interm_layer=0, last_channels=None):
        super().__init__()
        cin = make_divisible(32 * width)
        last = last_channels or make_divisible(1280 * max(1.0, width))
        features, channels = [conv_bn_act(3, cin, 3, 2)], [cin]
        for t, c, n, s in MOBILENET_STAGES:
            cout = make_divisible(c * width)
            for i in range(n):
                stride = 1 if len(features) == 14 else (s if i == 0 else 1)
                features.append(InvertedResidual(cin, cout, stride, t))
                channels.append(cout)
                cin = cout
        features.append(conv_bn_act(cin, last, 1))
        channels.append(last)
        self.features = nn.Sequential(*features)
        self.interm_layer = interm_layer
        self.part_pred = TFSameDeconv(last, part)
        self.locref = TFSameDeconv(last, locref) if locref else None
        self.pairwise_pred = TFSameDeconv(last, pairwise) if pairwise else None
        self.intermediate_part_pred = TFSameDeconv(channels[interm_layer - 1], part) if interm_layer else None
        self.register_buffer("mean_pixel", torch.tensor(MEAN_PIXEL).view(1, 3, 1, 1), persistent=False)

    def forward(self, images):
        x = images - self.mean_pixel.to(images.dtype)
        interm = None
        for layer, feature in enumerate(self.features, 1):
            x = feature(x)
            if layer == self.interm_layer:
                interm = x
        out = {"part_pred": self.part_pred(x)}
        if self.locref is not None:
            out["locref"] = self.locref(x)
        if self.pairwise_pred is not None:
            out["pairwise_pred"] = self.pairwise_pred(x)
        if interm is not None:
            out["intermediate_part_pred"] = self.intermediate_part_pred(interm)
        return out


# The momentum (PyTorch's convention: the weight of the new batch) of DeepLabCut's MobileNetV2 batch
# norm, slim's decay 0.997, as src/nn/network.c sets it; ResNets keep PyTorch's 0.1.
MOBILENET_BN_MOMENTUM = 0.003


def make_pose_net(net_type, joints, locref=True):
    """The network dlcc builds for net_type with `joints` body parts (part_pred and, when locref, the
    locref head), batch-norm momentum as dlcc's."""
    if net_type in RESNET_BLOCKS:
        return PoseResNet(RESNET_BLOCKS[net_type], part=joints, locref=2 * joints if locref else 0)
    if net_type in MOBILENET_WIDTHS:
        model = PoseMobileNetV2(MOBILENET_WIDTHS[net_type], part=joints, locref=2 * joints if locref else 0)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = MOBILENET_BN_MOMENTUM
        return model
    raise ValueError(f"unknown net_type {net_type}: use one of {', '.join(list(RESNET_BLOCKS) + list(MOBILENET_WIDTHS))}")


def init_like_dlcc(model, zero_init_residual=False):
    """dlcc's random initialisation (src/nn/init.c, dlcc_nn_network_init_random): convolution weights
    Kaiming normal with fan_out (std sqrt(2 / (out_channels * kh * kw))), batch norm the identity, the
    heads and dlcrnet's decoder (slim's layers) Xavier uniform with zero bias. zero_init_residual sets each
    Bottleneck's bn3 scale to 0 (torchvision's option, which bench/bench_engine.c uses; dlcc train
    does not)."""
    for m in model.modules():
        if isinstance(m, (TFSameDeconv, TFSameConv2d)):  # slim's defaults: DeepLabCut's own layers
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, SlimBatchNorm):
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
            m.reset_running_stats()
        if zero_init_residual and isinstance(m, Bottleneck):
            nn.init.zeros_(m.bn3.weight)
    return model
