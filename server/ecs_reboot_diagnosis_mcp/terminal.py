"""A Markdown report shown on a terminal: rendered by ``rich`` (headings, lists, code, links),
so that the person reads ``C:\\Windows`` and ``document_detail``, not the Markdown escapes.

Anything else (a pipe, a file, ``--format json``) gets the plain Markdown, unchanged.
"""

from __future__ import annotations

from typing import TextIO

MAX_WIDTH = 110
"""Reports read badly wider than this, however wide the terminal."""


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def show_markdown(text: str, stream: TextIO, *, force_terminal: bool | None = None) -> None:
    """Render ``text`` (Markdown without control characters) for the terminal ``stream``."""
    from rich.console import Console
    from rich.markdown import Markdown

    console = Console(file=stream, force_terminal=force_terminal, soft_wrap=False)
    width = min(console.width, MAX_WIDTH)
    console.width = width
    console.print(Markdown(text, code_theme="ansi_dark", hyperlinks=True))
