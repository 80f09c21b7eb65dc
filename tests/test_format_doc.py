"""docs/数据格式.md is generated from the kinds mapping (docs/make_format_doc.py):
the committed file is what the script writes, so it never drifts from the code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location(
        "make_format_doc", ROOT / "docs/make_format_doc.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_format_doc_is_the_generated_one() -> None:
    doc = _script()
    assert (ROOT / "docs" / "数据格式.md").read_text(encoding="utf-8") == doc.render(), (
        "docs/数据格式.md is out of date: run python docs/make_format_doc.py"
    )


def test_the_doc_lists_every_kind_field_and_header() -> None:
    from analytics.sources import load_sources

    text = (ROOT / "docs" / "数据格式.md").read_text(encoding="utf-8")
    for kind in load_sources().kinds.values():
        assert f"### {kind.label}（`{kind.name}`）" in text
        for field in kind.fields:
            assert f"`{field.name}`" in text
            assert all(h in text for h in field.headers)


def test_the_doc_gives_every_reason_code_in_chinese() -> None:
    from analytics.sources import load_sources

    text = (ROOT / "docs" / "数据格式.md").read_text(encoding="utf-8")
    for code, label in load_sources().labels["reason"].items():
        assert f"| `{code}` | {label} |" in text
