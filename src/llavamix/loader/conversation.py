"""Conversation templates: every ``--version`` value of the reference training script, as data.

A template says how a record's human/gpt turns become one prompt (``style``: ``two``, ``mpt``, ``llama_2``,
``plain`` or ``signals``) and, for the chat styles, how the reference measures that prompt's rounds to find the
tokens it masks (``rounds``). The names are the training script's: the conversation module's table, Open-LLaVA-NeXT's
``llava_llama_3``, and ``v0`` / ``v0.5``, which the script handles before it looks in that table (it keeps its
default conversation, Vicuna v1, for both).
"""

from __future__ import annotations

from dataclasses import dataclass

from llavamix.foundation.errors import ConfigError

HUMAN, GPT = "human", "gpt"


@dataclass(frozen=True)
class Rounds:
    """How the reference cuts a rendered prompt into rounds and counts their tokens to mask each instruction.

    ``split``: ``sep2`` (every round ends with the template's ``sep2``) or ``pairs`` (the prompt split on ``sep``;
    system prompt and first exchange are round 0, each further human + gpt pair one round). ``answer``: the text
    that ends a round's instruction, a format of the template's ``sep`` and ``assistant`` role. ``start``: tokens
    masked before round 0. ``round_extra`` / ``instruction_extra``: the reference's constant corrections of each
    count. ``later``: what every round after the first adds to both counts, with a legacy and with a non-legacy
    tokenizer; ``legacy_default``: how a tokenizer without a ``legacy`` attribute is counted.
    """

    split: str
    answer: str
    start: int
    round_extra: int
    instruction_extra: int
    later: tuple[int, int]
    legacy_default: bool = True

    def later_rounds(self, tokenizer: object) -> int:
        """The correction of rounds after the first for ``tokenizer`` (its ``legacy`` flag decides)."""
        legacy = bool(getattr(tokenizer, "legacy", self.legacy_default))
        return self.later[0] if legacy else self.later[1]


# preprocess_v1: a non-legacy sentencepiece tokenizer drops the space it would add after "</s>" (the reference
# corrects for it with tokenizers >= 0.14 only, which every transformers release llavamix supports requires)
V1_ROUNDS = Rounds("sep2", "{sep}{assistant}: ", start=1, round_extra=0, instruction_extra=-2, later=(0, -1))
# preprocess_llama_2: the same arithmetic on "[/INST] ", without the legacy correction
LLAMA_2_ROUNDS = Rounds("sep2", "[/INST] ", start=1, round_extra=0, instruction_extra=-2, later=(0, 0))
# preprocess_mpt: its legacy correction adds a token (a tokenizer without the attribute counts as non-legacy)
MPT_ROUNDS = Rounds(
    "pairs", "{sep}{assistant}", start=0, round_extra=0, instruction_extra=-1, later=(1, 0), legacy_default=False
)
# Open-LLaVA-NeXT's preprocess_llama3: +1 for the <|eot_id|> the split removed, later rounds lose their BOS
LLAMA_3_ROUNDS = Rounds("pairs", "{sep}{assistant}", start=0, round_extra=1, instruction_extra=0, later=(-1, -1))


@dataclass(frozen=True)
class Template:
    """A chat format. ``style``: ``two`` (role + ": " + text, separators alternating ``sep`` / ``sep2``), ``mpt``
    (role header + text + ``sep``), ``llama_2`` ([INST] blocks, the system prompt inside the first one),
    ``plain`` (image + caption + ``sep``) or ``signals`` ("### role: text" lines after the system prompt: what the
    reference trains for every template its preprocess has no rule of its own for). ``mmtag`` templates wrap the
    image token in ``<Image>...</Image>``."""

    name: str
    system: str
    roles: tuple[str, str]
    style: str
    sep: str
    sep2: str = ""
    rounds: Rounds | None = None
    mmtag: bool = False

    def role(self, speaker: str) -> str:
        """The prompt's role name for a record's ``from`` value (``human`` or ``gpt``)."""
        if speaker == HUMAN:
            return self.roles[0]
        if speaker == GPT:
            return self.roles[1]
        raise ValueError(f"turn 'from' is {speaker!r}; only 'human' and 'gpt' are trainable")

    def signal_role(self, speaker: str) -> str:
        """The role a ``signals`` line names: any case of human or gpt, else ``unknown`` (no turn is refused)."""
        lowered = speaker.lower()
        return self.roles[0] if lowered == HUMAN else self.roles[1] if lowered == GPT else "unknown"

    def render(self, turns: list[tuple[str, str]]) -> str:
        """The full prompt for ``(role, text)`` pairs already mapped through :meth:`role`."""
        if self.style == "two":
            seps = (self.sep, self.sep2)
            body = (f"{role}: {text}{seps[i % 2]}" if text else f"{role}:" for i, (role, text) in enumerate(turns))
            return self.system + self.sep + "".join(body)
        if self.style == "mpt":
            return self.system + self.sep + "".join(role + text + self.sep if text else role for role, text in turns)
        if self.style == "llama_2":
            return self._llama_2(turns)
        raise ValueError(f"template {self.name!r} renders no chat prompt")

    def _llama_2(self, turns: list[tuple[str, str]]) -> str:
        if not turns or not turns[0][1]:
            raise ValueError(f"the first human turn is empty; template {self.name!r} needs text in it")
        system = f"<<SYS>>\n{self.system}\n<</SYS>>\n\n" if self.system else ""
        out = []
        for i, (_, text) in enumerate(turns):
            if not text:
                continue  # an empty turn adds nothing, yet keeps its place in the human/gpt alternation
            if i % 2:
                out.append(f" {text} {self.sep2}")
            else:
                # the prompt never starts with the separator: only later instructions get one
                out.append(f"{self.sep if i else ''}[INST] {system if i == 0 else ''}{text} [/INST]")
        return "".join(out)

    def signals(self, turns: list[tuple[str, str]]) -> tuple[str, list[str]]:
        """The ``signals`` prompt's header and one line per turn (the prompt is their concatenation + "### ")."""
        return self.system + "\n\n", [f"### {self.signal_role(speaker)}: {text}\n" for speaker, text in turns]


_USER_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)
_HUMAN_SYSTEM = (
    "A chat between a curious human and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the human's questions."
)
_MMTAG_SYSTEM = (  # no space after "language." in the reference either
    "A chat between a curious user and an artificial intelligence assistant. The assistant is able to understand "
    "the visual content that the user provides, and assist the user with a variety of tasks using natural language."
    "The visual content will be provided with the following format: <Image>visual content</Image>."
)
_LLAVA_SYSTEM = (
    "You are a helpful language and vision assistant. You are able to understand the visual content that the user "
    "provides, and assist the user with a variety of tasks using natural language."
)
_LLAMA_2_SYSTEM = (
    "You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, while being safe.  "
    "Your answers should not include any harmful, unethical, racist, sexist, toxic, dangerous, or illegal content. "
    "Please ensure that your responses are socially unbiased and positive in nature.\n\n"
    "If a question does not make any sense, or is not factually coherent, explain why instead of answering "
    "something not correct. If you don't know the answer to a question, please don't share false information."
)
_MPT_SYSTEM = (
    "A conversation between a user and an LLM-based AI assistant. The assistant gives helpful and honest answers."
)
_CHAT = ("USER", "ASSISTANT")
_CHATML = ("<|im_start|>user\n", "<|im_start|>assistant\n")
_LLAMA_3 = ("<|start_header_id|>user<|end_header_id|>\n\n", "<|start_header_id|>assistant<|end_header_id|>\n\n")


def _two(name: str, system: str, *, mmtag: bool = False) -> Template:
    return Template(name, system, _CHAT, "two", " ", "</s>", V1_ROUNDS, mmtag)


def _llama_2(name: str, system: str, sep: str) -> Template:
    return Template(name, system, _CHAT, "llama_2", sep, "</s>", LLAMA_2_ROUNDS)


def _chatml(name: str, system: str) -> Template:
    return Template(name, "<|im_start|>system\n" + system, _CHATML, "mpt", "<|im_end|>", rounds=MPT_ROUNDS)


def _signals(name: str, system: str, *, mmtag: bool = False) -> Template:
    return Template(name, system, ("Human", "Assistant"), "signals", "###", mmtag=mmtag)


VICUNA_V1 = _two("vicuna_v1", _USER_SYSTEM)
VICUNA_V0 = _signals("v0", _HUMAN_SYSTEM)
PLAIN = Template("plain", "", ("", ""), "plain", "\n")
CHATML_DIRECT = _chatml("chatml_direct", "Answer the questions.")
LLAVA_LLAMA_3 = Template(
    "llava_llama_3",
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" + _LLAVA_SYSTEM,
    _LLAMA_3,
    "mpt",
    "<|eot_id|>",
    rounds=LLAMA_3_ROUNDS,
)

TEMPLATES = {  # every --version value the training script takes, with the template it trains
    "default": VICUNA_V0,
    "v0": VICUNA_V1,  # the script keeps its default conversation for v0 and v0.5 ...
    "v0.5": VICUNA_V1,  # ... (only the pad token differs, and the tokenizer is the caller's)
    "v1": VICUNA_V1,
    "vicuna_v1": VICUNA_V1,
    "llama_2": _llama_2("llama_2", _LLAMA_2_SYSTEM, "<s>"),
    "mistral_instruct": _llama_2("mistral_instruct", "", ""),
    "chatml_direct": CHATML_DIRECT,
    "mistral_direct": CHATML_DIRECT,
    "plain": PLAIN,
    "v0_plain": PLAIN,
    "llava_v0": _signals("llava_v0", _HUMAN_SYSTEM),
    "v0_mmtag": _signals("v0_mmtag", _MMTAG_SYSTEM, mmtag=True),
    "llava_v1": _two("llava_v1", _HUMAN_SYSTEM),
    "v1_mmtag": _two("v1_mmtag", _MMTAG_SYSTEM, mmtag=True),
    "llava_llama_2": _llama_2("llava_llama_2", _LLAVA_SYSTEM, "<s>"),
    "mpt": _chatml("mpt", _MPT_SYSTEM),
    "llava_llama_3": LLAVA_LLAMA_3,
}


def template(name: str) -> Template:
    """The template the training script uses for ``--version name``."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ConfigError(
            f"unknown template {name!r} (the training script's --version); use one of {', '.join(TEMPLATES)} "
            "(the script trains any other value as vicuna_v1: pass 'vicuna_v1' for that)"
        ) from None
