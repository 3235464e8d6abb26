#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

Seeds come from the committed fixtures (tests/fixtures), the project's data (data/lexicon*,
third_party/gpt2) and small hand-written inputs. Run from anywhere; rewrites the seed files it
owns (names starting with the target's prefix below) and leaves others alone. Needs only the
standard library, plus PyTorch (python3-torch) for the re-saved pytorch_model.bin subset (that seed
is skipped without it).

    /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import io
import json
import os
import struct
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(*parts):
    with open(os.path.join(*parts), "rb") as f:
        return f.read()


# ---- safetensors ---------------------------------------------------------------------------

def st_parse(blob):
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    return header, blob[8 + n:]


def st_write(entries, metadata=None):
    """entries: list of (name, dtype, shape, raw bytes), written like HF (sorted, padded)."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    data = b""
    for name, dtype, shape, raw in sorted(entries):
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def safetensors_seeds():
    for fixture in ("model.safetensors", "expected.safetensors"):
        blob = read(FIX, "gptneo_tiny", fixture)
        header, data = st_parse(blob)
        meta = header.pop("__metadata__", None)
        small = []
        for name, e in header.items():
            b, end = e["data_offsets"]
            if end - b <= 512:
                small.append((name, e["dtype"], e["shape"], data[b:end]))
        stem = fixture.split(".")[0]
        write("safetensors", f"fixture_{stem}_small_tensors.safetensors", st_write(small, meta))
        n = struct.unpack("<Q", blob[:8])[0]
        write("safetensors", f"fixture_{stem}_header_only.safetensors", blob[:8 + n])
    every = [("f64", "F64", [2], struct.pack("<2d", 0.5, -1.0)),
             ("f32", "F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
             ("f16", "F16", [1], b"\x00\x3c"), ("bf16", "BF16", [1], b"\x80\x3f"),
             ("i64", "I64", [1], struct.pack("<q", -5)), ("i32", "I32", [], struct.pack("<i", 7)),
             ("i16", "I16", [2], struct.pack("<2h", 1, -1)), ("i8", "I8", [1], b"\xff"),
             ("u8", "U8", [3], b"\x00\x01\xff"), ("bool", "BOOL", [2], b"\x01\x00"),
             ("empty", "F32", [0, 4], b"")]
    write("safetensors", "every_dtype.safetensors", st_write(every, {"format": "pt"}))
    write("safetensors", "no_tensors.safetensors", st_write([]))


# ---- pytorch_model.bin ---------------------------------------------------------------------

def torch_seeds():
    for name, path in (("mixed_dtypes", os.path.join(FIX, "gptneo_tiny_extra", "mixed_dtypes.bin")),
                       ("gptneo_tiny", os.path.join(FIX, "gptneo_tiny_bin", "pytorch_model.bin"))):
        with zipfile.ZipFile(path) as z:
            pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
            write("torch_pickle", f"fixture_{name}_data.pkl", z.read(pkl))
    write("torch_zip", "fixture_mixed_dtypes.bin",
          read(FIX, "gptneo_tiny_extra", "mixed_dtypes.bin"))
    try:
        import torch
    except ImportError:
        print("make_seeds: no torch, skipping the re-saved pytorch_model.bin subset",
              file=sys.stderr)
        return
    state = torch.load(os.path.join(FIX, "gptneo_tiny_bin", "pytorch_model.bin"))
    small = {k: v for k, v in state.items() if v.numel() * v.element_size() <= 512}
    base = next(iter(small.values()))
    small["view_of_first"] = base[1:]  # shares the first tensor's storage at an offset
    buf = io.BytesIO()
    torch.save(small, buf)
    write("torch_zip", "fixture_gptneo_tiny_small_tensors.bin", buf.getvalue())


# ---- regression inputs: what the fuzz targets (or their review) found, docs/fuzzing.md ----------

def regression_seeds():
    def ustr(x):
        b = x.encode()
        return b"X" + struct.pack("<I", len(b)) + b
    write("torch_pickle", "regression_self_containing_list.pkl", b"\x80\x02]q\x00h\x00a.")
    write("torch_pickle", "regression_nested_lists.pkl", b"\x80\x02" + b"]" * 100 + b"a" * 99 + b".")
    view = (b"\x80\x02}" + ustr("w") + b"ctorch._utils\n_rebuild_tensor_v2\n((" + ustr("storage") +
            b"ctorch\nFloatStorage\n" + ustr("0") + ustr("cpu") + b"K\x04tQK\x00\x8a\x08" +
            struct.pack("<q", 1 << 62) + b"K\x02\x86K\x04K\x01\x86\x89" +
            b"ccollections\nOrderedDict\n)RtRs.")
    write("torch_pickle", "regression_view_extent_overflow.pkl", view)
    header = b'{"t":{"dtype":"F32","shape":[' + b"[" * 100 + b"]" * 100 + b'],"data_offsets":[0,0]}}'
    write("safetensors", "regression_nested_shape.safetensors",
          struct.pack("<Q", len(header)) + header)
    cfg = json.loads(read(FIX, "gptneo_tiny", "config.json"))
    cfg["attention_types"] = [[["global", "local"], 1000000000000]]
    write("gpt_neo_config", "regression_huge_repeat.json", json.dumps(cfg))
    del cfg["attention_types"], cfg["attention_layers"], cfg["hidden_size"]
    write("gpt_neo_config", "regression_missing_keys.json", json.dumps(cfg))


# ---- config.json ---------------------------------------------------------------------------

def config_seeds():
    cfg = json.loads(read(FIX, "gptneo_tiny", "config.json"))
    write("gpt_neo_config", "fixture_config.json", json.dumps(cfg, indent=2))
    routed = dict(cfg)
    routed["routing"] = {"num_pathways": 8, "top_k": 2, "router_hidden": 16,
                         "route_every_n_layers": 2, "layers": [], "router_activation": "relu",
                         "temperature": 1.0,
                         "balancing": {"method": "glbl", "alpha": 0.01, "ema_momentum": 0.5,
                                       "bias_update_rate": 0.001}}
    write("gpt_neo_config", "routed_config.json", json.dumps(routed))
    minimal = {k: cfg[k] for k in ("model_type", "vocab_size", "hidden_size", "num_layers",
                                   "num_heads", "max_position_embeddings", "window_size",
                                   "attention_types")}
    write("gpt_neo_config", "minimal_config.json", json.dumps(minimal))


# ---- job spec ------------------------------------------------------------------------------

def job_spec_seeds():
    write("job_spec", "minimal_finetune.yaml",
          "kind: finetune\nmodel_dir: /models/base\ndata:\n  train_path: /data/train.txt\n"
          "output_dir: /tmp/job\n")
    write("job_spec", "pretrain_with_overrides.yaml",
          "kind: pretrain\ndata: {train_path: a.txt, seq_len: 64}\noutput_dir: o\n"
          "#set optim.max_steps=300\n#set routing.balancing.alpha=0\n"
          "#set optim.betas=[0.9, 0.95]\n")
    write("job_spec", "full.yaml", """name: "full"
kind: finetune
model_dir: /models/base
model:
  config_path: ""
  vocab_size: 50257
  hidden_size: 64
  num_layers: 8
  num_heads: 16
  intermediate_size: 0
  max_position_embeddings: 2048
  window_size: 256
  attention_layers: [global, local, global, local, global, local, global, local]
  layer_norm_epsilon: 1e-5
  initializer_range: 0.02
routing:
  enabled: true
  num_pathways: 16
  top_k: 4
  router_hidden: 128
  route_every_n_layers: 2
  layers: [0, 2, 4, 6]
  router_activation: relu
  temperature: 1.0
  balancing: {method: glbl, alpha: 0.01, ema_momentum: 0.5, bias_update_rate: 0.001}
data:
  train_path: /data/train.txt
  valid_path: ""
  valid_fraction: 0.05
  format: auto
  seq_len: 128
  seed: 0
  tokenizer_dir: ""
  cache_dir: ""
  tokenize_threads: 0
optim: {lr: 1e-3, weight_decay: 0.01, betas: [0.9, 0.999], eps: 1e-8, warmup_steps: 100,
        max_steps: 1000, min_lr_ratio: 0.1, grad_clip: 1.0, batch_size: 16, grad_accum: 1}
eval_every: 100
eval_batches: 20
checkpoint_every: 100
keep_checkpoints: 3
output_dir: runs/job1
device: cpu
precision: auto
freeze_base: false
threads: 0
log_every: 10
seed: 0
record: {sample_rate: 0.0, eval_split_events: true, controls: true}
""")
    write("job_spec", "anchors.yaml",
          "kind: pretrain\ndata: &d {train_path: a.txt}\noutput_dir: &o out\nname: *o\n")


# ---- tokenizer -----------------------------------------------------------------------------

def bytes_to_unicode():
    """GPT-2's byte -> character map: the Python client's own (clients/python/monoroute_client/
    tokenizer.py, standard library only), loaded by path so the package's gRPC imports are not
    needed here."""
    import importlib.util
    path = os.path.join(ROOT, "clients", "python", "monoroute_client", "tokenizer.py")
    spec = importlib.util.spec_from_file_location("_monoroute_tokenizer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.bytes_to_unicode()


def tokenizer_seeds():
    b2u = bytes_to_unicode()
    base = [b2u[b] for b in range(256)]
    merges_path = os.path.join(ROOT, "third_party", "gpt2", "merges.txt")
    lines = []
    if os.path.exists(merges_path):
        with open(merges_path, encoding="utf-8") as f:
            lines = [ln.rstrip("\n") for ln in f if ln.strip() and not ln.startswith("#version")]
    else:
        lines = ["Ġ t", "Ġ a", "h e", "i n", "r e", "o n", "Ġt he", "e r"]
    vocab = {t: i for i, t in enumerate(base)}
    merges = []
    for ln in lines[:120]:  # GPT-2's first merges, ids renumbered densely
        left, right = ln.split(" ")
        if left in vocab and right in vocab and left + right not in vocab:
            vocab[left + right] = len(vocab)
            merges.append(ln)
    vocab["<|endoftext|>"] = len(vocab)
    v = json.dumps(vocab, ensure_ascii=False)
    write("tokenizer", "gpt2_first_merges.bin",
          v + "\0" + "#version: 0.2\n" + "\n".join(merges) + "\n")
    write("tokenizer", "regression_empty_merges.bin", json.dumps(
        {**{t: i for i, t in enumerate(base)}, "<|endoftext|>": 256}, ensure_ascii=False) +
        "\0" + "\n")


# ---- TSVs ----------------------------------------------------------------------------------

def tsv_seeds():
    write("token_categories", "written_by_corpus_generate.tsv",
          "token_id\ttoken\tcategory\tcount\n11\t,\tpunctuation\t812\n13\t.\tpunctuation\t1520\n"
          "3290\t dog\tanimal\t44\n4171\t cat\tanimal\t31\n7586\t happy\tfeeling\t12\n"
          "50\t\\x0a\tmixed\t3\n")
    write("token_categories", "crlf_and_none.tsv",
          "token_id\ttoken\tcategory\tcount\r\n5\ta\tnone\t0\r\n6\tb\tNOUN\t2\r\n")
    for d in ("lexicon", "lexicon_pos"):
        folder = os.path.join(ROOT, "data", d)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder))[:6]:
            if name.endswith(".tsv"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    head = "".join(f.readlines()[:25])
                write("lexicon", f"data_{d}_{name}", head)
    write("lexicon", "hand_written.tsv",
          "# comment\nLily\tname\ndog\tanimal\nDog\tanimal\n\nhappy\tfeeling\nB-PER\tB-PER\n")


# ---- recorder batch (format: tests/fuzz/batch_validator_fuzzer.cc) ---------------------------

def batch(run_id=b"job-1", layers=(1, 3, 5, 7), pathways=16, top_k=4, vocab=50257,
          writer=b"job-1", split=b"", max_events=64, k=4, damage=0, events=()):
    out = bytes([len(run_id)]) + run_id + bytes([len(layers)]) + bytes(layers)
    out += struct.pack("<HHI", pathways, top_k, vocab) + b"\x01"
    out += bytes([len(writer)]) + writer + bytes([len(split)]) + split
    out += bytes([max_events, k, damage])
    for layer, tok, nxt, step, paths, weights in events:
        out += bytes([layer]) + struct.pack("<HH", tok, nxt) + bytes([step])
        for p, w in zip(paths, weights):
            out += bytes([p, w])
    return out


def batch_seeds():
    ok = [(i % 4, 100 + i, 101 + i, 3, [i % 16, (i + 5) % 16, (i + 9) % 16, (i + 13) % 16],
           [110, 105, 103, 102]) for i in range(6)]
    write("batch_validator", "valid_6_events.bin", batch(events=ok))
    write("batch_validator", "eval_split.bin", batch(split=b"valid", events=ok[:2]))
    write("batch_validator", "nan_weight.bin",
          batch(events=[(0, 1, 2, 0, [0, 1, 2, 3], [251, 100, 100, 100])]))
    write("batch_validator", "regression_repeated_pathway.bin",
          batch(events=[(0, 1, 2, 0, [4, 7, 4, 9], [110, 105, 103, 102])]))
    write("batch_validator", "undeclared_layer.bin",
          batch(events=[(128 + 2, 1, 2, 0, [0, 1, 2, 3], [100, 100, 100, 100])]))
    write("batch_validator", "short_column.bin", batch(damage=4, events=ok[:3]))


# ---- event_batch_reader: recorder.v1.EventBatch wire bytes ---------------------------------

def pb_varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def pb_field(number, wire_type, payload):
    """One field: tag, then a varint value (wire type 0) or a length-prefixed payload (2)."""
    tag = pb_varint((number << 3) | wire_type)
    if wire_type == 0:
        return tag + pb_varint(payload)
    return tag + pb_varint(len(payload)) + payload


def event_batch(events=4, top_k=2, split=b"train", extra=b""):
    """An EventBatch as EventBatchWire writes it (packed columns), plus `extra` bytes."""
    packed = lambda values: b"".join(pb_varint(v) for v in values)
    out = pb_field(1, 2, b"run-1") + pb_field(2, 2, b"writer-0") + pb_field(3, 0, 7)
    out += pb_field(4, 2, split) + pb_field(5, 0, 300) + pb_field(6, 0, 2) + pb_field(7, 0, top_k)
    out += pb_field(12, 2, packed([1000 + i // 2 for i in range(events)]))
    out += pb_field(13, 2, packed(range(events)))
    out += pb_field(14, 2, packed([50000 - 97 * i for i in range(events)]))
    out += pb_field(15, 2, packed([17 * i for i in range(events)]))
    out += pb_field(16, 2, packed([(i + k) % 16 for i in range(events) for k in range(top_k)]))
    out += pb_field(17, 2, struct.pack("<%df" % (events * top_k),
                                       *[0.5 - 0.1 * k for i in range(events) for k in range(top_k)]))
    return out + extra


def event_batch_reader_seeds():
    t = "event_batch_reader"
    write(t, "canonical_4_events.bin", event_batch())
    write(t, "canonical_300_events.bin", event_batch(events=300, top_k=4))
    write(t, "empty.bin", b"")
    write(t, "unknown_field.bin", event_batch(extra=pb_field(99, 0, 5)))
    write(t, "unpacked_token_id.bin", event_batch(extra=pb_field(14, 0, 7) + pb_field(14, 0, 8)))
    write(t, "utf8_split.bin", event_batch(split="valid/é".encode("utf-8")))
    write(t, "ten_byte_step.bin", pb_field(5, 0, (1 << 64) - 1))
    # Found by the fuzzer: an empty packed weights run made the reader memcpy from a null column.
    write(t, "regression_empty_weights.bin", event_batch(events=1, top_k=1) + pb_field(17, 2, b""))


if __name__ == "__main__":
    safetensors_seeds()
    torch_seeds()
    config_seeds()
    job_spec_seeds()
    tokenizer_seeds()
    tsv_seeds()
    batch_seeds()
    event_batch_reader_seeds()
    regression_seeds()
    for t in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, t))
        size = sum(os.path.getsize(os.path.join(OUT, t, f)) for f in files)
        print(f"{t}: {len(files)} seeds, {size} bytes")
