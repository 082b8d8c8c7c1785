"""Conversation -> ``input_ids`` and ``labels`` exactly as the reference preprocessing builds them.

Three rules, as the reference has three: the chat templates mask the human side of every round by re-tokenizing
each round and each instruction on its own and adding up their lengths (with each template's corrections, see
``conversation.Rounds``); when the sum disagrees with the tokenized prompt, the whole sample is masked
("tokenization mismatch"). The "###" templates mask each human line from its tokenized length; ``plain`` masks
the image. That arithmetic, its tokenizer-``legacy`` offsets and its quirks are reproduced call for call, so the
labels are the reference's even where it is surprising. The only liberty taken is to send all the strings one
sample needs to the tokenizer in one batch call (same ids, fewer round trips).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from llavamix.foundation.records import IMAGE_TOKEN
from llavamix.loader.config import IGNORE_INDEX, IM_END, IM_START, IMAGE_TOKEN_INDEX, PreprocessConfig
from llavamix.loader.conversation import HUMAN, Rounds, Template, template

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


def multimodal_turns(turns: Turns, tpl: Template, start_end: bool) -> list[tuple[str, str]]:
    """The turns of a record with an image, as a multimodal model's preprocessing rewrites them: each turn that
    mentions ``<image>`` gets exactly one, at its start and followed by a newline (wrapped in ``<Image>...</Image>``
    for an mmtag template); with ``start_end`` every image token is written ``<im_start><image><im_end>``."""
    out = []
    for speaker, value in image_token_to_front(turns):
        if tpl.mmtag:
            value = value.replace(IMAGE_TOKEN, "<Image>" + IMAGE_TOKEN + "</Image>")
        if start_end:
            value = value.replace(IMAGE_TOKEN, IM_START + IMAGE_TOKEN + IM_END)
        out.append((speaker, value))
    return out


def _dialogue(turns: Turns, tpl: Template) -> list[tuple[str, str]]:
    """Role-mapped turns: a leading gpt turn is dropped, then human and gpt must alternate."""
    if not turns:
        raise ValueError("the record has no turns; the chat templates need at least one")
    if tpl.role(turns[0][0]) != tpl.roles[0]:
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


def _split_rounds(prompt: str, tpl: Template, rule: Rounds) -> list[str]:
    """The prompt's rounds: each ending with ``sep2``, or system + first exchange then human/gpt pairs."""
    if rule.split == "sep2":
        return prompt.split(tpl.sep2)
    pieces = prompt.split(tpl.sep)
    rounds = [tpl.sep.join(pieces[:3])]
    rounds.extend(tpl.sep.join(pieces[k : k + 2]) for k in range(3, len(pieces), 2))
    return rounds


def _round_lengths(prompt: str, tpl: Template, rule: Rounds, tokenizer: Any, has_image: bool) -> list[int]:
    """Token counts of each round and of its instruction, alternating, up to the first round without an answer."""
    answer = rule.answer.format(sep=tpl.sep, assistant=tpl.roles[1])
    batch = _Batch(tokenizer)
    for rou in _split_rounds(prompt, tpl, rule):
        parts = rou.split(answer)
        if rou == "" or len(parts) != 2:
            break
        batch.add(rou, has_image).add(parts[0] + answer, has_image)
    return [len(x) for x in batch.run()]


def encode_rounds(turns: Turns, tokenizer: Any, tpl: Template, has_image: bool, max_length: int) -> Tokenized:
    """The chat formats (v1, llama_2, mpt, llama3 rules): only the assistant replies and their end separators
    are learned, measured round by round with the template's ``Rounds`` arithmetic."""
    rule = tpl.rounds
    if rule is None:
        raise ValueError(f"template {tpl.name!r} has no rounds rule")
    prompt = tpl.render(_dialogue(turns, tpl))
    ids = _prompt_ids(prompt, tokenizer, has_image, max_length)
    labels = list(ids)
    lengths = _round_lengths(prompt, tpl, rule, tokenizer, has_image)
    later = rule.later_rounds(tokenizer)
    cur = rule.start
    _mask(labels, 0, cur)
    for i in range(0, len(lengths), 2):
        round_len, instruction_len = lengths[i] + rule.round_extra, lengths[i + 1] + rule.instruction_extra
        if i:
            round_len, instruction_len = round_len + later, instruction_len + later
        _mask(labels, cur, cur + instruction_len)
        cur += round_len
    return _finish(ids, labels, cur, tokenizer, max_length)


def _signal_lengths(pieces: list[str], tokenizer: Any, has_image: bool) -> list[int]:
    """Each piece's token count as the reference takes it; text-only, the padding id is not counted even where
    the text itself holds it. (The reference also truncates each piece to the model's length, which never changes
    a label: a piece that long already ends past the end of the truncated prompt.)"""
    batch = _Batch(tokenizer)
    for piece in pieces:
        batch.add(piece, has_image)
    if has_image:
        return [len(x) for x in batch.run()]
    pad = tokenizer.pad_token_id
    return [sum(1 for t in x if t != pad) for x in batch.run()]


def encode_signals(turns: Turns, tokenizer: Any, tpl: Template, has_image: bool, max_length: int) -> Tokenized:
    """The "###" format: the system header is masked, and each human line but its first two tokens."""
    header, lines = tpl.signals(list(turns))
    ids = _prompt_ids(header + "".join(lines) + "### ", tokenizer, has_image, max_length)
    labels = list(ids)
    lengths = _signal_lengths([header, *lines], tokenizer, has_image)
    cur = lengths[0]
    _mask(labels, 0, cur)
    for length, (speaker, _) in zip(lengths[1:], turns, strict=True):
        if speaker == HUMAN:  # the exact 'human', though any case of it names the role
            _mask(labels, cur + 2, cur + length)
        cur += length
    return Tokenized(ids, labels)


def _check_plain(turns: Turns) -> None:
    if len(turns) != 2 or IMAGE_TOKEN not in turns[0][1]:
        raise ValueError("the plain template needs exactly two turns, the first one holding <image>")


def encode_plain(turns: Turns, tokenizer: Any, tpl: Template) -> Tokenized:
    """Pretraining format: ``<image>`` + caption + newline; the image part is masked."""
    _check_plain(turns)
    batch = _Batch(tokenizer).add(IMAGE_TOKEN + turns[1][1] + tpl.sep, True).add(IMAGE_TOKEN, True)
    ids, head = batch.run()
    labels = list(ids)
    _mask(labels, 0, len(head))
    return Tokenized(ids, labels)


def prompt_text(turns: Turns, config: PreprocessConfig, has_image: bool) -> str:
    """The text ``encode`` tokenizes for a record's turns, ``<image>`` still written as text (what a reader of the
    mix wants to see: ``llavamix browse`` shows it); ValueError where ``encode`` raises it for the conversation."""
    tpl = template(config.template)
    if has_image and config.is_multimodal:
        turns = multimodal_turns(turns, tpl, config.mm_use_im_start_end)
    if tpl.style == "plain":
        _check_plain(turns)
        return IMAGE_TOKEN + turns[1][1] + tpl.sep
    if tpl.style == "signals":
        header, lines = tpl.signals(list(turns))
        return header + "".join(lines) + "### "
    return tpl.render(_dialogue(turns, tpl))


def encode(turns: Turns, tokenizer: Any, config: PreprocessConfig, has_image: bool) -> Tokenized:
    """A record's conversation as training ids and labels, per ``config.template``.

    ``turns`` are the record's ``(from, value)`` pairs. With ``has_image`` on a multimodal config they are first
    rewritten as :func:`multimodal_turns` says. Raises ValueError for conversations the reference cannot train on
    (a ``from`` other than human/gpt or turns that do not alternate in a chat template, an empty first turn in a
    llama_2 one, a plain-template record that is not one image + one caption).
    """
    tpl = template(config.template)
    if has_image and config.is_multimodal:
        turns = multimodal_turns(turns, tpl, config.mm_use_im_start_end)
    if tpl.style == "plain":
        return encode_plain(turns, tokenizer, tpl)
    if tpl.style == "signals":
        return encode_signals(turns, tokenizer, tpl, has_image, config.model_max_length)
    return encode_rounds(turns, tokenizer, tpl, has_image, config.model_max_length)
