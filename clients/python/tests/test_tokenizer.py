"""``monoroute_client.Tokenizer`` gives the ids of HF tokenizers / tiktoken (the fixture) and of
``monoroute tokenize`` (the C++ tokenizer), on the shared test strings and a TinyStories slice."""

import json
import os
import subprocess

import pytest

from monoroute_client import Tokenizer
from monoroute_client.tokenizer import pretokenize

from conftest import REPO, TOKENIZER_DIR, binary

CASES = os.path.join(REPO, "tests", "fixtures", "tokenizer", "gpt2_cases.json")
TINYSTORIES = os.path.join(REPO, "..", "shared", "data", "tinystories", "valid.txt")


@pytest.fixture(scope="module")
def tok():
    return Tokenizer(TOKENIZER_DIR)


def cases():
    with open(CASES, encoding="utf-8") as f:
        return json.load(f)["cases"]


def test_fixture_cases(tok):
    for case in cases():
        assert tok.encode(case["text"]) == case["ids"], case["text"]
        assert tok.decode(case["ids"]) == case["text"]
    assert tok.eot_id == 50256 and tok.vocab_size == 50257


def test_special_token_and_pretokenizer_rules(tok):
    assert tok.encode("a<|endoftext|>b") == tok.encode("a") + [50256] + tok.encode("b")
    assert pretokenize("Hi  there\n\n x's 12ab") == ["Hi", " ", " there", "\n\n", " x", "'s",
                                                    " 12", "ab"]
    with pytest.raises(ValueError, match="position 1"):
        tok.decode([1, 999999])


def cli_ids(text, tmp_path):
    mono = binary("monoroute")
    r = subprocess.run([mono, "tokenize", "--tokenizer", TOKENIZER_DIR, "--output", "json"],
                       input=text.encode("utf-8"), capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout)["ids"]


def test_equals_monoroute_tokenize_on_the_shared_strings(tok, tmp_path):
    for case in cases():
        assert tok.encode(case["text"]) == cli_ids(case["text"], tmp_path), case["text"]


def test_equals_monoroute_tokenize_on_tinystories(tok, tmp_path):
    if not os.path.isfile(TINYSTORIES):
        pytest.skip(f"needs ../shared/data/tinystories/valid.txt ({TINYSTORIES})")
    with open(TINYSTORIES, encoding="utf-8") as f:
        text = f.read(200_000)
    ids = tok.encode(text)
    assert ids == cli_ids(text, tmp_path)
    assert tok.decode(ids) == text


def test_tokenizer_json_gives_the_same_ids(tok, tmp_path):
    with open(os.path.join(TOKENIZER_DIR, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(TOKENIZER_DIR, "merges.txt"), encoding="utf-8") as f:
        merges = [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")]
    (tmp_path / "tokenizer.json").write_text(json.dumps({
        "model": {"type": "BPE", "vocab": vocab, "merges": merges},
        "added_tokens": [{"id": 50256, "content": "<|endoftext|>", "special": True}]}))
    other = Tokenizer(tmp_path)
    for case in cases():
        assert other.encode(case["text"]) == tok.encode(case["text"])
    with pytest.raises(FileNotFoundError, match="vocab.json"):
        Tokenizer(tmp_path / "nowhere")
