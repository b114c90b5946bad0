"""The README stays a front page, and every page it leads to exists: README.md under 12 KB, each
docs/ page linked from it (directly or through another page), every relative link resolving."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def relative_links(page: Path) -> list[str]:
    """Markdown link targets outside code (fenced blocks and inline code), web links left out."""
    links, fenced = [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            text = re.sub(r"`[^`]*`", "", line)
            links += [t for t in LINK.findall(text) if not re.match(r"[a-zA-Z][a-zA-Z+.-]*:|#", t)]
    return links


def test_the_readme_is_a_front_page():
    assert (ROOT / "README.md").stat().st_size < 12_000


def test_every_relative_link_resolves():
    broken = [f"{page.relative_to(ROOT)}: {target}" for page in PAGES for target in relative_links(page)
              if not (page.parent / target.split("#")[0]).exists()]  # fmt: skip
    assert broken == []


def test_every_docs_page_is_reachable_from_the_readme():
    seen, todo = set(), [ROOT / "README.md"]
    while todo:
        page = todo.pop()
        if page in seen or page.suffix != ".md":
            continue
        seen.add(page)
        todo += [
            (page.parent / t.split("#")[0]).resolve()
            for t in relative_links(page)
            if t.split("#")[0].endswith(".md")
        ]
    unreachable = [p.name for p in PAGES if p.resolve() not in seen]
    assert unreachable == []


def test_the_link_reader_skips_code_and_web_links(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("[a](a.md) `[b](b.md)` [c](https://x)\n```\n[d](d.md)\n```\n[e](e.md#part)\n")
    assert relative_links(page) == ["a.md", "e.md#part"]
