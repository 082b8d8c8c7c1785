"""Conversation -> ``input_ids`` and ``labels`` exactly as the reference preprocessing builds them.

The reference masks the human side of every round by re-tokenizing each round and each instruction on its own and
adding up their lengths; when the sum disagrees with the tokenized prompt, the whole sample is masked
("tokenization mismatch"). That arithmetic, its tokenizer-``legacy`` offsets and its quirks are reproduced here
call for call, so the labels are the reference's even where it is surprising. The only liberty taken is to send
all the strings one sample needs to the tokenizer in one batch call (same ids, fewer round trips).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from llavamix.foundation.records import IMAGE_TOKEN
from llavamix.loader.config import IGNORE_INDEX, IMAGE_TOKEN_INDEX, PreprocessConfig
from llavamix.loader.conversation import Template, template

log = logging.getLogger(__name__)

Turns = Sequence[tuple[str, str]]  # (from, value) pairs as the record holds them


class Tokenized:
    """One sample's token ids and labels (plain lists; the dataset makes tensors)."""

    __slots__ = ("input_ids", "labels", "masked")

    def __init__(self, input_ids: list[int], labels: list[int], masked: bool = False) -> None:
        self.input_ids = input_ids
        self.labels = labels
        self.masked = masked  # True when the mismatch rule masked the whole sample


def image_token_to_front(turns: Turns) -> list[tuple[str, str]]:
    """Every turn that mentions ``<image>`` gets exactly one, at its start, followed by a newline."""
    out = []
    for speaker, value in turns:
        if IMAGE_TOKEN in value:
            rest = value.replace(IMAGE_TOKEN, "").strip()
            value = (IMAGE_TOKEN + "\n" + rest).strip()
        out.append((speaker, value))
    return out


def join_image_chunks(chunks: Sequence[list[int]], bos_token_id: int | None) -> list[int]:
    """Ids of ``'<image>'.join(texts)`` from each text's own ids: one IMAGE_TOKEN_INDEX per ``<image>``.

    When the first chunk starts with BOS, one BOS is kept and the first id of every chunk is dropped (the
    reference assumes each chunk starts with BOS).
    """
    offset = 1 if chunks and chunks[0] and chunks[0][0] == bos_token_id else 0
    ids: list[int] = chunks[0][:1] if offset else []
    for k, chunk in enumerate(chunks):
        if k:
            ids.append(IMAGE_TOKEN_INDEX)
        ids.extend(chunk[offset:])
    return ids


def tokenize_with_image(text: str, tokenizer: Any) -> list[int]:
    """``text`` tokenized with every ``<image>`` replaced by IMAGE_TOKEN_INDEX (the reference's rule)."""
    return _Batch(tokenizer).add(text, True).run()[0]


class _Batch:
    """Collects the texts one sample needs, tokenizes them in one call, and hands back ids per request."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.texts: list[str] = []
        self.requests: list[tuple[int, int, bool]] = []  # (first text, number of texts, has image chunks)

    def add(self, text: str, has_image: bool) -> _Batch:
        """Queue ``text``; with ``has_image`` it is split on ``<image>`` as the reference's image tokenizer does."""
        pieces = text.split(IMAGE_TOKEN) if has_image else [text]
        self.requests.append((len(self.texts), len(pieces), has_image))
        self.texts.extend(pieces)
        return self

    def run(self) -> list[list[int]]:
        ids = list(self.tokenizer(self.texts).input_ids) if self.texts else []
        bos = self.tokenizer.bos_token_id
        out = []
        for start, count, has_image in self.requests:
            chunks = [list(x) for x in ids[start : start + count]]
            out.append(join_image_chunks(chunks, bos) if has_image else chunks[0])
        return out


def _mask(labels: list[int], start: int, stop: int | None = None) -> None:
    """``labels[start:stop] = IGNORE_INDEX`` with tensor slicing semantics (negative ends count from the end)."""
    for k in range(*slice(start, stop).indices(len(labels))):
        labels[k] = IGNORE_INDEX


def _dialogue(turns: Turns, tpl: Template) -> list[tuple[str, str]]:
    """Role-mapped turns: a leading gpt turn is dropped, then human and gpt must alternate."""
    if turns and tpl.role(turns[0][0]) != tpl.roles[0]:
        turns = turns[1:]
    out = []
    for j, (speaker, value) in enumerate(turns):
        role = tpl.role(speaker)
        if role != tpl.roles[j % 2]:
            raise ValueError(f"turn {j} is from {speaker!r}; turns must alternate human, gpt, human, ...")
        out.append((role, value))
    return out


def _prompt_ids(prompt: str, tokenizer: Any, has_image: bool, max_length: int) -> list[int]:
    if has_image:
        return tokenize_with_image(prompt, tokenizer)
    # text-only prompts are the only ones the reference truncates
    return list(tokenizer(prompt, max_length=max_length, truncation=True).input_ids)


def _finish(ids: list[int], labels: list[int], cur: int, tokenizer: Any, max_length: int) -> Tokenized:
    _mask(labels, cur)
    pad = tokenizer.pad_token_id
    total = len(ids) if pad is None else sum(1 for t in ids if t != pad)
    if cur < max_length and cur != total:
        log.warning("tokenization mismatch: %d vs. %d; the sample's labels are all masked", cur, total)
        return Tokenized(ids, [IGNORE_INDEX] * len(ids), masked=True)
    return Tokenized(ids, labels)


def encode_v1(turns: Turns, tokenizer: Any, has_image: bool, max_length: int) -> Tokenized:
    """The Vicuna-v1 format: only the assistant replies (and their ``</s>``) are learned."""
    tpl = template("v1")
    prompt = tpl.render(_dialogue(turns, tpl))
    ids = _prompt_ids(prompt, tokenizer, has_image, max_length)
    labels = list(ids)
    sep = tpl.sep + tpl.roles[1] + ": "
    batch, rounds = _Batch(tokenizer), []
    for rou in prompt.split(tpl.sep2):
        parts = rou.split(sep)
        if rou == "" or len(parts) != 2:
            break
        rounds.append(rou)
        batch.add(rou, has_image).add(parts[0] + sep, has_image)
    lengths = [len(x) for x in batch.run()]
    # a non-legacy sentencepiece tokenizer drops the space it would add after "</s>": one token less per round
    shift = 0 if getattr(tokenizer, "legacy", True) else 1
    cur = 1
    _mask(labels, 0, cur)
    for i in range(len(rounds)):
        round_len, instruction_len = lengths[2 * i], lengths[2 * i + 1] - 2
        if i:
            round_len, instruction_len = round_len - shift, instruction_len - shift
        _mask(labels, cur, cur + instruction_len)
        cur += round_len
    return _finish(ids, labels, cur, tokenizer, max_length)


def _llama3_rounds(prompt: str, sep: str) -> list[str]:
    """System + first exchange as round 0, then one round per further human/gpt pair."""
    pieces = prompt.split(sep)
    rounds = [sep.join(pieces[:3])]
    rounds.extend(sep.join(pieces[k : k + 2]) for k in range(3, len(pieces), 2))
    return rounds


def encode_llama3(turns: Turns, tokenizer: Any, has_image: bool, max_length: int) -> Tokenized:
    """Open-LLaVA-NeXT's Llama-3 format: assistant replies and their ``<|eot_id|>`` are learned."""
    tpl = template("llava_llama_3")
    prompt = tpl.render(_dialogue(turns, tpl))
    ids = _prompt_ids(prompt, tokenizer, has_image, max_length)
    labels = list(ids)
    sep = tpl.sep + tpl.roles[1]
    batch, count = _Batch(tokenizer), 0
    for rou in _llama3_rounds(prompt, tpl.sep):
        parts = rou.split(sep)
        if rou == "" or len(parts) != 2:
            break
        count += 1
        batch.add(rou, has_image).add(parts[0] + sep, has_image)
    lengths = [len(x) for x in batch.run()]
    cur = 0
    for i in range(count):
        # +1 for the <|eot_id|> the split removed; later rounds lose the BOS their own tokenization added
        round_len, instruction_len = lengths[2 * i] + 1, lengths[2 * i + 1]
        if i:
            round_len, instruction_len = round_len - 1, instruction_len - 1
        _mask(labels, cur, cur + instruction_len)
        cur += round_len
    return _finish(ids, labels, cur, tokenizer, max_length)


def encode_plain(turns: Turns, tokenizer: Any) -> Tokenized:
    """Pretraining format: ``<image>`` + caption + newline; the image part is masked."""
    if len(turns) != 2 or IMAGE_TOKEN not in turns[0][1]:
        raise ValueError("the plain template needs exactly two turns, the first one holding <image>")
    batch = _Batch(tokenizer).add(IMAGE_TOKEN + turns[1][1] + template("plain").sep, True).add(IMAGE_TOKEN, True)
    ids, head = batch.run()
    labels = list(ids)
    _mask(labels, 0, len(head))
    return Tokenized(ids, labels)


def encode(turns: Turns, tokenizer: Any, config: PreprocessConfig, has_image: bool) -> Tokenized:
    """A record's conversation as training ids and labels, per ``config.template``.

    ``turns`` are the record's ``(from, value)`` pairs; with ``has_image`` the ``<image>`` token is first moved to
    the front of its turn. Raises ValueError for conversations the reference cannot train on (a ``from`` other
    than human/gpt, turns that do not alternate, a plain-template record that is not one image + one caption).
    """
    if has_image:
        turns = image_token_to_front(turns)
    if config.template == "plain":
        return encode_plain(turns, tokenizer)
    if config.template == "llava_llama_3":
        return encode_llama3(turns, tokenizer, has_image, config.model_max_length)
    return encode_v1(turns, tokenizer, has_image, config.model_max_length)
