"""Record rules: read one decoded mix record the way the Open-LLaVA-NeXT trainer does and name its first problem.

The one rule set of llavamix: verify reports what it finds, pack leaves out (or refuses) every record it gives an
error; codes are those of ``records.reasons``.

Precedence (a record gets at most one error, the first that fails, so each problem has exactly one code):
``not_object`` -> ``image_null`` -> ``image_not_str`` -> ``no_conversations`` (missing, not a list, empty) ->
``bad_role`` -> ``no_conversations`` (no human->gpt round once training drops a leading gpt turn) ->
``not_alternating`` -> ``empty_text`` -> ``image_token_count``.
Structure comes before content: once a role is wrong, alternation and token counts mean nothing.
Warnings (``first_turn_not_human``) are reported only for records without an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llavamix.foundation.records.model import IMAGE_TOKEN

_ABSENT = object()
_JSON_KIND = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


@dataclass(frozen=True)
class Finding:
    """One named problem of a record: a reason code and a short human detail."""

    code: str
    detail: str


_ALTERNATING = [["human", "gpt"] * (n // 2) + ["human"] * (n % 2) for n in range(256)]


def check_record(rec: Any) -> Finding | list[Finding]:
    """The record's first error, or the (possibly empty) list of its warnings.

    A fast path settles the common, clean record with C-level operations only; anything it cannot vouch for goes
    to ``explain_record``, which is the authority on codes and details (tests check the two agree).
    """
    if type(rec) is dict:
        conv = rec.get("conversations")
        image = rec.get("image", _ABSENT)
        if type(conv) is list and 2 <= len(conv) < len(_ALTERNATING) and (image is _ABSENT or type(image) is str):
            try:
                roles = [turn["from"] for turn in conv]
                values = [turn["value"] for turn in conv]
                text = "\x00".join(values)
            except (TypeError, KeyError):
                return explain_record(rec)
            if roles == _ALTERNATING[len(roles)] and all(map(str.strip, values)):
                tokens = text.count(IMAGE_TOKEN)
                if tokens == (image is not _ABSENT) and (not tokens or IMAGE_TOKEN in values[0]):
                    return []
    return explain_record(rec)


def explain_record(rec: Any) -> Finding | list[Finding]:
    """Like ``check_record``, checking every rule one by one to name the first that fails."""
    if type(rec) is not dict:
        kind = "null" if rec is None else _JSON_KIND.get(type(rec), type(rec).__name__)
        return Finding("not_object", f"record is {kind}, not an object")
    image = rec.get("image", _ABSENT)
    if image is None:
        return Finding("image_null", "'image' is null; drop the key for a text-only record")
    if image is not _ABSENT and type(image) is not str:
        return Finding("image_not_str", f"'image' is {_JSON_KIND.get(type(image), 'an object')}, not a path")
    conv = rec.get("conversations")
    if type(conv) is not list or not conv:
        what = "missing" if conv is None else ("empty" if conv == [] else "not a list")
        return Finding("no_conversations", f"'conversations' is {what}")
    found = _check_turns(conv, image is not _ABSENT)
    if found is not None:
        return found
    if conv[0]["from"] == "gpt":
        return [Finding("first_turn_not_human", "training drops the leading gpt turn")]
    return []


def _check_turns(conv: list, has_image: bool) -> Finding | None:
    for i, turn in enumerate(conv):
        if type(turn) is not dict:
            return Finding("bad_role", f"turn {i} is not an object")
        role = turn.get("from")
        if role != "human" and role != "gpt":
            return Finding("bad_role", f"turn {i} is from {role!r}; only 'human' and 'gpt' are trained")
    start = 1 if conv[0]["from"] == "gpt" else 0
    if len(conv) - start < 2:
        return Finding("no_conversations", "no human->gpt round (training drops a leading gpt turn)")
    for j in range(start, len(conv)):
        if conv[j]["from"] != ("human" if (j - start) % 2 == 0 else "gpt"):
            return Finding("not_alternating", f"turn {j} is from {conv[j]['from']!r} again")
    for i, turn in enumerate(conv):
        value = turn.get("value")
        if type(value) is not str or not value.strip():
            what = "missing" if value is None else ("blank" if type(value) is str else "not a string")
            return Finding("empty_text", f"turn {i} value is {what}")
    return _check_image_tokens(conv, has_image)


def _check_image_tokens(conv: list, has_image: bool) -> Finding | None:
    counts = [turn["value"].count(IMAGE_TOKEN) for turn in conv]
    total = sum(counts)
    if not has_image:
        return Finding("image_token_count", f"text-only record has {total} {IMAGE_TOKEN}") if total else None
    if total != 1:
        return Finding("image_token_count", f"image record has {total} {IMAGE_TOKEN} tokens, needs exactly 1")
    turn = next(i for i, c in enumerate(counts) if c)
    if conv[turn]["from"] != "human":
        return Finding("image_token_count", f"{IMAGE_TOKEN} is in gpt turn {turn}, not a human turn")
    return None
