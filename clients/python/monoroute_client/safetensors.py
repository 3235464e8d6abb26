"""A safetensors reader with numpy + torch (Debian 12 ships no python3-safetensors).

Format: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape,
data_offsets: [begin, end]}, "__metadata__": {...}}, then the data (offsets relative to its
start), row-major little-endian. Every entry is validated (dtype known, offsets inside the file,
size = prod(shape) * itemsize); errors are ValueError naming the file and tensor. Stateless.
"""

import json
import mmap
import struct
from typing import Any, Dict, Tuple

import numpy as np

# safetensors dtype -> (numpy dtype to read, torch dtype name to view as, or None)
_DTYPES = {
    "F64": (np.float64, None), "F32": (np.float32, None), "F16": (np.float16, None),
    "BF16": (np.int16, "bfloat16"), "I64": (np.int64, None), "I32": (np.int32, None),
    "I16": (np.int16, None), "I8": (np.int8, None), "U8": (np.uint8, None),
    "BOOL": (np.bool_, None),
}


def read_header(path: str) -> Tuple[Dict[str, Any], int]:
    """(header dict, byte offset of the data section) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ValueError(f"{path}: not a safetensors file (shorter than 8 bytes)")
        (n,) = struct.unpack("<Q", raw)
        if n > 100 << 20:
            raise ValueError(f"{path}: safetensors header of {n} bytes is implausible")
        text = f.read(n)
    if len(text) != n:
        raise ValueError(f"{path}: truncated safetensors header")
    try:
        header = json.loads(text)
    except ValueError as e:
        raise ValueError(f"{path}: safetensors header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: safetensors header is not an object")
    return header, 8 + n


def load_file(path: str) -> Dict[str, Any]:
    """All tensors of ``path`` as ``{name: torch.Tensor}`` (CPU copies)."""
    import torch

    header, data_start = read_header(path)
    out: Dict[str, Any] = {}
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        if size == 0:
            raise ValueError(f"{path}: empty file")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            for name, entry in header.items():
                if name == "__metadata__":
                    continue
                try:
                    dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry[
                        "data_offsets"]
                except (KeyError, TypeError, ValueError):
                    raise ValueError(f"{path}: tensor {name!r} has a malformed entry") from None
                if dtype not in _DTYPES:
                    raise ValueError(f"{path}: tensor {name!r} has unsupported dtype {dtype}")
                np_dtype, view = _DTYPES[dtype]
                count = int(np.prod(shape, dtype=np.int64)) if shape else 1
                nbytes = count * np.dtype(np_dtype).itemsize
                if not 0 <= begin <= end or end - begin != nbytes or data_start + end > size:
                    raise ValueError(f"{path}: tensor {name!r} has data_offsets [{begin}, {end}] "
                                     f"that do not hold {dtype} {shape} inside the file")
                arr = np.frombuffer(mm, dtype=np.dtype(np_dtype).newbyteorder("<"), count=count,
                                    offset=data_start + begin).reshape(shape)
                t = torch.from_numpy(arr.astype(arr.dtype.newbyteorder("="), copy=True))
                out[name] = t.view(getattr(torch, view)) if view else t
                del arr
    return out
