"""A record's conversation as the model sees it: its turns as stored (roles, where ``<image>`` stands) and the
prompt text training builds from them with a conversation template (``loader.tokens.prompt_text``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from llavamix.loader.config import PreprocessConfig
from llavamix.loader.tokens import prompt_text

DEFAULT_TEMPLATE = PreprocessConfig().template  # the loader's default, the reference training run's --version


@dataclass(frozen=True)
class Conversation:
    """``turns``: (from, value) as the record holds them, any JSON value shown as it is; ``prompt``: the text the
    template renders (None when it cannot), ``problem``: why it cannot."""

    turns: list[tuple[Any, Any]]
    prompt: str | None
    problem: str | None = None


def conversation(record: Any, template: str = DEFAULT_TEMPLATE) -> Conversation:
    """The conversation of ``record`` (plain JSON, as ``json.load`` gives it) under ``template``; ConfigError for a
    template name the training script does not take."""
    config = PreprocessConfig(template=template)
    raw_turns = record.get("conversations") if isinstance(record, dict) else None
    if not isinstance(raw_turns, list):
        return Conversation([], None, "the record has no 'conversations' list")
    turns = [(t.get("from"), t.get("value")) if isinstance(t, dict) else (None, t) for t in raw_turns]
    if not all(isinstance(who, str) and isinstance(text, str) for who, text in turns):
        return Conversation(turns, None, "a turn's 'from' or 'value' is not a string; training cannot read it")
    try:
        prompt = prompt_text(cast(list[tuple[str, str]], turns), config, has_image="image" in record)
    except ValueError as exc:
        return Conversation(turns, None, f"training cannot render it: {exc}")
    return Conversation(turns, prompt)
