"""The loader's JSON path on a mix that is not JSON text: the same clear errors as the CLI's, on every msgspec."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from llavamix.foundation.errors import BadSampleError, MixFormatError  # noqa: E402
from llavamix.loader import LlavaNextDataset  # noqa: E402

GOOD = {"id": 1, "conversations": [{"from": "human", "value": "hi there"}, {"from": "gpt", "value": "hello"}]}


def test_deep_nesting_is_a_mix_format_error(tmp_path, legacy_tok):
    head = ("[" + json.dumps(GOOD) + ",").encode()
    (tmp_path / "mix.json").write_bytes(head + b"[" * 100_000)
    # the array is level 1: the deep part opens level 2 right after the head, level 101 99 bytes later
    with pytest.raises(MixFormatError, match=rf"nests more than 100 levels deep at byte {len(head) + 99},"):
        LlavaNextDataset(tmp_path / "mix.json", tmp_path, legacy_tok)


def test_record_not_utf8_is_a_bad_sample_naming_the_byte(tmp_path, legacy_tok):
    bad = '{"id": "café", "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}'
    data = ("[" + json.dumps(GOOD) + ", " + bad + ", " + json.dumps(GOOD) + "]").encode("latin-1")
    (tmp_path / "mix.json").write_bytes(data)
    at = data.index("é".encode("latin-1"))
    strict = LlavaNextDataset(tmp_path / "mix.json", tmp_path, legacy_tok)
    with pytest.raises(BadSampleError, match=rf"record 1: .*record 1 is not valid UTF-8 at byte {at} "):
        strict[1]
    with pytest.raises(MixFormatError, match=rf"record 1 is not valid UTF-8 at byte {at} "):
        strict.lengths  # noqa: B018 - the sampler's lengths need every record
    skipping = LlavaNextDataset(tmp_path / "mix.json", tmp_path, legacy_tok, on_bad_sample="skip")
    assert torch.equal(skipping[1]["input_ids"], strict[2]["input_ids"])
    assert skipping.skipped == 1
