"""The string catalog: every fixed sentence and label of the report, in every report language.

``strings.toml`` holds one table per group; each leaf is ``key = { en = "...", zh-CN = "..." }``.
A leaf is addressed by its dotted path (``heading.step1``). Catalog text is trusted Markdown; the
values put into its ``{placeholders}`` are escaped unless they are already :class:`Md`.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib.resources import files

from ecs_reboot_diagnosis.models import LANGS, Lang
from ecs_reboot_diagnosis.report.markdown import Md, inline

CATALOG_FILE = "strings.toml"


class CatalogError(ValueError):
    """The string catalog is malformed or a key is missing: a bug in the report package."""


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _flatten(table: Mapping[str, object], prefix: str = "") -> dict[str, dict[Lang, str]]:
    out: dict[str, dict[Lang, str]] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if not isinstance(value, Mapping):
            raise CatalogError(f"catalog entry {key!r} is not a table")
        if "en" not in value:
            out.update(_flatten(value, key + "."))
            continue
        if set(value) != set(LANGS):
            raise CatalogError(f"catalog entry {key!r} must have exactly the keys {LANGS}")
        texts: dict[Lang, str] = {}
        for lang in LANGS:
            text = value[lang]
            if not isinstance(text, str) or not text.strip():
                raise CatalogError(f"catalog entry {key!r} has no {lang} text")
            texts[lang] = text
        if _fields(texts["en"]) != _fields(texts["zh-CN"]):
            raise CatalogError(f"catalog entry {key!r}: placeholders differ between languages")
        out[key] = texts
    return out


class Catalog:
    def __init__(self, entries: Mapping[str, Mapping[Lang, str]]) -> None:
        self._entries = {key: dict(texts) for key, texts in entries.items()}

    @classmethod
    def parse(cls, toml_text: str) -> Catalog:
        try:
            data = tomllib.loads(toml_text)
        except tomllib.TOMLDecodeError as exc:
            raise CatalogError(f"string catalog is not valid TOML: {exc}") from exc
        return cls(_flatten(data))

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self._entries)

    def raw(self, key: str, lang: Lang) -> str:
        try:
            return self._entries[key][lang]
        except KeyError:
            raise CatalogError(f"string catalog has no entry {key!r} for {lang}") from None

    def text(self, key: str, lang: Lang, **params: str | int) -> Md:
        """The catalog sentence ``key`` in ``lang`` with its placeholders filled (and escaped)."""
        template = self.raw(key, lang)
        safe = {
            name: value if isinstance(value, Md) else inline(str(value))
            for name, value in params.items()
        }
        missing = _fields(template) - set(safe)
        if missing:
            raise CatalogError(f"catalog entry {key!r} needs {sorted(missing)}")
        return Md(template.format_map(safe))


@cache
def load_catalog() -> Catalog:
    """The catalog shipped with the package (read once)."""
    text = files("ecs_reboot_diagnosis.report").joinpath(CATALOG_FILE).read_text(encoding="utf-8")
    return Catalog.parse(text)
