#!/usr/bin/env python3
"""onnx_tests.py: the Python side of tests/onnx.sh (Debian's python3-onnx, python3-numpy and, for
`torch`, python3-torch). Each subcommand prints what it checked and exits non-zero on a mismatch.

  check MODEL.onnx                      onnx.checker.check_model(full_check=True), opset, I/O names
  compare A.f32 B.f32 CLASSES PRED      logits A vs B: max |diff| <= 1e-4, A's argmax == PRED's classes
  same-tensors A.onnx B.onnx            the initializers' shapes and bytes, in order, are equal
  torch OUT.onnx IMAGES.idx PRED LOGITS a seeded nn.Sequential (conv, BN, pool, flatten, linear)
                                        exported by torch.onnx.export (opset 13); its predictions
                                        and logits on the images (pixel / 255) to PRED and LOGITS
  frozen FT.safetensors SRC.onnx N..    layers.N.weight of the fine-tuned model == SRC's, bit for bit
  unsupported DIR                       graphs clmnist must refuse, one per file
  forged SRC.onnx DIR                   truncated and forged copies of SRC
"""
import gzip
import json
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def idx_images(path):
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    n, h, w = struct.unpack(">III", raw[4:16])
    return np.frombuffer(raw, np.uint8, n * h * w, 16).reshape(n, 1, h, w)


def check(path):
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    ins = [i.name for i in m.graph.input]
    outs = [o.name for o in m.graph.output]
    opset = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")][0]
    props = {p.key: p.value for p in m.metadata_props}
    ok = ins == ["input"] and outs == ["logits", "probabilities"] and opset >= 13 and \
        m.graph.input[0].type.tensor_type.shape.dim[0].dim_param != "" and \
        {"class_names", "pipeline", "clmnist.version"} <= set(props)
    json.loads(props.get("pipeline", "{}"))
    print(f"check: {path}: checker (full_check) passed; opset {opset}; inputs {ins}, outputs {outs}; "
          f"metadata {sorted(props)}")
    return 0 if ok else 1


def compare(a, b, classes, pred):
    x = np.fromfile(a, np.float32).reshape(-1, int(classes))
    y = np.fromfile(b, np.float32).reshape(-1, int(classes))
    p = np.loadtxt(pred, dtype=np.int64)
    diff = float(np.abs(x - y).max())
    same = int((x.argmax(1) == p).sum())
    print(f"compare: {len(x)} images: max |logit difference| {diff:.3g} (limit 1e-4); same class as "
          f"clmnist for {same} of {len(p)}")
    return 0 if x.shape == y.shape and diff <= 1e-4 and same == len(p) == len(x) else 1


def same_tensors(a, b):
    ta = [(list(t.dims), numpy_helper.to_array(t).tobytes()) for t in onnx.load(a).graph.initializer]
    tb = [(list(t.dims), numpy_helper.to_array(t).tobytes()) for t in onnx.load(b).graph.initializer]
    print(f"same-tensors: {len(ta)} and {len(tb)} initializers; equal bit for bit: {ta == tb}")
    return 0 if ta == tb else 1


def torch_model(out, images, pred_out, logits_out):
    import torch
    torch.manual_seed(26)
    net = torch.nn.Sequential(
        # the exporter folds a BatchNorm right after a Conv into it; the others stay BatchNormalization
        torch.nn.Conv2d(1, 8, 5), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1, bias=False), torch.nn.ReLU(), torch.nn.BatchNorm2d(16),
        torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(16 * 6 * 6, 64), torch.nn.BatchNorm1d(64),
        torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(64, 10))
    with torch.no_grad():  # known weights, and BatchNorm statistics that are not the identity
        for m in net:
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.3, 0.3), m.running_var.uniform_(0.5, 2.0)
        net[-1].weight.mul_(8.0)  # wide margins between the classes: no near-ties to decide by rounding
    net.eval()
    x = torch.from_numpy(idx_images(images).astype(np.float32) / 255.0)
    torch.onnx.export(net, x[:2], out, opset_version=13, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    with torch.no_grad():
        logits = torch.cat([net(x[i:i + 1000]) for i in range(0, len(x), 1000)]).numpy()
    top2 = np.sort(logits, 1)[:, -2:]
    gap = float((top2[:, 1] - top2[:, 0]).min())
    np.savetxt(pred_out, logits.argmax(1), fmt="%d")
    logits.astype(np.float32).tofile(logits_out)
    print(f"torch {torch.__version__}: {out}: conv-bn-relu-pool-conv-relu-bn-pool-flatten-fc-bn-relu-drop-fc, "
          f"{len(x)} images, smallest top-2 logit gap {gap:.3g}; ONNX ops {sorted({n.op_type for n in onnx.load(out).graph.node})}")
    return 0 if gap > 2e-5 else 1  # 30 times the largest logit difference seen (6.6e-7)


def frozen(ft, src, layers):
    b = open(ft, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    inits = onnx.load(src).graph.initializer
    ok = True
    for i in layers:
        e = h[f"layers.{i}.weight"]
        mine = np.frombuffer(b[8 + n + e["data_offsets"][0]:8 + n + e["data_offsets"][1]], np.float32)
        same = any(numpy_helper.to_array(t).tobytes() == mine.tobytes() for t in inits if list(t.dims) == e["shape"])
        print(f"frozen: layers.{i}.weight {e['shape']}: the ONNX file's, bit for bit: {same}")
        ok &= same
    return 0 if ok else 1


def graph(name, nodes, inits, out_shape, in_shape=(None, 1, 28, 28), extra_inputs=()):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"] + list(in_shape[1:]))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"] + list(out_shape))
    g = helper.make_graph(nodes, name, [x] + list(extra_inputs), [y], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def const(name, *shape):
    rng = np.random.default_rng(len(name))
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


def unsupported(d):
    os.makedirs(d, exist_ok=True)
    head = [helper.make_node("Flatten", ["c"], ["f"], name="flat"),
            helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1)]

    def conv_net(conv, cout, side):
        return graph("g", [conv] + head, [const("w", cout, 1, 3, 3), const("fw", 10, cout * side * side),
                                         const("fb", 10)], [10])
    models = {
        "dilated": conv_net(helper.make_node("Conv", ["x", "w"], ["c"], name="conv_dilated", dilations=[2, 2]), 4, 24),
        "grouped": graph("g", [helper.make_node("Conv", ["x", "w"], ["c"], name="conv_grouped", group=2)] + head,
                         [const("w", 4, 1, 3, 3), const("fw", 10, 4 * 26 * 26), const("fb", 10)], [10],
                         in_shape=(None, 2, 28, 28)),
        "asymmetric": conv_net(helper.make_node("Conv", ["x", "w"], ["c"], name="conv_asym", pads=[0, 1, 0, 0]), 4,
                               26),
        "leakyrelu": graph("g", [helper.make_node("Conv", ["x", "w"], ["a"], name="conv"),
                                 helper.make_node("LeakyRelu", ["a"], ["c"], name="leaky", alpha=0.1)] + head,
                           [const("w", 4, 1, 3, 3), const("fw", 10, 4 * 26 * 26), const("fb", 10)], [10]),
        "branch": graph("g", [helper.make_node("Conv", ["x", "w"], ["a"], name="left", pads=[1, 1, 1, 1]),
                              helper.make_node("Conv", ["x", "w2"], ["b"], name="right", pads=[1, 1, 1, 1]),
                              helper.make_node("Add", ["a", "b"], ["c"], name="join")] + head,
                        [const("w", 4, 1, 3, 3), const("w2", 4, 1, 3, 3), const("fw", 10, 4 * 28 * 28),
                         const("fb", 10)], [10]),
        "weight_input": graph("g", [helper.make_node("Conv", ["x", "w"], ["c"], name="conv_w")] + head,
                              [const("fw", 10, 4 * 26 * 26), const("fb", 10)], [10],
                              extra_inputs=[helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 1, 3, 3])]),
    }
    for name, m in models.items():
        onnx.save(m, f"{d}/{name}.onnx")
    print(f"unsupported: {len(models)} graphs in {d}: {', '.join(models)}")
    return 0


def forged(src, d):
    os.makedirs(d, exist_ok=True)
    b = open(src, "rb").read()
    files = {"truncated_half": b[:len(b) // 2], "truncated_10": b[:10], "empty": b"",
             "garbage": bytes((i * 73 + 11) % 256 for i in range(4096)),
             "flipped": bytes(c ^ 0xFF if i % 97 == 5 else c for i, c in enumerate(b))}
    m = onnx.load(src)  # a weight that claims 2^40 elements: refused before any allocation
    w = m.graph.initializer[3]
    del w.dims[:]
    w.dims.extend([1 << 20, 1 << 20])
    files["huge_dims"] = m.SerializeToString()
    m = onnx.load(src)  # a weight whose data is shorter than its shape
    m.graph.initializer[3].raw_data = m.graph.initializer[3].raw_data[:-4]
    files["short_data"] = m.SerializeToString()
    m = onnx.load(src)  # a normalisation clmnist does not apply (mean 0.5)
    m.graph.initializer[1].raw_data = np.full(1, 0.5, np.float32).tobytes()
    files["normalisation"] = m.SerializeToString()
    m = onnx.load(src)  # metadata_props' pipeline disagreeing with the graph
    for p in m.metadata_props:
        if p.key == "pipeline":
            p.value = p.value.replace('"mean":0', '"mean":0.5')
    files["pipeline_mismatch"] = m.SerializeToString()
    def field(number, payload):  # a length-delimited protobuf field
        key, n, size = number << 3 | 2, len(payload), b""
        while True:
            size += bytes([n & 0x7F | (0x80 if n > 0x7F else 0)])
            n >>= 7
            if not n:
                return bytes([key]) + size + payload
    nested = b""  # graph > node > attribute > graph ..., 24000 deep: protobuf-c recurses (stack overflow)
    for _ in range(8000):
        nested = field(1, field(5, field(6, nested)))
    files["deep"] = b"\x08\x07" + field(7, nested)
    for name, data in files.items():
        open(f"{d}/{name}.onnx", "wb").write(data)
    print(f"forged: {len(files)} files in {d}: {', '.join(files)}")
    return 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "frozen":
        return frozen(args[0], args[1], [int(a) for a in args[2:]])
    return {"check": check, "compare": compare, "same-tensors": same_tensors, "torch": torch_model,
            "unsupported": unsupported, "forged": forged}[cmd](*args)


if __name__ == "__main__":
    sys.exit(main())
