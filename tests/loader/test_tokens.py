"""input_ids and labels equal the reference preprocess functions for every template and tokenizer flavour."""

from __future__ import annotations

import itertools
import json
import random

import pytest

pytest.importorskip("torch")

from llavamix.foundation.errors import BadSampleError
from llavamix.loader import IGNORE_INDEX, IMAGE_TOKEN_INDEX, LlavaNextDataset, PreprocessConfig
from llavamix.loader.tokens import encode, tokenize_with_image
from tests.loader import reference
from tests.loader.tokenizers import PUNCT, WORDS


def _reference(turns, tokenizer, template, has_image):
    sources = [[{"from": f, "value": v} for f, v in turns]]
    if has_image:
        sources = reference.multimodal(sources, template, reference.data_args())
    out = reference.preprocess(sources, tokenizer, template, has_image)
    return out["input_ids"][0].tolist(), out["labels"][0].tolist()


def _conversations(n=60, seed=3):
    rng = random.Random(seed)

    def text():
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 10))) + rng.choice(PUNCT)

    out = []
    for _ in range(n):
        turns = [("human" if j % 2 == 0 else "gpt", text()) for j in range(rng.choice([2, 2, 4, 6, 3]))]
        if rng.random() < 0.15:
            turns.insert(0, ("gpt", text()))
        has_image = rng.random() < 0.7
        if has_image:
            k = 0 if turns[0][0] == "human" else 1
            place = rng.choice(["<image>\n{}", "{} <image>", "{}<image>", "<image>"])
            turns[k] = (turns[k][0], place.format(turns[k][1]))
        out.append((turns, has_image))
    return out


CONVERSATIONS = _conversations()
FIXED = [
    ([("human", "<image>\nwhat is this?"), ("gpt", "a cat.")], True),
    ([("human", "what is this? <image>"), ("gpt", "a dog"), ("human", "sure?"), ("gpt", "yes")], True),
    ([("human", "what is a cat?"), ("gpt", "an animal.")], False),
    ([("gpt", "hi"), ("human", "<image>\nq"), ("gpt", "a")], True),
    ([("human", "<image>\nq"), ("gpt", "")], True),
    ([("human", "text-only mentions <image> literally"), ("gpt", "ok")], False),
]


def _check(turns, has_image, tokenizer, template):
    config = PreprocessConfig(template=template, model_max_length=tokenizer.model_max_length)
    got = encode(turns, tokenizer, config, has_image)
    assert (got.input_ids, got.labels) == _reference(turns, tokenizer, template, has_image)
    return got


@pytest.mark.parametrize("case", FIXED + CONVERSATIONS)
def test_v1_equals_reference(case, llama_tok):
    _check(*case, llama_tok, "v1")


@pytest.mark.parametrize("case", FIXED + CONVERSATIONS[:30])
def test_v1_with_added_pad_token_equals_reference(case, sp_model):
    from tests.loader.tokenizers import llama_tokenizer

    _check(*case, llama_tokenizer(sp_model, legacy=False, pad="new"), "v1")


@pytest.mark.parametrize("case", FIXED + CONVERSATIONS)
def test_llama3_equals_reference(case, llama3_tok):
    _check(*case, llama3_tok, "llava_llama_3")


@pytest.mark.parametrize("caption", ["a cat on a mat", "", "two dogs\nand é 中文", "x" * 50])
def test_plain_equals_reference(caption, legacy_tok):
    got = _check([("human", "describe <image> please"), ("gpt", caption)], True, legacy_tok, "plain")
    assert got.input_ids[1] == IMAGE_TOKEN_INDEX
    assert got.labels[:2] == [IGNORE_INDEX, IGNORE_INDEX]


def test_some_samples_are_masked_by_the_mismatch_rule(llama_tok):
    # the random conversations trigger the reference's whole-sample masking; both sides must agree on which
    config = PreprocessConfig(model_max_length=llama_tok.model_max_length)
    masked = [encode(t, llama_tok, config, h).masked for t, h in CONVERSATIONS]
    assert any(masked) and not all(masked)


def test_text_only_is_truncated_like_the_reference(sp_model):
    from tests.loader.tokenizers import llama_tokenizer

    tokenizer = llama_tokenizer(sp_model, legacy=True, max_length=24)
    turns = [("human", "describe the picture in detail please"), ("gpt", "a man sitting under a tree " * 5)]
    got = _check(turns, False, tokenizer, "v1")
    assert len(got.input_ids) == 24


def test_image_token_is_one_placeholder(legacy_tok):
    ids = tokenize_with_image("a <image> b <image>", legacy_tok)
    assert ids.count(IMAGE_TOKEN_INDEX) == 2
    assert ids[0] == legacy_tok.bos_token_id and ids.count(legacy_tok.bos_token_id) == 1


@pytest.mark.parametrize(
    "turns,template,says",
    [
        ([("human", "q"), ("bot", "a")], "v1", "turn 'from' is 'bot'; only 'human' and 'gpt' are trainable"),
        ([("human", "q"), ("human", "again"), ("gpt", "a")], "v1", "turn 1 is from 'human'; turns must alternate"),
        ([("human", "q"), ("gpt", "a")], "plain", "the plain template needs exactly two turns, the first one holding"),
    ],
    ids=["bad-role", "not-alternating", "plain-without-image"],
)
def test_untrainable_conversations_raise(turns, template, says, legacy_tok):
    with pytest.raises(ValueError, match=says):
        encode(turns, legacy_tok, PreprocessConfig(template=template), has_image=False)


def _every_role_sequence(max_turns=5):
    return [list(seq) for n in range(1, max_turns + 1) for seq in itertools.product(("human", "gpt"), repeat=n)]


@pytest.mark.parametrize("template", ["v1", "llava_llama_3"])
def test_alternation_is_refused_exactly_where_the_reference_asserts(template, tmp_path, legacy_tok, llama3_tok):
    """Every human/gpt sequence up to five turns, through the dataset: a record is a bad sample exactly when the
    reference's preprocess fails its alternation assertion, and otherwise gives the reference's tokens."""
    tokenizer = llama3_tok if template == "llava_llama_3" else legacy_tok
    sequences = _every_role_sequence()
    mix = [{"id": k, "conversations": [{"from": r, "value": f"turn {j}"} for j, r in enumerate(roles)]}
           for k, roles in enumerate(sequences)]  # fmt: skip
    (tmp_path / "mix.json").write_text(json.dumps(mix))
    ds = LlavaNextDataset(tmp_path / "mix.json", tmp_path, tokenizer, PreprocessConfig(template=template))
    refused = []
    for k, roles in enumerate(sequences):
        turns = [(r, f"turn {j}") for j, r in enumerate(roles)]
        try:
            expected = _reference(turns, tokenizer, template, False)
        except AssertionError:
            refused.append(roles)
            alternation = rf"record {k} \(id {k}\): turn \d+ is from '(human|gpt)'; turns must alternate"
            with pytest.raises(BadSampleError, match=alternation):
                ds[k]
            continue
        got = ds[k]
        assert (got["input_ids"].tolist(), got["labels"].tolist()) == expected, roles
    # the reference drops one leading gpt turn, then needs strict alternation: 62 sequences of 1-5 turns remain
    assert len(refused) == len(sequences) - 2 * 5
