"""Every --version value of the reference training script: input_ids and labels equal the reference's.

For each value, the reference's own choice of conversation (``reference.conversation_for``) decides which
tokenizers it is checked with, and its preprocess (llava-torch's, or Open-LLaVA-NeXT's preprocess_llama3) gives the
expected items: over multi-turn, text-only, image-at-the-end, leading-gpt, empty and separator-laden turns, with
the tokenizer's full length and with one short enough to truncate, with and without ``mm_use_im_start_end``.
Where the reference fails (an assertion, an unknown role) llavamix must raise ValueError, which the datasets turn
into a bad sample.
"""

from __future__ import annotations

import copy

import pytest

pytest.importorskip("torch")

from llavamix.foundation.errors import ConfigError
from llavamix.loader import IMAGE_TOKEN_INDEX, PreprocessConfig
from llavamix.loader.conversation import TEMPLATES
from llavamix.loader.tokens import encode
from tests.loader import reference
from tests.loader.test_tokens import CONVERSATIONS, FIXED
from tests.loader.tokenizers import IM_TOKENS, shortened, with_tokens

CASES = [
    *FIXED,
    ([("human", "describe <image>"), ("gpt", "a dog"), ("human", "more?"), ("gpt", "two cats")], True),
    (
        [("human", "q one"), ("gpt", "a one"), ("human", "q two"), ("gpt", "a two"), ("human", "q3"), ("gpt", "a3")],
        False,
    ),
    ([("human", "<image>\nq"), ("gpt", "a"), ("human", "and?"), ("gpt", ""), ("human", "ok"), ("gpt", "sure")], True),
    ([("human", ""), ("gpt", "an empty question")], False),
    ([("human", "<image>\nonly a question")], True),
    ([("Human", "capital role"), ("GPT", "answer")], False),
    ([("human", "q"), ("human", "again"), ("gpt", "a")], False),
    ([("human", "q"), ("bot", "a")], False),
    ([], False),
    # the separators of every family inside the text: the reference's splits see them too
    ([("human", "<image>\nsay ### and [/INST] "), ("gpt", "a </s> b<|im_end|>c ASSISTANT: d")], True),
    # the padding token inside the text: the reference does not count it in the prompt's length
    ([("human", "<unk> <pad> <|endoftext|> q"), ("gpt", "a <unk>"), ("human", "b"), ("gpt", "c")], False),
    ([("human", "<image>\n<unk> <pad> <|endoftext|> q"), ("gpt", "a <unk>")], True),
    ([("human", "describe the picture in detail please"), ("gpt", "a man sitting under a tree " * 20)], False),
    *CONVERSATIONS[:10],
]
REFUSED = r"'from' is|must alternate|no turns|first human turn is empty|plain template needs"


def family(version: str) -> list[str]:
    """The tokenizers a version is checked with, chosen from the conversation the reference trains it with."""
    conv = reference.conversation_for(version)
    if conv.version == "llama3":
        return ["llama3"]
    if conv.version == "mpt":
        return ["chatml-sp-legacy", "chatml-sp", "chatml-bpe"]
    if conv.sep_style == reference.conversation_lib.SeparatorStyle.SINGLE:
        return ["sp-legacy", "sp", "chatml-bpe"]
    if conv.sep_style == reference.conversation_lib.SeparatorStyle.PLAIN:
        return ["sp-legacy", "sp", "llama3"]
    return ["sp-legacy", "sp"]


PAIRS = [(version, name) for version in reference.VERSIONS for name in family(version)]


def expected(turns, has_image, tokenizer, version, start_end=False):
    sources = [[{"from": f, "value": v} for f, v in turns]]
    if has_image:
        sources = reference.multimodal(sources, version, reference.data_args(mm_use_im_start_end=start_end))
    out = reference.preprocess(sources, tokenizer, version, has_image)
    return out["input_ids"][0].tolist(), out["labels"][0].tolist()


def check(case, tokenizer, version, start_end=False):
    turns, has_image = case
    config = PreprocessConfig(
        template=version, model_max_length=tokenizer.model_max_length, mm_use_im_start_end=start_end
    )
    try:
        want = expected(turns, has_image, tokenizer, version, start_end)
    except (AssertionError, KeyError, IndexError):  # where the reference's preprocess fails
        with pytest.raises(ValueError, match=REFUSED):
            encode(turns, tokenizer, config, has_image)
        return None
    got = encode(copy.deepcopy(turns), tokenizer, config, has_image)
    assert (got.input_ids, got.labels) == want, (version, case)
    return got


def around_image(ids, tokenizer):
    """The text before and after the one image placeholder (the decoder's spaces at its edges dropped)."""
    k = ids.index(IMAGE_TOKEN_INDEX)
    return tokenizer.decode(ids[:k]).rstrip(" "), tokenizer.decode(ids[k + 1 :]).strip(" ")


def test_every_reference_version_is_a_template():
    assert set(TEMPLATES) == set(reference.VERSIONS)


@pytest.mark.parametrize(("version", "tok"), PAIRS, ids=[f"{v}-{t}" for v, t in PAIRS])
def test_tokens_equal_reference(version, tok, family_tok):
    tokenizer = family_tok(tok)
    results = [check(case, tokenizer, version) for case in CASES]
    trained = [r for r in results if r is not None]
    assert trained, "every case was refused: the cases test nothing"
    assert any(IMAGE_TOKEN_INDEX in r.input_ids for r in trained)


@pytest.mark.parametrize(("version", "tok"), PAIRS, ids=[f"{v}-{t}" for v, t in PAIRS])
def test_tokens_equal_reference_when_truncated(version, tok, family_tok):
    """A model_max_length that ends inside the conversation: text-only chat prompts are cut, image prompts and
    plain pretraining ones are not, and the mismatch rule is skipped once the rounds reach the limit."""
    base = family_tok(tok)
    system = reference.conversation_for(version).system
    tokenizer = shortened(base, len(base(system).input_ids) + 12)
    results = [check(case, tokenizer, version) for case in CASES]
    limit = tokenizer.model_max_length
    if reference.conversation_for(version).sep_style == reference.conversation_lib.SeparatorStyle.PLAIN:
        assert any(r is not None and len(r.input_ids) > limit for r in results)
        return
    text_only = [r for r, (_, has_image) in zip(results, CASES, strict=True) if r is not None and not has_image]
    assert any(len(r.input_ids) == limit for r in text_only), "nothing was truncated"
    assert any(len(r.input_ids) > limit for r in results), "image prompts are never truncated"


@pytest.mark.parametrize("version", reference.VERSIONS)
def test_im_start_end_equals_reference(version, family_tok):
    tokenizer = with_tokens(family_tok(family(version)[0]), IM_TOKENS)
    start = tokenizer.convert_tokens_to_ids(IM_TOKENS[0])
    results = [check(case, tokenizer, version, start_end=True) for case in CASES if case[1]]
    if reference.conversation_for(version).sep_style != reference.conversation_lib.SeparatorStyle.PLAIN:
        # plain pretraining keeps only the bare image token, as the reference does
        assert any(r is not None and start in r.input_ids for r in results)


def test_mmtag_wraps_the_image_token(family_tok):
    tokenizer = family_tok("sp-legacy")
    case = ([("human", "what is it <image>"), ("gpt", "a cat")], True)
    for version in ("v1_mmtag", "v0_mmtag"):
        before, after = around_image(check(case, tokenizer, version).input_ids, tokenizer)
        assert before.endswith("<Image>") and after.startswith("</Image>\nwhat is it")


def test_v0_trains_the_vicuna_v1_format(family_tok):
    """--version v0 and v0.5 keep the script's default conversation; the '###' format is default/llava_v0."""
    tokenizer = family_tok("sp-legacy")
    case = ([("human", "<image>\nq"), ("gpt", "a")], True)
    v1 = check(case, tokenizer, "v1")
    assert check(case, tokenizer, "v0").input_ids == check(case, tokenizer, "v0.5").input_ids == v1.input_ids
    before, after = around_image(check(case, tokenizer, "default").input_ids, tokenizer)
    assert before.endswith("questions.\n\n### Human:") and after == "\nq\n### Assistant: a\n###"


def test_unknown_values_are_refused_naming_the_choices():
    with pytest.raises(ConfigError, match=r"unknown template 'v2' .*--version.*mistral_instruct.*'vicuna_v1'"):
        PreprocessConfig(template="v2")
    with pytest.raises(ConfigError, match=r"unknown image_aspect_ratio 'anyres_max_9'; .*pass 'square'"):
        PreprocessConfig(image_aspect_ratio="anyres_max_9")
