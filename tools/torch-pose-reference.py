#!/usr/bin/python3
"""Runs DeepLabCut's ResNet, MobileNetV2 or dlcrnet pose network in PyTorch on weights and images written
by dlcc, for tests/test_nn_network_torch.c (which calls it when Debian's python3-torch is installed):

    /usr/bin/python3 tools/torch-pose-reference.py WEIGHTS INPUT OUTPUT

WEIGHTS: every parameter under its torchvision name, metadata net_type, part, locref, pairwise (the
heads' channels, 0 when absent) and interm (ResNet: the layer3 unit, MobileNetV2: slim's layer_N; 0
when absent), mode ("eval": batch norm with the running statistics; "train": with the batch's, as
DeepLabCut's TensorFlow MobileNetV2 runs). INPUT: tensor "input", N x 3 x H x W RGB 0..255.
OUTPUT: one tensor per head, named as the head ("part_pred", "locref", ...), computed in float32.
"""
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import torch_pose_nets  # noqa: E402


def main(weights_path, input_path, output_path):
    weights, meta = torch_pose_nets.read_safetensors(weights_path)
    inputs, _ = torch_pose_nets.read_safetensors(input_path)
    heads = dict(part=int(meta["part"]), locref=int(meta["locref"]), pairwise=int(meta["pairwise"]))
    net_type, interm = meta["net_type"], int(meta["interm"])
    if net_type in torch_pose_nets.RESNET_BLOCKS:
        model = torch_pose_nets.PoseResNet(torch_pose_nets.RESNET_BLOCKS[net_type], interm_unit=interm, **heads)
    elif net_type in torch_pose_nets.DLCRNET_BACKBONES:
        blocks = torch_pose_nets.RESNET_BLOCKS[torch_pose_nets.DLCRNET_BACKBONES[net_type]]
        model = torch_pose_nets.PoseDLCRNet(blocks, part=heads["part"], locref=heads["locref"], pafs=heads["pairwise"],
                                            interm_unit=interm)
    else:
        model = torch_pose_nets.PoseMobileNetV2(torch_pose_nets.MOBILENET_WIDTHS[net_type], interm_layer=interm,
                                                **heads)
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"{weights_path}: missing {missing}, unexpected {unexpected}")
    model.train(meta["mode"] == "train")
    with torch.no_grad():
        heads = model(inputs["input"])
    torch_pose_nets.write_safetensors(pathlib.Path(output_path), heads, {"generator": f"PyTorch {torch.__version__}"})


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
