"""The string catalog: complete in both languages, and exactly the keys the renderer uses."""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from ecs_reboot_diagnosis.models import FINDING_KINDS, LANGS
from ecs_reboot_diagnosis.report import view
from ecs_reboot_diagnosis.report.catalog import Catalog, CatalogError, load_catalog
from ecs_reboot_diagnosis.report.markdown import Md

PACKAGE = Path(str(files("ecs_reboot_diagnosis.report")))
TEMPLATE_KEY = re.compile(r"""\bt\(\s*"([^"]+)"\s*[,)]""")
MAPPINGS: list[Mapping[Any, str]] = [
    view.KIND_KEYS,
    view.SEVERITY_KEYS,
    view.CONFIDENCE_KEYS,
    view.DUMP_TYPE_KEYS,
    view.PANIC_ON_OOM_KEYS,
    view.WINDOWS_EVENT_KEYS,
    view.SKIP_SHORT_KEYS,
    view.HISTORY_KIND_KEYS,
]


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def keys_in_python(path: Path) -> set[str]:
    """Keys passed literally to ``t``, ``self.t``, ``self.kv`` or ``catalog.text``."""
    keys: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name not in {"t", "text", "kv"}:
            continue
        arg = node.args[0]
        candidates = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
        keys.update(
            c.value for c in candidates if isinstance(c, ast.Constant) and isinstance(c.value, str)
        )
    return keys


def used_keys() -> set[str]:
    keys: set[str] = set()
    for template in (PACKAGE / "templates").glob("*.md.j2"):
        keys.update(TEMPLATE_KEY.findall(template.read_text(encoding="utf-8")))
    for module in PACKAGE.glob("*.py"):
        keys.update(keys_in_python(module))
    for mapping in MAPPINGS:
        keys.update(mapping.values())
    return keys


def test_every_entry_has_every_language_with_the_same_placeholders() -> None:
    catalog = load_catalog()
    assert len(catalog.keys) > 100
    for key in catalog.keys:
        en, zh = (catalog.raw(key, lang) for lang in LANGS)
        assert en.strip() and zh.strip(), key
        assert fields(en) == fields(zh), key


def test_every_key_the_renderer_uses_exists() -> None:
    missing = used_keys() - load_catalog().keys
    assert not missing


def test_every_catalog_key_is_used() -> None:
    unused = load_catalog().keys - used_keys()
    assert not unused


def test_the_key_scan_finds_the_template_and_python_keys() -> None:
    keys = used_keys()
    assert {"heading.step4a", "punct.colon", "value.yes", "value.no", "reason.no_dump"} <= keys


def test_every_finding_kind_has_a_label() -> None:
    assert {view.KIND_KEYS[k] for k in FINDING_KINDS} <= load_catalog().keys


def test_chinese_text_is_chinese() -> None:
    catalog = load_catalog()
    for key in catalog.keys:
        if key.startswith(("heading.", "block.", "status.")):
            assert re.search(r"[\u4e00-\u9fff]", catalog.raw(key, "zh-CN")), key


def test_text_escapes_plain_values_and_keeps_markdown_values() -> None:
    catalog = Catalog.parse('a = { en = "x {v} y", zh-CN = "甲 {v} 乙" }')
    assert catalog.text("a", "en", v="*b*") == "x \\*b\\* y"
    assert catalog.text("a", "zh-CN", v=Md("*b*")) == "甲 *b* 乙"
    assert catalog.text("a", "en", v=3) == "x 3 y"


def test_text_fails_on_a_missing_key_or_placeholder() -> None:
    catalog = Catalog.parse('a = { en = "x {v}", zh-CN = "甲 {v}" }')
    with pytest.raises(CatalogError, match="'b'"):
        catalog.text("b", "en")
    with pytest.raises(CatalogError, match="needs"):
        catalog.text("a", "en")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('a = { en = "x" }', "exactly the keys"),
        ('a = { en = "x", zh-CN = "" }', "no zh-CN text"),
        ('a = { en = "x {v}", zh-CN = "甲" }', "placeholders differ"),
        ('a = { en = "x", zh-CN = "甲", fr = "x" }', "exactly the keys"),
        ("a = 1", "not a table"),
        ("a = {", "not valid TOML"),
    ],
)
def test_malformed_catalogs_are_rejected(toml: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        Catalog.parse(toml)
