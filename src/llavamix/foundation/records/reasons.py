"""The closed set of reason codes for record and image problems, their severity, and the training behaviour each
one protects; verify reports them and pack applies the image ones."""

from __future__ import annotations

# code -> why it matters, phrased as what the Open-LLaVA-NeXT trainer would do with such a record or image.
RECORD_ERRORS: dict[str, str] = {
    "not_object": "the record is not a JSON object; the dataset indexes it like a dict and crashes",
    "image_null": "'image' is null; the trainer tests key presence, so it joins None into a path and crashes",
    "image_not_str": "'image' is not a string; os.path.join raises TypeError",
    "no_conversations": "no human->gpt round to learn from (missing, not a list, empty, or a lone turn)",
    "bad_role": "a turn is not an object or its 'from' is not human/gpt; the role lookup raises KeyError",
    "not_alternating": "turns do not alternate human/gpt; preprocessing asserts strict alternation",
    "empty_text": "a turn's value is missing, not a string, or blank; blank answers teach nothing and a record "
    "with zero words trips the length sampler's assertion",
    "image_token_count": "image rows need exactly one <image> (in a human turn), text rows none; otherwise "
    "image features and image tokens do not match",
}
IMAGE_ERRORS: dict[str, str] = {
    "outside_root": "the image path is absolute or climbs out of the data root with '..'; os.path.join keeps an "
    "absolute path as it is, so training would read whatever file it names, and the mix only works on this machine",
    "missing": "the image file does not exist (or is not a regular file: a folder, FIFO or device); Image.open "
    "raises or blocks and training stops",
    "empty_file": "the image file has 0 bytes; Image.open raises UnidentifiedImageError",
    "undecodable": "the image cannot be decoded in full (corrupt or truncated); convert('RGB') raises",
    "bomb": "the image has more pixels than PIL's decompression-bomb limit; PIL refuses or warns and the "
    "decode needs hundreds of MB",
}
WARNINGS: dict[str, str] = {
    "first_turn_not_human": "the first turn is from gpt; the trainer silently drops it",
    "duplicate_id": "the id was already used by an earlier record",
    "format_mismatch": "the bytes are another format than the extension says (e.g. GIF under .jpg)",
    "unusual_mode": "an unusual pixel mode (CMYK, 16-bit, palette with transparency) that convert('RGB') may "
    "render with wrong colours",
    "tiny_image": "the image is smaller than the tiny threshold on its shorter side (often a placeholder)",
}
ERRORS: dict[str, str] = {**RECORD_ERRORS, **IMAGE_ERRORS}
REASONS: dict[str, str] = {**ERRORS, **WARNINGS}


def is_error(code: str) -> bool:
    return code in ERRORS
