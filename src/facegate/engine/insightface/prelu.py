"""InsightFace's PRelu layers rewritten as `(1 - slope) * Relu(x) + slope * x`: the same
numbers to within float32 rounding, less time.

Profiled on ONNX Runtime's CPU provider (1.32), MobileFaceNet (w600k_mbf) spent about 45 % of
its time in its 34 PRelu layers: ONNX Runtime has no blocked-layout (NCHWc) PRelu, so each one
reordered its tensor out of the layout the convolutions run in and back. Relu, a Mul by a
per-channel constant (run as a 1x1 depthwise convolution) and Add all stay in that layout; the
recogniser runs in about two thirds of PRelu's time, its outputs within 3e-6 of PRelu's (docs/
performance.md "PRelu"; decisions.md D91).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from facegate.engine import runtime
from facegate.engine.insightface.model_pack import PackFile
from facegate.engine.options import EngineOptions


def session(file: PackFile, options: EngineOptions) -> runtime.Network:
    """The session every InsightFace pack file runs in: its PRelu layers rewritten."""
    return runtime.create_session(without_prelu(file.path.read_bytes()), options=options)


def without_prelu(model: bytes) -> bytes:
    """`model` with each PRelu as Relu, two Muls and an Add; unchanged when it has none, or
    when a slope is not a constant (an input of the graph)."""
    graph = onnx.load_from_string(model)
    nodes = graph.graph.node
    prelus = [node for node in nodes if node.op_type == "PRelu"]
    constants = {tensor.name: tensor for tensor in graph.graph.initializer}
    if not prelus or not all(node.input[1] in constants for node in prelus):
        return model
    rewritten = []
    for node in nodes:
        if node.op_type != "PRelu":
            rewritten.append(node)
            continue
        x, slope = node.input
        (y,) = node.output
        # For x > 0: (1 - slope) x + slope x = x; for x <= 0: 0 + slope x. Any slope.
        rest = numpy_helper.from_array(
            (1 - numpy_helper.to_array(constants[slope])).astype(np.float32), f"{y}/1-slope"
        )
        graph.graph.initializer.append(rest)
        rewritten += [
            helper.make_node("Relu", [x], [f"{y}/relu"], name=f"{node.name}/relu"),
            helper.make_node(
                "Mul", [f"{y}/relu", rest.name], [f"{y}/pos"], name=f"{node.name}/pos"
            ),
            helper.make_node("Mul", [x, slope], [f"{y}/neg"], name=f"{node.name}/neg"),
            helper.make_node("Add", [f"{y}/pos", f"{y}/neg"], [y], name=f"{node.name}/add"),
        ]
    del nodes[:]
    nodes.extend(rewritten)
    serialized: bytes = graph.SerializeToString()
    return serialized
