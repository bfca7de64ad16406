"""Folding constant scales and shifts into convolutions: fewer ops, the same function."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from ocrcore.fold import fold_conv_affine
from ocrcore.registry import models_dir

RNG = np.random.default_rng(3)


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def conv_then(*ops: tuple[str, np.ndarray]) -> onnx.ModelProto:
    """x -> 3x3 conv (4 -> 6 channels, padded) -> each (op, constant) in turn -> y."""
    inits = [
        numpy_helper.from_array(RNG.normal(size=(6, 4, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(RNG.normal(size=6).astype(np.float32), "b"),
    ]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["t0"], pads=[1, 1, 1, 1])]
    for i, (op, value) in enumerate(ops):
        inits.append(numpy_helper.from_array(value.astype(np.float32), f"c{i}"))
        nodes.append(helper.make_node(op, [f"t{i}", f"c{i}"], [f"t{i + 1}"]))
    nodes.append(helper.make_node("Identity", [f"t{len(ops)}"], ["y"]))
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=8)


def test_per_channel_and_scalar_scales_and_shifts_fold_into_the_conv():
    model = conv_then(("Mul", RNG.normal(size=(1, 6, 1, 1))), ("Add", np.array([0.25])), ("Mul", np.array(1.5)))
    x = RNG.normal(size=(1, 4, 8, 8)).astype(np.float32)
    expected = run(model, x)
    assert fold_conv_affine(model) == 3
    assert [n.op_type for n in model.graph.node] == ["Conv", "Identity"]
    np.testing.assert_allclose(run(model, x), expected, rtol=1e-5, atol=1e-5)


def test_constants_that_are_not_per_channel_are_left_alone():
    # Shape [8] broadcasts along the last (width) axis, not the channels.
    model = conv_then(("Add", RNG.normal(size=8)), ("Mul", RNG.normal(size=(1, 6, 1, 1))))
    x = RNG.normal(size=(1, 4, 8, 8)).astype(np.float32)
    expected = run(model, x)
    assert fold_conv_affine(model) == 0
    np.testing.assert_allclose(run(model, x), expected, rtol=1e-6)


@pytest.mark.parametrize("relative", ["ppocrv5-mobile/ppocrv5_mobile_rec.onnx", "ppocrv6-small/ppocrv6_small_rec.onnx"])
def test_real_recognisers_compute_the_same_after_folding(relative):
    original = onnx.load(str(models_dir() / relative))
    model = onnx.load(str(models_dir() / relative))
    count = fold_conv_affine(model)
    assert count > 50  # v5: the affine blocks and conv biases; v6: the conv biases
    ops = lambda m: sum(n.op_type in ("Mul", "Add") for n in m.graph.node)  # noqa: E731
    assert ops(model) == ops(original) - count
    x = RNG.uniform(-1, 1, size=(2, 3, 48, 160)).astype(np.float32)
    np.testing.assert_allclose(run(model, x), run(original, x), atol=1e-4)
