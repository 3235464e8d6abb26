"""``Tokenizer``: GPT-2 byte-level BPE in pure Python, the same ids as ``monoroute tokenize``.

Reads a model directory's ``tokenizer.json`` (Hugging Face ``tokenizers`` format: ``model.vocab``,
``model.merges``, ``added_tokens``) or ``vocab.json`` + ``merges.txt`` (every monoroute
checkpoint carries these two). The pipeline is the C++ tokenizer's (common/tokenizer): split at
every special token (``<|endoftext|>`` and the file's added tokens) -> GPT-2 pre-tokenisation

    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+

implemented over code points with ``unicodedata`` categories (no ``regex`` module needed; the
whitespace set is the C++ one) -> UTF-8 bytes mapped to GPT-2's byte-to-unicode alphabet -> BPE
merges by rank (lowest rank first, leftmost first) -> ids. ``decode`` is the exact inverse on
bytes (``errors="replace"`` for partial UTF-8 sequences unless ``errors`` says otherwise).
A piece cache makes repeated words cheap. Thread-safe for reading (the cache is a dict whose
entries are immutable).
"""

import json
import os
import unicodedata
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

#: The end-of-text special token.
END_OF_TEXT = "<|endoftext|>"

_WHITESPACE = frozenset([0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0xA0, 0x1680, 0x2028, 0x2029,
                         0x202F, 0x205F, 0x3000] + list(range(0x2000, 0x200B)))
_LETTER, _NUMBER, _SPACE, _OTHER = 0, 1, 2, 3


def _char_class(ch: str) -> int:
    cp = ord(ch)
    if cp in _WHITESPACE:
        return _SPACE
    if cp < 0x80:
        if ch.isascii() and ch.isalpha():
            return _LETTER
        return _NUMBER if "0" <= ch <= "9" else _OTHER
    cat = unicodedata.category(ch)
    if cat[0] == "L":
        return _LETTER
    return _NUMBER if cat[0] == "N" else _OTHER


def pretokenize(text: str) -> List[str]:
    """GPT-2's pre-tokenisation of ``text`` (no special tokens) into pieces."""
    pieces, i, n = [], 0, len(text)
    classes = [_char_class(c) for c in text]
    while i < n:
        end = _piece_end(text, classes, i)
        pieces.append(text[i:end])
        i = end
    return pieces


def _piece_end(s: str, classes: List[int], i: int) -> int:
    n = len(s)
    if s[i] == "'" and i + 1 < n:
        a = s[i + 1]
        if a in "stmd":
            return i + 2
        if i + 2 < n and a + s[i + 2] in ("re", "ve", "ll"):
            return i + 3
    c, start = classes[i], i
    if s[i] == " " and i + 1 < n and classes[i + 1] != _SPACE:
        c, start = classes[i + 1], i + 1
    if c != _SPACE:
        j = start
        while j < n and classes[j] == c:
            j += 1
        return j
    j = i
    while j < n and classes[j] == _SPACE:
        j += 1
    # `\s+(?!\S)|\s+`: leave the run's last space to the next piece when a non-space follows.
    if j == n or j - 1 == i:
        return j
    return j - 1


def bytes_to_unicode() -> Dict[int, str]:
    """GPT-2's reversible byte -> printable character map."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1))
          + list(range(ord("\u00ae"), ord("\u00ff") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


class Tokenizer:
    """GPT-2 byte-level BPE of a model directory: ``encode(text) -> ids``, ``decode(ids)``.

    ``Tokenizer(dir)``: ``dir/tokenizer.json`` if present, else ``dir/vocab.json`` +
    ``dir/merges.txt`` (FileNotFoundError naming both when neither is there; ValueError naming
    the file for a malformed one).
    """

    def __init__(self, model_dir: Union[str, "os.PathLike[str]"]):
        model_dir = os.fspath(model_dir)
        tj = os.path.join(model_dir, "tokenizer.json")
        vj, mt = os.path.join(model_dir, "vocab.json"), os.path.join(model_dir, "merges.txt")
        if os.path.isfile(tj):
            vocab, merges, specials = _read_tokenizer_json(tj)
        elif os.path.isfile(vj) and os.path.isfile(mt):
            vocab, merges, specials = _read_vocab(vj), _read_merges(mt), {}
        else:
            raise FileNotFoundError(f"{model_dir}: no tokenizer.json, nor vocab.json + merges.txt")
        self.model_dir = model_dir
        self.encoder: Dict[str, int] = vocab
        self.decoder: Dict[int, str] = {v: k for k, v in vocab.items()}
        self.ranks: Dict[Tuple[str, str], int] = {pair: r for r, pair in enumerate(merges)}
        self.special_tokens: Dict[str, int] = dict(specials)
        if END_OF_TEXT in vocab:
            self.special_tokens.setdefault(END_OF_TEXT, vocab[END_OF_TEXT])
        self._byte_enc = bytes_to_unicode()
        self._byte_dec = {c: b for b, c in self._byte_enc.items()}
        self._cache: Dict[str, Tuple[int, ...]] = {}
        self._cache_limit = 1 << 18

    @property
    def vocab_size(self) -> int:
        """Number of ids (largest id + 1)."""
        return max(self.decoder) + 1 if self.decoder else 0

    @property
    def eot_id(self) -> Optional[int]:
        """Id of ``<|endoftext|>`` (50256 for GPT-2), None when the vocabulary lacks it."""
        return self.special_tokens.get(END_OF_TEXT)

    def encode(self, text: str) -> List[int]:
        """Token ids of ``text``; special tokens (``<|endoftext|>``) anywhere become their ids."""
        if not isinstance(text, str):
            raise TypeError(f"encode: expected str, got {type(text).__name__}")
        ids: List[int] = []
        for part, special in self._split_special(text):
            if special:
                ids.append(self.special_tokens[part])
                continue
            for piece in pretokenize(part):
                ids.extend(self._bpe(piece))
        return ids

    def encode_batch(self, texts: Iterable[str]) -> List[List[int]]:
        """``encode`` of each text."""
        return [self.encode(t) for t in texts]

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes that ``ids`` stand for (ValueError naming the position of a bad id)."""
        out = bytearray()
        for pos, i in enumerate(ids):
            tok = self.decoder.get(int(i))
            if tok is None:
                raise ValueError(f"decode: token id {int(i)} at position {pos} is outside the "
                                 f"vocabulary [0, {self.vocab_size})")
            if tok in self.special_tokens:
                out += tok.encode("utf-8")
            else:
                out += bytes(self._byte_dec[c] for c in tok)
        return bytes(out)

    def decode(self, ids: Iterable[int], errors: str = "replace") -> str:
        """The text of ``ids`` (partial UTF-8 sequences decoded with ``errors``)."""
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    def token_str(self, token_id: int) -> str:
        """One token's text, as ``decode([token_id])``."""
        return self.decode([token_id])

    def _split_special(self, text: str) -> List[Tuple[str, bool]]:
        if not self.special_tokens:
            return [(text, False)] if text else []
        out: List[Tuple[str, bool]] = []
        i = 0
        specials = sorted(self.special_tokens, key=len, reverse=True)
        while i < len(text):
            hit = min(((text.find(s, i), s) for s in specials if text.find(s, i) >= 0),
                      default=None, key=lambda x: (x[0], -len(x[1])))
            if hit is None:
                out.append((text[i:], False))
                break
            pos, s = hit
            if pos > i:
                out.append((text[i:pos], False))
            out.append((s, True))
            i = pos + len(s)
        return out

    def _bpe(self, piece: str) -> Tuple[int, ...]:
        cached = self._cache.get(piece)
        if cached is not None:
            return cached
        symbols = [self._byte_enc[b] for b in piece.encode("utf-8", errors="surrogatepass")]
        symbols = merge(symbols, self.ranks)
        try:
            ids = tuple(self.encoder[s] for s in symbols)
        except KeyError as e:
            raise ValueError(f"{self.model_dir}: BPE symbol {e.args[0]!r} is not in the "
                             "vocabulary") from None
        if len(self._cache) < self._cache_limit:
            self._cache[piece] = ids
        return ids


def merge(symbols: List[str], ranks: Dict[Tuple[str, str], int]) -> List[str]:
    """GPT-2 BPE: repeatedly merge the lowest-rank adjacent pair (leftmost first)."""
    while len(symbols) > 1:
        best, best_rank = -1, None
        for j in range(len(symbols) - 1):
            r = ranks.get((symbols[j], symbols[j + 1]))
            if r is not None and (best_rank is None or r < best_rank):
                best, best_rank = j, r
        if best < 0:
            break
        symbols[best:best + 2] = [symbols[best] + symbols[best + 1]]
    return symbols


def _read_vocab(path: str) -> Dict[str, int]:
    try:
        with open(path, encoding="utf-8") as f:
            vocab = json.load(f)
    except ValueError as e:
        raise ValueError(f"{path}: invalid JSON ({e})") from None
    if not isinstance(vocab, dict) or not all(isinstance(v, int) for v in vocab.values()):
        raise ValueError(f"{path}: expected an object of token -> id")
    return vocab


def _read_merges(path: str) -> List[Tuple[str, str]]:
    out: List[Tuple[str, str]] = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line or (lineno == 1 and line.startswith("#version")):
                continue
            parts = line.split(" ")
            if len(parts) != 2:
                raise ValueError(f"{path}:{lineno}: expected two symbols separated by a space")
            out.append((parts[0], parts[1]))
    if not out:
        raise ValueError(f"{path}: no merge rules")
    return out


def _read_tokenizer_json(path: str) -> Tuple[Dict[str, int], List[Tuple[str, str]],
                                             Dict[str, int]]:
    try:
        with open(path, encoding="utf-8") as f:
            tj = json.load(f)
    except ValueError as e:
        raise ValueError(f"{path}: invalid JSON ({e})") from None
    model = tj.get("model") or {}
    if model.get("type", "BPE") != "BPE" or "vocab" not in model or "merges" not in model:
        raise ValueError(f"{path}: model must be a BPE with vocab and merges")
    merges: List[Tuple[str, str]] = []
    for m in model["merges"]:
        pair = m.split(" ") if isinstance(m, str) else list(m)
        if len(pair) != 2:
            raise ValueError(f"{path}: merge {m!r} is not two symbols")
        merges.append((pair[0], pair[1]))
    specials = {t["content"]: int(t["id"]) for t in tj.get("added_tokens") or []
                if t.get("special", True)}
    return dict(model["vocab"]), merges, specials


def as_id_list(ids: Sequence[int]) -> List[int]:
    """Plain ints of a sequence of ids (numpy / torch scalars included)."""
    return [int(i) for i in ids]
