# ruff: noqa: B905, SIM102, PTH118 - transcriptions stay line for line with the reference
"""The reference implementation the loader must equal, gathered for the differential tests.

Sources: the ``llava-torch==1.2.2.post1`` package (installed with ``--no-deps``) for ``mm_utils``, the conversation
templates, and the preprocess / collator / sampler functions of ``llava/train/train.py`` and
``llava/train/llava_trainer.py``. Those two modules import training-only dependencies (deepspeed paths, the model
zoo, ``transformers.trainer``), so the needed functions are compiled straight from the installed files' source
text instead of importing the modules. What 1.2.2 lacks is transcribed below from Open-LLaVA-NeXT
(xiaoachen98/Open-LLaVA-NeXT, ``llava/train/train.py`` and ``llava/conversation.py``) and marked as such: the
llava_llama_3 template and its preprocess_llama3, the dataset's ``__getitem__`` (anyres and ``image_size``), and
how ``train()`` turns a ``--version`` value into the default conversation. Open-LLaVA-NeXT's other templates and
its preprocess_v1 / _llama_2 / _mpt / _plain / preprocess_multimodal / fallback are llava-torch 1.2.2's, line for
line, so those run from the installed package.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import dataclasses
import os
import typing
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import llava
import llava.conversation as conversation_lib
import llava.mm_utils as mm_utils
import tokenizers
import torch
import transformers
from llava.constants import (
    DEFAULT_IM_END_TOKEN,
    DEFAULT_IM_START_TOKEN,
    DEFAULT_IMAGE_TOKEN,
    IGNORE_INDEX,
    IMAGE_TOKEN_INDEX,
)
from packaging import version
from PIL import Image

PACKAGE = Path(llava.__file__).parent


def _compile(path: Path, names: set[str], extra: dict) -> dict:
    """Execute only the top-level definitions called ``names`` from ``path`` in a fresh namespace."""
    tree = ast.parse(path.read_text())
    body = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in names]
    missing = names - {n.name for n in body}
    if missing:
        raise RuntimeError(f"{path}: no definitions named {sorted(missing)}")
    namespace = dict(extra)
    exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), namespace)
    return namespace


_TRAIN_GLOBALS = {
    "copy": copy,
    "torch": torch,
    "transformers": transformers,
    "tokenizers": tokenizers,
    "conversation_lib": conversation_lib,
    "tokenizer_image_token": mm_utils.tokenizer_image_token,
    "IGNORE_INDEX": IGNORE_INDEX,
    "IMAGE_TOKEN_INDEX": IMAGE_TOKEN_INDEX,
    "DEFAULT_IMAGE_TOKEN": DEFAULT_IMAGE_TOKEN,
    "DEFAULT_IM_START_TOKEN": DEFAULT_IM_START_TOKEN,
    "DEFAULT_IM_END_TOKEN": DEFAULT_IM_END_TOKEN,
    "IS_TOKENIZER_GREATER_THAN_0_14": version.parse(tokenizers.__version__) >= version.parse("0.14"),
    "Dict": typing.Dict,  # noqa: UP006 - the reference annotates with typing names
    "Sequence": typing.Sequence,
    "List": typing.List,  # noqa: UP006
    "Optional": typing.Optional,
    "dataclass": dataclasses.dataclass,
    "DataArguments": object,
    "Sampler": torch.utils.data.Sampler,
}

train = SimpleNamespace(
    **_compile(
        PACKAGE / "train" / "train.py",
        {
            "preprocess_multimodal",
            "preprocess_v1",
            "preprocess_plain",
            "preprocess",
            "_tokenize_fn",
            "_mask_targets",
            "_add_speaker_and_signal",
            "preprocess_llama_2",
            "preprocess_mpt",
            "DataCollatorForSupervisedDataset",
        },
        _TRAIN_GLOBALS,
    )
)
trainer = SimpleNamespace(
    **_compile(
        PACKAGE / "train" / "llava_trainer.py",
        {
            "split_to_even_chunks",
            "get_modality_length_grouped_indices",
            "get_length_grouped_indices",
            "LengthGroupedSampler",
        },
        _TRAIN_GLOBALS,
    )
)

# --- Transcribed from Open-LLaVA-NeXT llava/conversation.py (absent from llava-torch 1.2.2): the Llama-3 template.
conv_llava_llama_3 = conversation_lib.Conversation(
    system="<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful language and vision "
    "assistant. You are able to understand the visual content that the user provides, and assist the user with a "
    "variety of tasks using natural language.",
    roles=("<|start_header_id|>user<|end_header_id|>\n\n", "<|start_header_id|>assistant<|end_header_id|>\n\n"),
    version="llama3",
    messages=[],
    offset=0,
    sep_style=conversation_lib.SeparatorStyle.MPT,
    sep="<|eot_id|>",
)


# --- Transcribed from Open-LLaVA-NeXT llava/train/train.py (absent from llava-torch 1.2.2): preprocess_llama3.
def preprocess_llama3(sources, tokenizer, has_image=False):
    conv = conversation_lib.default_conversation.copy()
    roles = {"human": conv.roles[0], "gpt": conv.roles[1]}
    conversations = []
    for i, source in enumerate(sources):
        if roles[source[0]["from"]] != conv.roles[0]:
            source = source[1:]
        conv.messages = []
        for j, sentence in enumerate(source):
            role = roles[sentence["from"]]
            assert role == conv.roles[j % 2], f"{i}"
            conv.append_message(role, sentence["value"])
        conversations.append(conv.get_prompt())
    if has_image:
        input_ids = torch.stack(
            [mm_utils.tokenizer_image_token(prompt, tokenizer, return_tensors="pt") for prompt in conversations], dim=0
        )
    else:
        input_ids = tokenizer(
            conversations,
            return_tensors="pt",
            padding="longest",
            max_length=tokenizer.model_max_length,
            truncation=True,
        ).input_ids
    targets = input_ids.clone()
    assert conv.sep_style == conversation_lib.SeparatorStyle.MPT
    sep = conv.sep + conv.roles[1]
    for conversation, target in zip(conversations, targets):
        total_len = int(target.ne(tokenizer.pad_token_id).sum())
        rounds = conversation.split(conv.sep)
        re_rounds = [conv.sep.join(rounds[:3])]
        for conv_idx in range(3, len(rounds), 2):
            re_rounds.append(conv.sep.join(rounds[conv_idx : conv_idx + 2]))
        cur_len = 0
        target[:cur_len] = IGNORE_INDEX
        for i, rou in enumerate(re_rounds):
            if rou == "":
                break
            parts = rou.split(sep)
            if len(parts) != 2:
                break
            parts[0] += sep
            if has_image:
                round_len = len(mm_utils.tokenizer_image_token(rou, tokenizer)) + 1
                instruction_len = len(mm_utils.tokenizer_image_token(parts[0], tokenizer))
            else:
                round_len = len(tokenizer(rou).input_ids) + 1
                instruction_len = len(tokenizer(parts[0]).input_ids)
            if i > 0:
                round_len -= 1
                instruction_len -= 1
            target[cur_len : cur_len + instruction_len] = IGNORE_INDEX
            cur_len += round_len
        target[cur_len:] = IGNORE_INDEX
        if cur_len < tokenizer.model_max_length:
            if cur_len != total_len:
                target[:] = IGNORE_INDEX
    return dict(input_ids=input_ids, labels=targets)


MODULE_DEFAULT = conversation_lib.default_conversation  # the conversation module's own default, as imported
# What the training script may select: the conversation module's table, plus Open-LLaVA-NeXT's llava_llama_3.
CONV_TEMPLATES = {**conversation_lib.conv_templates, "llava_llama_3": conv_llava_llama_3}
# --version values train() handles before it looks in the table.
VERSIONS = [*CONV_TEMPLATES, "v0.5"]


# --- Transcribed from Open-LLaVA-NeXT llava/train/train.py train() (llava-torch 1.2.2 has the same branches):
# which conversation a --version value makes the default.
def conversation_for(version: str):
    if version in ("v0", "v0.5"):
        return MODULE_DEFAULT
    if version in CONV_TEMPLATES:
        return CONV_TEMPLATES[version]
    return CONV_TEMPLATES["vicuna_v1"]


@contextlib.contextmanager
def default_conversation(version: str) -> Iterator[None]:
    """Point the reference's module-level ``default_conversation`` where ``--version version`` points it."""
    saved = conversation_lib.default_conversation
    conversation_lib.default_conversation = conversation_for(version)
    try:
        yield
    finally:
        conversation_lib.default_conversation = saved


def preprocess(sources, tokenizer, version: str, has_image: bool):
    """Open-LLaVA-NeXT's ``preprocess`` dispatch: llava-torch's, with the llama3 rule Open-LLaVA-NeXT adds."""
    with default_conversation(version):
        if conversation_lib.default_conversation.version == "llama3":
            return preprocess_llama3(sources, tokenizer, has_image=has_image)
        return train.preprocess(sources, tokenizer, has_image=has_image)


def data_args(**options):
    """The reference's DataArguments as the dataset reads them (a multimodal run, unless told otherwise)."""
    defaults = dict(
        image_folder=None,
        image_processor=None,
        image_aspect_ratio="anyres",
        image_grid_pinpoints=None,
        is_multimodal=True,
        mm_use_im_start_end=False,
    )
    return SimpleNamespace(**{**defaults, **options})


def multimodal(sources, version: str, args):
    """llava-torch's ``preprocess_multimodal`` under ``--version version`` (its mmtag test reads the default)."""
    with default_conversation(version):
        return train.preprocess_multimodal(copy.deepcopy(sources), args)


def clip_processor(size: int = 336):
    """A CLIP-ViT-L/14-336 image processor built locally with the checkpoint's preprocessing settings."""
    return transformers.CLIPImageProcessor(
        do_resize=True,
        size={"shortest_edge": size},
        resample=3,  # bicubic
        do_center_crop=True,
        crop_size={"height": size, "width": size},
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711],
        do_convert_rgb=True,
    )


# --- Transcribed from Open-LLaVA-NeXT llava/train/train.py LazySupervisedDataset.__getitem__, for one record.
def getitem(record: dict, tokenizer, args, version: str) -> dict:
    sources = [record]
    if "image" in sources[0]:
        processor = args.image_processor
        image = Image.open(os.path.join(args.image_folder, record["image"])).convert("RGB")
        if args.image_aspect_ratio == "pad":
            image = mm_utils.expand2square(image, tuple(int(x * 255) for x in processor.image_mean))
            image_size = image.size
            image = processor.preprocess(image, return_tensors="pt")["pixel_values"][0]
        elif args.image_aspect_ratio == "anyres":
            image_size = image.size
            image = mm_utils.process_anyres_image(image, processor, args.image_grid_pinpoints)
        else:
            image_size = image.size
            image = processor.preprocess(image, return_tensors="pt")["pixel_values"][0]
        sources = multimodal([e["conversations"] for e in sources], version, args)
    else:
        sources = copy.deepcopy([e["conversations"] for e in sources])
    data = preprocess(sources, tokenizer, version, has_image="image" in record)
    data = dict(input_ids=data["input_ids"][0], labels=data["labels"][0])
    if "image" in record:
        data["image"] = image
        data["image_size"] = image_size
    elif args.is_multimodal:
        crop = args.image_processor.crop_size
        data["image"] = torch.zeros(3, crop["height"], crop["width"])
        data["image_size"] = (crop["height"], crop["width"])
    return data
