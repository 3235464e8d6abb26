#!/usr/bin/python3
"""Baseline for tensor_io_bench: the same loads in plain PyTorch (1.13) on the same files.

    tensor_io_bench_baseline.py MODEL.safetensors [pytorch_model.bin] [iterations]

safetensors: json header + torch.frombuffer(...).clone() per tensor over a bytes read (the
`safetensors` package is not a Debian package); .bin: torch.load(map_location="cpu").
"""
import json
import statistics
import struct
import sys
import time

import torch

DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64,
      "F64": torch.float64, "I32": torch.int32, "U8": torch.uint8, "BOOL": torch.bool}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        buf = memoryview(data)[8 + n + b:8 + n + end]
        out[name] = torch.frombuffer(buf, dtype=DT[e["dtype"]]).reshape(e["shape"]).clone()
    return out


def median_ms(fn, iters):
    ms = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms)


def main():
    iters = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    torch.set_num_threads(1)
    nbytes = sum(t.numel() * t.element_size() for t in load_safetensors(sys.argv[1]).values())
    ms = median_ms(lambda: load_safetensors(sys.argv[1]), iters)
    print(f"python safetensors (frombuffer) {ms:8.2f} ms  {nbytes / 1e3 / ms:7.0f} MB/s")
    if len(sys.argv) > 2:
        ms = median_ms(lambda: torch.load(sys.argv[2], map_location="cpu"), iters)
        print(f"python torch.load               {ms:8.2f} ms  {nbytes / 1e3 / ms:7.0f} MB/s")


if __name__ == "__main__":
    main()
