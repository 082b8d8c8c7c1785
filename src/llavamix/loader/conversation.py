"""Conversation templates: how the human/gpt turns of a record are rendered into one training prompt.

``plain`` is the pretraining format (image token, caption, newline); ``v1`` is the Vicuna-v1 chat format;
``llava_llama_3`` is Open-LLaVA-NeXT's Llama-3 chat format.
"""

from __future__ import annotations

from dataclasses import dataclass

from llavamix.foundation.errors import ConfigError

HUMAN, GPT = "human", "gpt"


@dataclass(frozen=True)
class Template:
    """A chat format. ``style`` is ``two`` (role + ": " + text, separators alternating ``sep``/``sep2``),
    ``headers`` (role header + text + ``sep``, the system prompt first) or ``plain``."""

    name: str
    system: str
    roles: tuple[str, str]
    style: str
    sep: str
    sep2: str = ""

    def role(self, speaker: str) -> str:
        """The prompt's role name for a record's ``from`` value (``human`` or ``gpt``)."""
        if speaker == HUMAN:
            return self.roles[0]
        if speaker == GPT:
            return self.roles[1]
        raise ValueError(f"turn 'from' is {speaker!r}; only 'human' and 'gpt' are trainable")

    def render(self, turns: list[tuple[str, str]]) -> str:
        """The full prompt for ``(role, text)`` pairs already mapped through :meth:`role`."""
        if self.style == "two":
            seps = (self.sep, self.sep2)
            body = (f"{role}: {text}{seps[i % 2]}" if text else f"{role}:" for i, (role, text) in enumerate(turns))
            return self.system + self.sep + "".join(body)
        if self.style == "headers":
            return self.system + self.sep + "".join(role + text + self.sep if text else role for role, text in turns)
        raise ValueError(f"template {self.name!r} renders pairs, not turns")


VICUNA_V1 = Template(
    name="v1",
    system=(
        "A chat between a curious user and an artificial intelligence assistant. "
        "The assistant gives helpful, detailed, and polite answers to the user's questions."
    ),
    roles=("USER", "ASSISTANT"),
    style="two",
    sep=" ",
    sep2="</s>",
)

LLAVA_LLAMA_3 = Template(
    name="llava_llama_3",
    system=(
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
        "You are a helpful language and vision assistant. You are able to understand the visual content that the "
        "user provides, and assist the user with a variety of tasks using natural language."
    ),
    roles=("<|start_header_id|>user<|end_header_id|>\n\n", "<|start_header_id|>assistant<|end_header_id|>\n\n"),
    style="headers",
    sep="<|eot_id|>",
)

PLAIN = Template(name="plain", system="", roles=("", ""), style="plain", sep="\n")

TEMPLATES = {t.name: t for t in (PLAIN, VICUNA_V1, LLAVA_LLAMA_3)}


def template(name: str) -> Template:
    """The template called ``name`` (``plain``, ``v1`` or ``llava_llama_3``)."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ConfigError(f"unknown template {name!r}; use one of {', '.join(TEMPLATES)}") from None
