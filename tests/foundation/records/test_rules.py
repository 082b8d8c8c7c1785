"""Record checks: one test per reason code, precedence, and the fast path agreeing with the rule-by-rule path."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llavamix.foundation.records.rules import Finding, check_record, explain_record
from tests.verify.conftest import record


def code(rec: Any) -> str | None:
    found = check_record(rec)
    assert found == explain_record(rec)
    if isinstance(found, Finding):
        return found.code
    return found[0].code if found else None


def turns(*pairs: tuple[Any, Any]) -> list[dict[str, Any]]:
    return [{"from": r, "value": v} for r, v in pairs]


@pytest.mark.parametrize(
    ("rec", "expected"),
    [
        (record(), None),
        (record(rid="000000033471"), None),
        (record(rid=2327515, n_rounds=4), None),
        (record(image=None), None),  # text-only: no image key
        ({"id": 1, "image": "a/b.jpg", "conversations": turns(("human", "Describe.\n<image>"), ("gpt", "x"))}, None),
        ([1, 2], "not_object"),
        ("text", "not_object"),
        (None, "not_object"),
        ({**record(), "image": None}, "image_null"),
        ({**record(), "image": 5}, "image_not_str"),
        ({**record(), "image": ["a.jpg"]}, "image_not_str"),
        ({"id": 1, "image": "a.jpg"}, "no_conversations"),
        ({**record(), "conversations": []}, "no_conversations"),
        ({**record(), "conversations": {"from": "human"}}, "no_conversations"),
        ({**record(), "conversations": turns(("human", "<image>\nq"))}, "no_conversations"),
        ({**record(), "conversations": turns(("gpt", "a"))}, "no_conversations"),
        ({**record(), "conversations": turns(("user", "<image>\nq"), ("gpt", "a"))}, "bad_role"),
        ({**record(), "conversations": [*turns(("human", "<image>\nq")), "gpt: a"]}, "bad_role"),
        ({**record(), "conversations": [{"value": "<image>\nq"}, {"from": "gpt", "value": "a"}]}, "bad_role"),
        ({**record(), "conversations": turns(("human", "<image>\nq"), ("human", "q2"))}, "not_alternating"),
        ({**record(), "conversations": turns(("human", "<image>\nq"), ("gpt", "a"), ("gpt", "b"))}, "not_alternating"),
        ({**record(), "conversations": turns(("human", "<image>\nq"), ("gpt", ""))}, "empty_text"),
        ({**record(), "conversations": turns(("human", "<image>\nq"), ("gpt", "  \n"))}, "empty_text"),
        ({**record(), "conversations": turns(("human", "<image>\nq"), ("gpt", None))}, "empty_text"),
        ({**record(), "conversations": turns(("human", "<image>\nq"), ("gpt", 3))}, "empty_text"),
        ({**record(), "conversations": turns(("human", "q"), ("gpt", "a"))}, "image_token_count"),
        ({**record(), "conversations": turns(("human", "<image>\n<image>q"), ("gpt", "a"))}, "image_token_count"),
        ({**record(), "conversations": turns(("human", "q"), ("gpt", "<image>a"))}, "image_token_count"),
        ({"id": 1, "conversations": turns(("human", "<image>\nq"), ("gpt", "a"))}, "image_token_count"),
        (
            {**record(), "conversations": turns(("gpt", "hi"), ("human", "<image>\nq"), ("gpt", "a"))},
            "first_turn_not_human",
        ),
    ],
)
def test_code(rec: Any, expected: str | None) -> None:
    assert code(rec) == expected


def test_structure_comes_before_content() -> None:
    # a bad role and an empty value and a missing <image>: the role is reported
    rec = {**record(), "conversations": turns(("user", ""), ("gpt", ""))}
    assert code(rec) == "bad_role"
    # image null beats everything about the turns
    assert code({"image": None, "conversations": 3}) == "image_null"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
roles = st.sampled_from(["human", "gpt", "user", None])
texts = st.sampled_from(["", " ", "q", "<image>\nq", "a<image>", "<image><image>", 7])
recordish = st.fixed_dictionaries(
    {"conversations": st.lists(st.fixed_dictionaries({"from": roles, "value": texts}), max_size=5)},
    optional={"image": st.sampled_from(["a/b.jpg", None, 3]), "id": json_values},
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, recordish))
def test_random_json_never_crashes_and_paths_agree(rec: Any) -> None:
    found = check_record(rec)
    assert found == explain_record(rec)
    assert isinstance(found, (Finding, list))
