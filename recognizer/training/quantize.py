"""8-bit export of the ONNX network, calibrated on generated windows (never on real photos)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

from recognizer.spec import ModelSpec, RendererSpec
from recognizer.synth.windows import WindowGenerator

log = logging.getLogger(__name__)

CALIBRATION_WINDOWS = 512
"""Generated windows whose activations set the 8-bit ranges."""


def output_convolutions(graph) -> list[str]:  # type: ignore[no-untyped-def]
    """Names of the convolutions that make the graph's outputs (followed only by layout steps such as Transpose).

    Args:
        graph: An ``onnx.GraphProto``.
    """
    producer = {out: node for node in graph.node for out in node.output}
    names = []
    for output in graph.output:
        node = producer[output.name]
        while node.op_type != "Conv":
            node = producer[node.input[0]]
        names.append(node.name)
    return names


def quantize_int8(onnx: Path, model: ModelSpec, renderer: RendererSpec, out: Path, seed: int = 0) -> None:
    """Writes an 8-bit (QDQ, per-channel weights) copy of an ONNX network.

    Activation ranges come from :data:`CALIBRATION_WINDOWS` windows of the training renderer at full camera
    degradation, so the quantized network is tuned to nothing it will later be scored on. The two output
    convolutions (presence and box, character logits) stay in floating point: they are cheap, and rounding the
    logits cost reads. Weights are kept to 7 bits (``reduce_range``): on x86 CPUs without VNNI (AVX2 only), ONNX
    Runtime multiplies 8-bit activations by 8-bit weights in 16-bit pairs that overflow with full-range weights,
    which halved the plates read there.

    Args:
        onnx: Float ONNX file from :func:`recognizer.engine.export_onnx`.
        model: Window spec.
        renderer: Renderer settings the calibration windows are drawn with.
        out: The ``.onnx`` file to write.
        seed: Seed of the calibration windows.
    """
    import onnx as onnx_lib
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quant_pre_process, quantize_static

    generator = WindowGenerator(model, renderer, seed)
    images = generator.batch(np.random.default_rng(seed), CALIBRATION_WINDOWS).images[..., None].astype(np.float32)

    class Windows(CalibrationDataReader):
        def __init__(self, name: str) -> None:
            self.batches = iter([{name: images[i : i + 64]} for i in range(0, len(images), 64)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(onnx), str(prepared), skip_symbolic_shape=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        graph = onnx_lib.load(str(prepared)).graph
        quantize_static(str(prepared), str(out), Windows(graph.input[0].name), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        reduce_range=True, nodes_to_exclude=output_convolutions(graph))
    log.info("wrote %s", out)
