"""Tokenizers built locally for the loader tests, one per family the reference templates are trained with.

A Llama-style sentencepiece model (LLaVA v1, Llama-2, Mistral; legacy or not), the same with ChatML's two special
tokens (a Yi-like tokenizer for chatml_direct), a byte-level BPE with Llama-3's special tokens that adds
<|begin_of_text|>, and a byte-level BPE with ChatML's special tokens that adds nothing (MPT / GPT-NeoX-like, no
``legacy`` attribute). Everything is trained here from a generated corpus: no download.
"""

from __future__ import annotations

import copy
import io
import random
from pathlib import Path

WORDS = (  # noqa: SIM905 - a word list reads better as one string
    "the a of image photo cat dog red blue sky tree what is in this picture describe detail answer question "
    "USER ASSISTANT user assistant chart table sign text street car people two three left right color man woman "
    "running sitting on under near with and or not yes no please short long word sentence caption"
).split()
PUNCT = [".", ",", "?", "!", ":", "\n", " 42", " 7", " é", " 中文"]

CHATML_SPECIALS = ["<|im_start|>", "<|im_end|>"]
IM_TOKENS = ["<im_start>", "<im_end>"]  # what training adds to the tokenizer for --mm_use_im_start_end

LLAMA3_SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<pad>",
]


def corpus(n: int = 3000, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 14))]
        line = " ".join(words) + rng.choice(PUNCT)
        lines.append(line.replace("\n", " "))
    return lines


def train_sentencepiece(folder: Path) -> Path:
    """A small Llama-like model: <unk>=0, <s>=1, </s>=2, byte fallback, digits split, dummy prefix."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()),
        model_writer=model,
        vocab_size=400,
        model_type="bpe",
        byte_fallback=True,
        split_digits=True,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        add_dummy_prefix=True,
        remove_extra_whitespaces=False,
        normalization_rule_name="identity",
        character_coverage=1.0,
        minloglevel=2,
    )
    path = folder / "tokenizer.model"
    path.write_bytes(model.getvalue())
    return path


def llama_tokenizer(model_path: Path, *, legacy: bool, max_length: int = 4096, pad: str = "unk"):
    """The slow LlamaTokenizer the reference trains with; ``pad`` is 'unk' (LLaVA v1) or 'new' (adds <pad>)."""
    from transformers import LlamaTokenizer

    # from a folder holding only tokenizer.model: transformers 4.x builds the slow sentencepiece tokenizer,
    # 5.x converts the model to its tokenizers backend; both honour ``legacy``
    tok = LlamaTokenizer.from_pretrained(
        str(model_path.parent),
        legacy=legacy,
        add_bos_token=True,
        add_eos_token=False,
        model_max_length=max_length,
        padding_side="right",
    )
    if pad == "unk":
        tok.pad_token = tok.unk_token
    else:
        tok.add_special_tokens({"pad_token": "<pad>"})
    return tok


def with_tokens(tokenizer, tokens: list[str]):
    """A copy of ``tokenizer`` with ``tokens`` added as special tokens, as training adds them."""
    tok = copy.deepcopy(tokenizer)
    tok.add_tokens(tokens, special_tokens=True)
    return tok


def shortened(tokenizer, max_length: int):
    """A copy of ``tokenizer`` whose ``model_max_length`` is ``max_length``."""
    tok = copy.deepcopy(tokenizer)
    tok.model_max_length = max_length
    return tok


def _byte_bpe(specials: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus(), trainer=trainer)
    return tok


def chatml_tokenizer(max_length: int = 4096):
    """A byte-level BPE with ChatML's special tokens that adds no BOS, padding with <|endoftext|>."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=_byte_bpe(["<|endoftext|>", *CHATML_SPECIALS]),
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        model_max_length=max_length,
        padding_side="right",
    )


def llama3_tokenizer(max_length: int = 4096):
    """A byte-level BPE with Llama-3's special tokens, adding <|begin_of_text|> to every encoding."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    tok = _byte_bpe(LLAMA3_SPECIALS)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A",
        pair="<|begin_of_text|> $A <|begin_of_text|> $B",
        special_tokens=[("<|begin_of_text|>", bos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|begin_of_text|>",
        eos_token="<|eot_id|>",
        pad_token="<pad>",
        model_max_length=max_length,
        padding_side="right",
    )
