"""Accuracy of ``analyze-log`` on the public real-log corpus (tests/fixtures/real_logs).

Runs every excerpt through the same entry point as ``ecs-reboot-diagnosis analyze-log FILE
--format json`` (``ecs_reboot_diagnosis_mcp.analyze_log.run``, format detection included) and
compares what it reports with the excerpt's sidecar (``<name>.json``):

- kind recall: expected kinds found / expected kinds (over all excerpts);
- primary accuracy: ``primary_kind`` == ``expected_primary`` (``null`` means "no finding");
- facts found: expected facts matched / expected facts (``null`` means "not reported");
- crash logs with no crash finding: ``is_crash`` excerpts where nothing but a clean reboot or
  shutdown, an application crash, an OOM kill or a file system error was found;

then lists every miss (file: expected vs got) for the analyzer team. It is a script that prints
figures, not a test: excerpts the analyzer does not get right yet (``"analyzer_ready": false``)
are counted like all others.

Run: ``python benchmarks/accuracy.py`` (``--json`` for the figures as JSON, ``--quiet`` without
the list of misses).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecs_reboot_diagnosis.models import FINDING_KINDS
from ecs_reboot_diagnosis_mcp.analyze_log import run

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "real_logs"
SUFFIXES = (".log", ".txt", ".xml")
# findings that do not mean the machine (or its kernel) crashed or stopped uncleanly
NOT_A_CRASH = frozenset(
    {"clean_reboot", "clean_shutdown", "app_crash", "oom_kill", "cgroup_oom", "fs_error"}
)
TARGETS = {"primary": 0.95, "kind_recall": 0.98, "facts": 0.95, "crash_without_finding": 0}


@dataclass
class Result:
    name: str
    expected_kinds: list[str]
    got_kinds: list[str]
    expected_primary: str | None
    got_primary: str | None
    is_crash: bool
    facts_expected: int = 0
    facts_found: int = 0
    fact_misses: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def kinds_found(self) -> int:
        return len(set(self.expected_kinds) & set(self.got_kinds))

    @property
    def primary_ok(self) -> bool:
        return self.got_primary == self.expected_primary

    @property
    def crash_without_finding(self) -> bool:
        return self.is_crash and not (set(self.got_kinds) - NOT_A_CRASH)


def excerpts(corpus: Path = CORPUS) -> list[Path]:
    """Every excerpt with a sidecar, Linux and Windows."""
    found = [
        p
        for p in sorted(corpus.rglob("*"))
        if p.suffix in SUFFIXES and p.with_suffix(".json").is_file()
    ]
    return found


def _facts_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    facts: dict[str, dict[str, Any]] = {}
    for finding in document.get("findings", []):
        facts.setdefault(finding["kind"], finding.get("facts", {}))
    return facts


def evaluate(path: Path) -> Result:
    meta = json.loads(path.with_suffix(".json").read_text("utf-8"))
    name = str(path.relative_to(CORPUS))
    code, out = run(path, "auto", "json")
    document: dict[str, Any] = json.loads(out) if code == 0 else {}
    result = Result(
        name=name,
        expected_kinds=list(meta["expected_kinds"]),
        got_kinds=list(document.get("kinds", [])),
        expected_primary=meta.get("expected_primary"),
        got_primary=document.get("primary_kind"),
        is_crash=bool(meta.get("is_crash")),
        error=None if code == 0 else out,
    )
    got_facts = _facts_of(document)
    for kind, expected in meta.get("expected_facts", {}).items():
        for key, value in expected.items():
            result.facts_expected += 1
            got = got_facts.get(kind, {}).get(key)
            if got == value or (value is None and got in (None, [])):
                result.facts_found += 1
            else:
                shown = got if kind in got_facts else "(no finding)"
                result.fact_misses.append(f"{kind}.{key}: expected {value!r}, got {shown!r}")
    return result


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def figures(results: list[Result]) -> dict[str, Any]:
    kinds_expected = sum(len(r.expected_kinds) for r in results)
    kinds_found = sum(r.kinds_found for r in results)
    facts_expected = sum(r.facts_expected for r in results)
    facts_found = sum(r.facts_found for r in results)
    crashes = [r for r in results if r.is_crash]
    return {
        "excerpts": len(results),
        "windows_excerpts": sum(1 for r in results if r.name.startswith("windows")),
        "crash_logs": len(crashes),
        "kind_recall": _ratio(kinds_found, kinds_expected),
        "kinds": [kinds_found, kinds_expected],
        "primary": _ratio(sum(r.primary_ok for r in results), len(results)),
        "primary_counts": [sum(r.primary_ok for r in results), len(results)],
        "facts": _ratio(facts_found, facts_expected),
        "facts_counts": [facts_found, facts_expected],
        "crash_without_finding": sum(r.crash_without_finding for r in crashes),
        "unexpected_kinds": sum(len(set(r.got_kinds) - set(r.expected_kinds)) for r in results),
        "errors": sum(r.error is not None for r in results),
    }


def _count(pair: list[int]) -> str:
    return f"{pair[0]}/{pair[1]}"


def _row(label: str, value: str, count: str, target: str, ok: bool | None) -> str:
    mark = "" if ok is None else ("  ok" if ok else "  BELOW TARGET")
    return f"{label:<34}{value:>8}   {count:<10}{target:<7}{mark}".rstrip()


def report(results: list[Result], *, misses: bool = True) -> str:
    f = figures(results)
    by_primary = Counter(r.expected_primary or "(none)" for r in results)
    lines = [
        f"real-log corpus: {f['excerpts']} excerpts ({f['windows_excerpts']} Windows), "
        f"{f['crash_logs']} crash or unclean-shutdown logs",
        "by expected primary kind: "
        + ", ".join(f"{k} {n}" for k, n in sorted(by_primary.items(), key=lambda kv: -kv[1])),
        "",
        f"{'figure':<34}{'value':>8}   {'count':<10}target",
        _row("primary accuracy", f"{f['primary']:.1%}", _count(f["primary_counts"]), ">= 95%",
             f["primary"] >= TARGETS["primary"]),
        _row("kind recall", f"{f['kind_recall']:.1%}", _count(f["kinds"]), ">= 98%",
             f["kind_recall"] >= TARGETS["kind_recall"]),
        _row("facts found", f"{f['facts']:.1%}", _count(f["facts_counts"]), ">= 95%",
             f["facts"] >= TARGETS["facts"]),
        _row("crash logs with no crash finding", str(f["crash_without_finding"]),
             f"of {f['crash_logs']}", "0", f["crash_without_finding"] == 0),
        _row("kinds found but not expected", str(f["unexpected_kinds"]), "", "", None),
        _row("inputs analyze-log refused", str(f["errors"]), "", "", None),
    ]  # fmt: skip
    if misses:
        lines += ["", "misses (file: expected vs got):"]
        for r in results:
            problems: list[str] = []
            if r.error is not None:
                problems.append(f"analyze-log refused the input: {r.error}")
            if sorted(set(r.expected_kinds)) != sorted(set(r.got_kinds)):
                problems.append(f"kinds {sorted(r.expected_kinds)} vs {sorted(r.got_kinds)}")
            if not r.primary_ok:
                problems.append(f"primary {r.expected_primary} vs {r.got_primary}")
            if r.crash_without_finding:
                problems.append("crash log with no crash finding")
            problems += r.fact_misses
            if problems:
                lines.append(f"  {r.name}:")
                lines += [f"    {p}" for p in problems]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--quiet", action="store_true", help="leave out the list of misses")
    args = parser.parse_args(argv)
    unknown = [
        p.name
        for p in excerpts()
        if (json.loads(p.with_suffix(".json").read_text("utf-8")).get("expected_primary"))
        not in (*FINDING_KINDS, None)
    ]
    if unknown:
        print(f"sidecars with an expected_primary outside the vocabulary: {unknown}")
        return 2
    results = [evaluate(p) for p in excerpts()]
    if args.json:
        print(json.dumps(figures(results), indent=2))
    else:
        print(report(results, misses=not args.quiet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
