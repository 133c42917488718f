"""The check that a Chinese text has no untranslated product sentence (the zh-CN rule of
issue 15): what the product writes must be Chinese; only quoted evidence, identifiers, paths and
commands may stay as they are.

- remove what is quoted as it was written: fenced blocks, code spans, URLs, and the names the
  API and the guest give (passed in ``names``);
- then any run of three or more English words left is an untranslated product sentence;
- and every status or event type the API names must carry its Chinese name before it
  (``运行中（Running）``), never stand alone.

Used on reports (tests/e2e/scenarios/test_chinese_reports.py) and on the short texts a zh-CN
diagnosis sends besides: progress and log notifications, tool errors, command-line lines.
"""

from __future__ import annotations

import re

from ecs_reboot_diagnosis.glosses import GLOSSES

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[`~]*$", re.S | re.M)
CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.S)
URL = re.compile(r"<?https?://[^\s>)]+>?")
MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~&])")
WORD = r"[A-Za-z]+(?:['’][A-Za-z]+)*"
# three English words in a row, separated by spaces (and commas): a sentence, not an identifier
# (an identifier joins its parts with '.', '_', '-', '/', ':' or digits, and is one "word")
BOUNDARY_BEFORE = r"(?<![\w./\\:@=-])"
BOUNDARY_AFTER = r"(?![\w/\\:@=]|[.-]\w)"
ONE_WORD = rf"{BOUNDARY_BEFORE}{WORD}{BOUNDARY_AFTER}"
ENGLISH_RUN = re.compile(rf"{ONE_WORD}(?:,?[ \t]+{ONE_WORD}){{2,}}")
STATUS_WORDS = {value for kind in ("instance", "invocation", "cycle") for value in GLOSSES[kind]}


def glossed(word: str, line: str) -> bool:
    """Whether ``word`` (a status) appears in ``line`` with one of its Chinese names before it."""
    return any(f"{table[word]}（{word}）" in line for table in GLOSSES.values() if word in table)


def prose_of(markdown: str, names: list[str]) -> str:
    """The report's own text: the Markdown without what it quotes as written."""
    text = FENCE.sub(" ", markdown)
    text = CODE_SPAN.sub(" ", text)
    text = URL.sub(" ", text)
    text = MARKDOWN_ESCAPE.sub(r"\1", text)
    for name in names:
        text = text.replace(name, " ")
    return text


def untranslated(markdown: str, names: list[str] = ()) -> list[str]:  # type: ignore[assignment]
    """The lines of a Chinese report that hold English the product wrote."""
    problems = []
    for line in prose_of(markdown, list(names)).splitlines():
        runs = [m.group(0) for m in ENGLISH_RUN.finditer(line)]
        words = re.findall(ONE_WORD, line)
        bare = [w for w in words if w in STATUS_WORDS and not glossed(w, line)]
        if runs or bare:
            problems.append(f"{runs + bare}: {line.strip()}")
    return problems


CJK = re.compile(r"[\u4e00-\u9fff]")


SENTENCE_END = re.compile(r"[。；！？\n]| · ")


def doubled_colons(text: str) -> list[str]:
    """The sentences of ``text`` (outside code) with more than one full-width colon: one colon
    a label, a reason after it goes in parentheses (references/glossary-zh.md)."""
    prose = CODE_SPAN.sub(" ", text)
    return [s for s in SENTENCE_END.split(prose) if s.count("：") > 1]


def is_chinese(text: str, names: list[str] = ()) -> bool:  # type: ignore[assignment]
    """Whether ``text`` (a message of a zh-CN diagnosis) is written in Chinese: it has Chinese
    in it, no untranslated product sentence or bare status, and no doubled colon."""
    return bool(CJK.search(text)) and not untranslated(text, names) and not doubled_colons(text)
