"""verify_mix end to end: reports, the per-image cache, and the clean JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llavamix.foundation.errors import ConfigError, MixFormatError
from llavamix.verify import VerifyOptions, verify_mix, write_clean
from llavamix.verify import images as images_mod
from tests.verify.conftest import image_files, record, write_mix

QUICK = VerifyOptions(jobs=1)
DEEP = VerifyOptions(jobs=1, deep=True)


def mix_of_every_image(tmp_path: Path) -> Path:
    recs = [record(rid=i, image=rel) for i, rel in enumerate(sorted(image_files()))]
    recs += [record(rid="missing", image="no/such.jpg"), record(rid="text", image=None), [1]]
    recs += [record(rid=0, image="ok/photo.jpg")]  # duplicate id of the first record, and a shared image
    return write_mix(tmp_path / "mix.json", recs)


def test_deep_report_names_every_problem_once(data_root: Path, tmp_path: Path) -> None:
    report = verify_mix(mix_of_every_image(tmp_path), data_root, DEEP)
    data = report.to_json()
    assert set(data) == {"records", "images", "ok", "errors", "warnings", "by_source", "problems"}
    assert data["errors"] == {"undecodable": 2, "missing": 1, "empty_file": 1, "bomb": 1, "not_object": 1}
    assert data["warnings"] == {"unusual_mode": 3, "format_mismatch": 1, "tiny_image": 1, "duplicate_id": 1}
    assert data["records"] == len(image_files()) + 4 and data["ok"] == data["records"] - 6
    assert data["images"] == len(image_files()) + 1
    assert data["by_source"]["undecodable"] == {"records": 2, "errors": 2}
    assert data["by_source"]["text-only"] == {"records": 1, "errors": 0}
    problem = next(p for p in data["problems"] if p["code"] == "missing")
    assert problem == {
        "index": len(image_files()),
        "id": "missing",
        "code": "missing",
        "path": "no/such.jpg",
        "detail": problem["detail"],
    }
    json.dumps(data)


def test_quick_check_sees_only_existence(data_root: Path, tmp_path: Path) -> None:
    report = verify_mix(mix_of_every_image(tmp_path), data_root, QUICK)
    assert report.errors == {"missing": 1, "empty_file": 1, "not_object": 1}


def test_parallel_matches_inline(data_root: Path, tmp_path: Path) -> None:
    mix = mix_of_every_image(tmp_path)
    one = verify_mix(mix, data_root, VerifyOptions(jobs=1, deep=True, cache=False)).to_json()
    two = verify_mix(mix, data_root, VerifyOptions(jobs=2, deep=True, cache=False)).to_json()
    assert one == two


def test_rerun_decodes_only_changed_files(data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mix = mix_of_every_image(tmp_path)
    decoded: list[str] = []
    real = images_mod.inspect_image
    monkeypatch.setattr(images_mod, "inspect_image", lambda p, limits: decoded.append(p) or real(p, limits))
    first = verify_mix(mix, data_root, DEEP)
    n_first = len(decoded)
    assert n_first == len(image_files()) - 1  # the empty file is settled by stat alone
    decoded.clear()
    (data_root / "undecodable/truncated.jpg").write_bytes((data_root / "ok/photo.jpg").read_bytes())
    second = verify_mix(mix, data_root, DEEP)
    assert decoded == [str(data_root / "undecodable/truncated.jpg")]
    assert second.errors["undecodable"] == first.errors["undecodable"] - 1


def test_malformed_json_names_the_byte(tmp_path: Path, data_root: Path) -> None:
    (tmp_path / "bad.json").write_text('[{"id": 1, "conversations": [}]')
    with pytest.raises(MixFormatError, match="byte 29"):
        verify_mix(tmp_path / "bad.json", data_root, QUICK)
    with pytest.raises(ConfigError, match="not found"):
        verify_mix(tmp_path / "none.json", data_root, QUICK)


def test_clean_keeps_error_free_records_bytes_for_value(data_root: Path, tmp_path: Path) -> None:
    mix = mix_of_every_image(tmp_path)
    report = verify_mix(mix, data_root, DEEP)
    kept = write_clean(mix, report, tmp_path / "clean.json")
    original = json.loads(mix.read_text())
    bad = report.error_indices()
    assert json.loads((tmp_path / "clean.json").read_text()) == [r for i, r in enumerate(original) if i not in bad]
    assert kept == report.ok
    again = verify_mix(tmp_path / "clean.json", data_root, DEEP)
    assert again.errors == {} and again.ok == again.records == kept


def test_clean_refuses_to_overwrite_the_mix(data_root: Path, tmp_path: Path) -> None:
    mix = mix_of_every_image(tmp_path)
    with pytest.raises(ConfigError, match="is the mix itself; write the clean JSON to another file"):
        write_clean(mix, verify_mix(mix, data_root, QUICK), mix)


images = st.sampled_from([*sorted(image_files()), "no/such.jpg", None])
values = st.sampled_from(["<image>\nq", "q", "", "a", "<image>", 5])
random_record = st.one_of(
    st.builds(
        lambda i, img, n: record(rid=i, image=img, n_rounds=n),
        st.integers(0, 5) | st.text(max_size=3),
        images,
        st.integers(1, 3),
    ),
    st.fixed_dictionaries(
        {
            "conversations": st.lists(
                st.fixed_dictionaries({"from": st.sampled_from(["human", "gpt", "bot"]), "value": values}), max_size=4
            )
        },
        optional={"image": images | st.just(7)},
    ),
    st.integers() | st.text(max_size=4) | st.none(),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(random_record, max_size=12))
def test_clean_is_the_error_free_subsequence_and_verifies_clean(
    records: list[Any], data_root: Path, tmp_path: Path
) -> None:
    mix = write_mix(tmp_path / "prop.json", records)
    report = verify_mix(mix, data_root, QUICK)
    write_clean(mix, report, tmp_path / "prop-clean.json")
    clean = json.loads((tmp_path / "prop-clean.json").read_text())
    bad = report.error_indices()
    assert clean == [r for i, r in enumerate(records) if i not in bad]
    again = verify_mix(tmp_path / "prop-clean.json", data_root, QUICK)
    assert again.errors == {} and again.records == len(clean)
