"""Export a trained model: safetensors weights, or an ONNX graph checked against PyTorch."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import torch

from aigc_studio.core.atomic import atomic_write_bytes
from aigc_studio.engine.checkpoint import save_weights
from aigc_studio.engine.inference import LoadedModel
from aigc_studio.errors import AigcError

FORMATS = ("safetensors", "onnx")


def export_model(model: LoadedModel, fmt: str, out: Path) -> Path:
    """Write the family's inference network in ``fmt``; returns the written path."""
    out = Path(out).expanduser()
    if out.parent and not out.parent.exists():
        raise AigcError(f"The folder {out.parent} does not exist.")
    try:
        if fmt == "safetensors":
            save_weights(out, model.net.state_dict(), model.config, epoch=str(model.epoch),
                         kind=model.family.inference_key, channels=str(model.channels),
                         num_classes=str(model.num_classes),
                         classes=json.dumps(list(model.class_names)))
        elif fmt == "onnx":
            export_onnx(model, out)
        else:
            raise AigcError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}.")
    except OSError as exc:
        raise AigcError(f"Cannot write {out} ({exc.strerror or exc}).") from None
    return out


def export_onnx(model: LoadedModel, out: Path) -> None:
    """ONNX with a dynamic batch, over the input the family names (a latent, an image...)."""
    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError:
        raise AigcError("ONNX export needs the onnx extra: pip install 'aigc-studio[onnx]'.") \
            from None
    net = model.net.cpu().eval()
    inputs, names = _example(model)

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, inputs, buffer, dynamo=False, input_names=list(names[:-1]),
                          output_names=[names[-1]], opset_version=17,
                          dynamic_axes={name: {0: "batch"} for name in names})
    atomic_write_bytes(out, buffer.getvalue())


def _example(model: LoadedModel) -> tuple[tuple[torch.Tensor, ...], tuple[str, ...]]:
    """The family's example input(s) as a tuple, and the names: inputs..., then the output."""
    example, names = model.family.impl.export_example(model.config, model.channels)
    return (example if isinstance(example, tuple) else (example,)), names


def onnx_max_difference(model: LoadedModel, path: Path, seed: int = 0) -> float:
    """Largest absolute difference between onnxruntime and PyTorch on a random input."""
    import onnxruntime as ort

    torch.manual_seed(seed)
    inputs, names = _example(model)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}  # an input the graph ignores is dropped
    got = session.run(None, {n: x.numpy() for n, x in zip(names, inputs, strict=False)
                             if n in wanted})[0]
    with torch.no_grad():
        want = model.net.cpu().eval()(*inputs).numpy()
    return float(np.abs(got - want).max())
