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


def dequantized(node, constants: dict[str, np.ndarray]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The float values a ``DequantizeLinear`` node gives its constant input (per tensor or per channel).

    Args:
        node: An ``onnx.NodeProto`` of type ``DequantizeLinear`` whose inputs are initializers.
        constants: Initializer arrays by name.
    """
    quantized = constants[node.input[0]].astype(np.float64)
    scale = constants[node.input[1]].astype(np.float64)
    zero_point = constants[node.input[2]].astype(np.float64) if len(node.input) > 2 else np.zeros(())
    shape = [1] * quantized.ndim
    if scale.ndim:
        axis = next((attribute.i for attribute in node.attribute if attribute.name == "axis"), 1)
        shape[min(axis, quantized.ndim - 1)] = -1
    return ((quantized - zero_point.reshape(shape)) * scale.reshape(shape)).astype(np.float32)


def float_input_convolution(model) -> None:  # type: ignore[no-untyped-def]
    """Makes an 8-bit model's first convolution (the one reading the image, one gray channel) a float convolution
    that gives the same 8-bit result: its weights and bias are the dequantized ones, and the quantization of its
    output moves after its max pooling, whose output is quantized on the same scale (rounding commutes with a
    maximum). ONNX Runtime's 8-bit convolution of one input channel is three times slower than the float one on an
    AVX2 CPU. The model must then run without ``QDQPropagationTransformer``
    (:func:`recognizer.engine.onnx_session`).

    Args:
        model: An ``onnx.ModelProto`` from :func:`quantize_int8`'s quantizer, changed in place.

    Raises:
        ValueError: If its first convolution is not followed by quantization, max pooling and quantization on the
            same scale.
    """
    from onnx import numpy_helper

    graph = model.graph
    constants = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    conv = next(node for node in graph.node if node.op_type == "Conv")
    chain = [conv]
    for _ in range(4):
        following = consumers.get(chain[-1].output[0], []) if chain[-1] is not None else []
        chain.append(following[0] if len(following) == 1 else None)
    _, quantize, dequantize, pool, requantize = chain
    if ([getattr(node, "op_type", None) for node in chain[1:]] != ["QuantizeLinear", "DequantizeLinear", "MaxPool", "QuantizeLinear"]
            or not all(np.array_equal(constants[a], constants[b]) for a, b in zip(quantize.input[1:], requantize.input[1:]))):
        raise ValueError(f"{conv.name}: not followed by quantization, max pooling and quantization on one scale")
    removed = [quantize, dequantize]
    for k in range(1, len(conv.input)):  # weights, bias
        if conv.input[k] in producer and producer[conv.input[k]].op_type == "DequantizeLinear":
            removed.append(producer[conv.input[k]])
            conv.input[k] = f"{conv.input[k]}_float"
            graph.initializer.append(numpy_helper.from_array(dequantized(removed[-1], constants), conv.input[k]))
    pool.input[0] = conv.output[0]
    for node in removed:
        graph.node.remove(node)
    used = {name for node in graph.node for name in node.input}
    for tensor in [tensor for tensor in graph.initializer if tensor.name not in used]:
        graph.initializer.remove(tensor)


def quantize_int8(onnx: Path, model: ModelSpec, renderer: RendererSpec, out: Path, seed: int = 0) -> None:
    """Writes an 8-bit (QDQ, per-channel weights) copy of an ONNX network.

    Activation ranges come from :data:`CALIBRATION_WINDOWS` windows of the training renderer at full camera
    degradation, so the quantized network is tuned to nothing it will later be scored on. The two output
    convolutions (presence and box, character logits) stay in floating point: they are cheap, and rounding the
    logits cost reads. The input convolution computes its 8-bit result in floating point
    (:func:`float_input_convolution`). Weights are kept to 7 bits (``reduce_range``): on x86 CPUs without VNNI (AVX2 only), ONNX
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
    quantized = onnx_lib.load(str(out))
    float_input_convolution(quantized)
    onnx_lib.save(quantized, str(out))
    log.info("wrote %s", out)
