"""Every route of the browser over real HTTP: the list (paging, each filter), record pages, images, the summary,
and the requests it refuses."""

from __future__ import annotations

import json
import re

import pytest

from tests.browse.conftest import FILLER, Served, Site

RECORDS = 9 + FILLER


def listed(page: str) -> list[int]:
    """The mix indices of the records a list page shows, in order."""
    return [int(i) for i in re.findall(r"<tr class='record' data-index='(\d+)'>", page)]


def test_list_pages_through_every_record(served: Served) -> None:
    first, second = served.page("/?per=20"), served.page("/?per=20&page=2")
    assert listed(first) == list(range(20))
    assert listed(second) == list(range(40, RECORDS))
    assert f"{RECORDS} records match" in first and "id='next'" in first
    assert "id='next'" not in second and "page=1" in second  # the last page links back only


def test_huge_page_and_bad_numbers_are_refused(served: Served) -> None:
    status, _, body = served.get("/?per=100000")
    assert status == 400 and b"1 to 500 records" in body
    status, _, body = served.get("/?page=-1")
    assert status == 400 and b"whole number" in body
    status, _, body = served.get("/?colour=red")
    assert status == 400 and b"unknown list parameter" in body


def test_filter_by_image_prefix_and_source(served: Served) -> None:
    assert listed(served.page("/?prefix=gqa/")) == [1]
    assert listed(served.page("/?source=gqa")) == [1]
    assert listed(served.page("/?source=text-only")) == [2]
    coco = listed(served.page("/?source=coco&per=500"))
    assert coco[:3] == [0, 3, 4] and len(coco) == 3 + 2 + FILLER  # the two links under coco/ count too
    status, _, body = served.get("/?source=nowhere")
    assert status == 400 and b"unknown source" in body


def test_filter_by_problem_code_from_the_report(served: Served, site: Site) -> None:
    report = json.loads(site.report.read_text())
    expected = sorted({p["index"] for p in report["problems"] if p["code"] == "missing"})
    assert expected and listed(served.page("/?problem=missing")) == expected
    assert listed(served.page("/?problem=bad_role")) == [4]
    assert listed(served.page("/?problem=outside_root")) == [5, 6]
    status, _, body = served.get("/?problem=tiny_image")
    assert status == 400 and b"no record of the report has the problem" in body


def test_filter_by_text_in_the_conversation(served: Served) -> None:
    assert listed(served.page("/?text=story")) == [2]  # case-insensitive
    assert listed(served.page("/?text=second+a")) == [1]  # a later turn counts
    assert listed(served.page("/?text=zebra&source=gqa")) == []  # combined with the column filters
    assert listed(served.page("/?text=bold")) == []  # the id is not conversation text


def test_text_search_streams_page_by_page(served: Served) -> None:
    first = served.page("/?text=plain&per=15")
    assert listed(first) == list(range(9, 24))
    start = re.search(r"id='next' href='[^']*start=(\d+)", first)
    assert start and start.group(1) == "24"
    assert listed(served.page(f"/?text=plain&per=15&start={start.group(1)}"))[0] == 24


def test_filter_by_id(served: Served) -> None:
    assert listed(served.page("/?id=2327515")) == [1]
    assert listed(served.page("/?id=f3")) == [12]
    assert listed(served.page("/?id=%3Cb%3Ebold%3C%2Fb%3E")) == [0]


def test_record_page_escapes_the_record(served: Served) -> None:
    page = served.page("/record/0")
    assert "<script>alert(1)</script>" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    listing = served.page("/?id=%3Cb%3Ebold%3C%2Fb%3E")
    assert "<b>bold</b>" not in listing and "&lt;b&gt;bold&lt;/b&gt;" in listing


def test_record_page_shows_the_conversation_in_order(served: Served) -> None:
    page = served.page("/record/1")
    positions = [page.index(text) for text in ("first Q", "first A", "second Q", "second A")]
    assert positions == sorted(positions)
    assert "<li class='turn human' data-turn='0'><span class='role'>human</span>" in page
    prompt = re.search(r"<pre id='prompt'>(.*?)</pre>", page, re.S)
    assert prompt and "USER: <mark class='image-token'>&lt;image&gt;</mark>\nfirst Q ASSISTANT: first A" in prompt[1]
    other = served.page("/record/1?template=llava_llama_3")
    assert "&lt;|start_header_id|&gt;user" in other
    status, _, body = served.get("/record/1?template=chatgpt")
    assert status == 400 and b"unknown template" in body


def test_record_page_lists_its_problems_and_neighbours(served: Served) -> None:
    page = served.page("/record/4")
    assert "<ul id='problems'>" in page and "<b>bad_role</b>" in page
    assert "href='/record/3'" in page and "href='/record/5'" in page
    assert "id='prev'" not in served.page("/record/0")
    assert "id='next'" not in served.page(f"/record/{RECORDS - 1}")
    assert "prompt-problem" in page  # training cannot render a 'system' turn: the page says so


def test_image_is_served_with_its_type(served: Served, site: Site) -> None:
    status, kind, body = served.get("/image/0")
    assert (status, kind) == (200, "image/jpeg")
    assert body == (site.root / "coco/train2017/000000000001.jpg").read_bytes()
    assert "src='/image/0'" in served.page("/record/0")


def test_anyres_grid_on_request(served: Served) -> None:
    assert "id='tokens'" not in served.page("/record/1")
    page = served.page("/record/1?grid=1")  # a 32x48 portrait image: the 336x672 grid, two tiles down
    assert "grid 336×672 px (1×2 tiles of 336 px)" in page
    tokens = re.search(r"<b id='tokens'>([\d,]+)</b>", page)
    assert tokens and int(tokens[1].replace(",", "")) > 576
    assert "no anyres grid" in served.page("/record/3?grid=1")  # its image is missing: said, not a crash


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/record/abc", 400, b"give the record&#x27;s position"),
        ("/record/-1", 400, b"give the record&#x27;s position"),
        (f"/record/{RECORDS}", 404, b"no record"),
        ("/image/99999999", 404, b"no record"),
        ("/image/2", 404, b"no image path"),
        ("/image/3", 404, b"missing"),
        ("/etc/passwd", 404, b"no page"),
    ],
)
def test_bad_requests_are_refused_with_a_message(served: Served, path: str, status: int, message: bytes) -> None:
    got, kind, body = served.get(path)
    assert got == status and kind.startswith("text/html") and message in body


def test_other_host_names_are_refused(served: Served) -> None:
    status, _, body = served.get("/", headers={"Host": "attacker.example:80"})
    assert status == 403 and b"refused" in body


def test_summary_shows_the_stats_plots_and_problem_codes(served: Served) -> None:
    page = served.page("/summary")
    assert "<h2>Composition</h2>" in page and page.count("<img class='plot'") >= 3
    assert "href='/?problem=missing'" in page
