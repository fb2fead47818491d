"""InsightFace's PRelu layers rewritten as `Max(x, slope * x)`: the same numbers, less time.

Profiled on ONNX Runtime's CPU provider (1.32), MobileFaceNet (w600k_mbf) spends about 45 % of
its time in its 34 PRelu layers. Where every slope is at most 1, `Max(x, slope * x)` is PRelu
exactly (for x >= 0, x >= slope * x; for x < 0, slope * x >= x), and ONNX Runtime runs that Mul
and Max faster: the recogniser's outputs are bit for bit the same, in about 70 % of the time
(docs/performance.md "PRelu"; decisions.md D91).
"""

from __future__ import annotations

import onnx
from onnx import helper, numpy_helper

from facegate.engine import runtime
from facegate.engine.insightface.model_pack import PackFile
from facegate.engine.options import EngineOptions


def session(file: PackFile, options: EngineOptions) -> runtime.InferenceSession:
    """The session every InsightFace pack file runs in: its PRelu layers rewritten."""
    return runtime.create_session(as_max(file.path.read_bytes()), options=options)


def as_max(model: bytes) -> bytes:
    """`model` with each PRelu as Mul and Max; unchanged when it has none, or when a slope is
    not a constant at most 1 (there Max would not be PRelu)."""
    graph = onnx.load_from_string(model)
    nodes = graph.graph.node
    prelus = [node for node in nodes if node.op_type == "PRelu"]
    constants = {tensor.name: tensor for tensor in graph.graph.initializer}
    if not prelus or not all(
        node.input[1] in constants and numpy_helper.to_array(constants[node.input[1]]).max() <= 1
        for node in prelus
    ):
        return model
    rewritten = []
    for node in nodes:
        if node.op_type != "PRelu":
            rewritten.append(node)
            continue
        x, slope = node.input
        (y,) = node.output
        scaled = f"{y}/slope_x"
        rewritten += [
            helper.make_node("Mul", [x, slope], [scaled], name=f"{node.name}/mul"),
            helper.make_node("Max", [x, scaled], [y], name=f"{node.name}/max"),
        ]
    del nodes[:]
    nodes.extend(rewritten)
    serialized: bytes = graph.SerializeToString()
    return serialized
