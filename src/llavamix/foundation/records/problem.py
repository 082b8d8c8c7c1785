"""``Problem``: one problem of one record, as verify reports it and pack lists the records it leaves out."""

from __future__ import annotations

from typing import Any

import msgspec

from llavamix.foundation.records.reasons import is_error


class Problem(msgspec.Struct, frozen=True):
    """Record ``index`` (its ``id``, None when absent) has the problem ``code`` (a ``records.reasons`` code);
    ``path`` is the image path when the problem is its image's, ``detail`` says what exactly is wrong.

    A msgspec struct: verify builds one per problem of a million-record mix, and pack's manifest stores them.
    """

    index: int
    id: Any
    code: str
    path: str | None = None
    detail: str = ""

    @property
    def is_error(self) -> bool:
        return is_error(self.code)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "id": self.id, "code": self.code, "path": self.path, "detail": self.detail}
