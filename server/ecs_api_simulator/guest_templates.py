"""Guest file templates: times relative to the run, in a scenario's guest files and file names.

A Linux scenario's guest (``root/``, ``tools/``, the console text) and a Windows scenario's
recorded collector output may carry tokens ``@@FORMAT:OFFSET@@`` (in file names
``@@FORMAT=OFFSET@@``: a colon is not portable). When a RunShellScript run starts, the simulator
renders them against the guest's "now" (the simulator clock, or the guest's ``DIAG_NOW`` when the
scenario sets it) in the guest's zone (``TZ`` of ``guest.env``, UTC when unset) into a fresh copy
of the guest, used by that run only and removed after it. Plain files are hard-linked into the
copy; templated files and files with ``guest.files`` overrides (mtime, mode, owner) are real
copies. The scan for tokens happens once, when the scenario is loaded; a bad token is a load
error naming the file. references/simulator-scenarios.md documents the formats.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ecs_api_simulator.time_formats import parse_offset, resolve_time

TOKEN = re.compile(rb"@@([A-Za-z_]+)[:=]([^@\s]{0,40})@@")
"""``@@FORMAT:OFFSET@@``, or ``@@FORMAT=OFFSET@@``: the form for file names, which must stay
portable (no colon in a tracked path, an sdist or a Windows checkout)."""
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# POSIX TZ without daylight-saving rules: NAME, then the offset WEST of Greenwich (CST-8 = +08:00)
_POSIX_TZ = re.compile(
    r"^(?P<name>[A-Za-z]{3,}|<[A-Za-z0-9+-]{3,}>)(?P<sign>[+-]?)(?P<h>\d{1,2})(?::(?P<m>\d{2}))?$"
)
FILE_ROOTS = ("root", "tools")


def _syslog(t: datetime) -> str:
    return f"{_MONTHS[t.month - 1]} {t.day:2d} {t:%H:%M:%S}"


def _boot(t: datetime) -> str:
    return f"{_DAYS[t.weekday()]} {t:%Y-%m-%d %H:%M:%S} {t.tzname() or 'UTC'}"


def _last(t: datetime) -> str:
    return f"{_DAYS[t.weekday()]} {_MONTHS[t.month - 1]} {t.day:2d} {t:%H:%M:%S} {t.year}"


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S%z")


def _epoch(t: datetime) -> str:
    return str(int(t.timestamp()))


def _kdump(t: datetime) -> str:
    return t.strftime("%Y-%m-%d-%H:%M:%S")


def _stamp(t: datetime) -> str:
    return t.strftime("%Y%m%d%H%M")


def _utc(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _windate(t: datetime) -> str:
    return f"{t.month}/{t.day}/{t.year}"


def _wintime(t: datetime) -> str:
    return f"{(t.hour % 12) or 12}:{t:%M:%S} {'AM' if t.hour < 12 else 'PM'}"


_FORMATTERS: dict[str, Callable[[datetime], str]] = {
    "utc": _utc,
    "windate": _windate,
    "wintime": _wintime,
    "iso": _iso,
    "syslog": _syslog,
    "boot": _boot,
    "last": _last,
    "epoch": _epoch,
    "kdump": _kdump,
    "stamp": _stamp,
}
FORMATS = (*_FORMATTERS, "uptime", "secs")
"""Every token format: utc, windate, wintime, iso, syslog, boot, last, epoch, kdump, stamp,
uptime, secs."""


def guest_zone(tz: str | None) -> tzinfo:
    """The zone a guest's ``TZ`` names: a POSIX fixed offset (``CST-8``, ``UTC0``) or a zone
    name (``Asia/Shanghai``); UTC when unset. Raises ValueError for anything else."""
    text = (tz or "").strip().lstrip(":")
    if not text or text in ("UTC", "GMT", "Z"):
        return UTC
    match = _POSIX_TZ.match(text)
    if match:
        west = timedelta(hours=int(match.group("h")), minutes=int(match.group("m") or 0))
        name = match.group("name").strip("<>")
        return timezone(west if match.group("sign") == "-" else -west, name)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"TZ {tz!r} is neither a zone name (Asia/Shanghai) nor a POSIX fixed offset "
            "without daylight-saving rules (CST-8, UTC0)"
        ) from None


def token_offset(text: str) -> timedelta:
    """A token's OFFSET: ``now``, ``-2h``, ``-3d4h30m``, ``+1d``, or bare seconds ``-3600``."""
    if re.fullmatch(r"[+-]\d{1,10}", text):
        return timedelta(seconds=int(text))
    return parse_offset(text)


def render_token(fmt: str, offset: str, now: datetime, zone: tzinfo) -> str:
    """One token's text; raises ValueError for an unknown format or a bad offset."""
    delta = token_offset(offset)
    if fmt == "uptime":
        return f"{-delta.total_seconds():.2f}"
    if fmt == "secs":
        return str(int(-delta.total_seconds()))
    formatter = _FORMATTERS.get(fmt)
    if formatter is None:
        raise ValueError(f"unknown token format {fmt!r} (one of {', '.join(FORMATS)})")
    return formatter((now + delta).astimezone(zone))


def check_tokens(data: bytes) -> bool:
    """Whether ``data`` holds tokens; raises ValueError naming the first bad one."""
    if b"@@" not in data:
        return False
    found = False
    for match in TOKEN.finditer(data):
        token = match.group(0).decode("ascii", "replace")
        try:
            render_token(match.group(1).decode("ascii"), match.group(2).decode(), _EPOCH, UTC)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"token {token}: {exc}") from None
        found = True
    return found


def render_bytes(data: bytes, now: datetime, zone: tzinfo) -> bytes:
    if b"@@" not in data:
        return data
    return TOKEN.sub(
        lambda m: render_token(m.group(1).decode(), m.group(2).decode(), now, zone).encode(),
        data,
    )


def render_text(text: str, now: datetime, zone: tzinfo) -> str:
    return render_bytes(text.encode("utf-8"), now, zone).decode("utf-8")


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


# --- a scanned guest ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FileOverride:
    """``guest.files`` entry: what a rendered file or directory gets after it is written."""

    mtime: str | None = None
    mode: int | None = None
    owner: int | None = None
    group: int | None = None


@dataclass(frozen=True)
class Entry:
    source: Path
    parts: tuple[str, ...]
    """The path below the copy's top (``root`` or ``tools``), tokens still in the names."""
    kind: str  # "dir", "file" or "link"
    templated: bool = False
    override: FileOverride | None = None


@dataclass(frozen=True)
class GuestTemplate:
    """What a Linux guest needs rendered per run: its ``root/`` and ``<fixture>/tools/``."""

    root: Path
    fixture: Path
    zone: tzinfo
    entries: Mapping[str, tuple[Entry, ...]] = field(default_factory=dict)
    """``"root"`` and ``"tools"``: every directory, file and symbolic link, parents first."""


def _scan_tree(
    top: Path, scenario_dir: Path, overrides: dict[str, FileOverride], used: set[str]
) -> tuple[tuple[Entry, ...], bool]:
    entries: list[Entry] = []
    templated_any = False
    if not top.is_dir():
        return (), False
    for current, dirs, files in os.walk(top):
        dirs.sort()
        here = Path(current)
        for name in sorted(dirs) + sorted(files):
            path = here / name
            parts = path.relative_to(top).parts
            key = path.relative_to(scenario_dir).as_posix()
            try:
                named = check_tokens(name.encode("utf-8"))
            except ValueError as exc:
                raise ValueError(f"{path}: in the file name: {exc}") from None
            override = overrides.get(key)
            if override is not None:
                used.add(key)
            if path.is_symlink():
                entries.append(Entry(path, parts, "link", override=None))
                templated_any |= named
                continue
            if path.is_dir():
                entries.append(Entry(path, parts, "dir", override=override))
                templated_any |= named or override is not None
                continue
            if not path.is_file():
                continue  # sockets, FIFOs: git cannot hold them, the copy does not either
            try:
                templated = check_tokens(path.read_bytes())
            except ValueError as exc:
                raise ValueError(f"{path}: {exc}") from None
            entries.append(Entry(path, parts, "file", templated, override))
            templated_any |= named or templated or override is not None
    return tuple(entries), templated_any


def scan_guest(
    scenario_dir: Path,
    root: Path,
    fixture: Path,
    env: Mapping[str, str],
    files: Mapping[str, FileOverride],
) -> GuestTemplate | None:
    """Scan a guest once, at load; None when nothing in it needs rendering (it then runs from
    the scenario directory as it is). Raises ValueError naming the file of a bad token."""
    zone_error = ""
    try:
        zone = guest_zone(env.get("TZ"))
    except ValueError as exc:
        zone, zone_error = UTC, str(exc)
    overrides = dict(files)
    used: set[str] = set()
    root_entries, root_templated = _scan_tree(root, scenario_dir, overrides, used)
    tools_entries, tools_templated = _scan_tree(fixture / "tools", scenario_dir, overrides, used)
    unknown = sorted(set(overrides) - used)
    if unknown:
        raise ValueError(
            f"guest.files: {unknown[0]!r} is not a file or directory below the guest's root or "
            "tools directory (paths are relative to the scenario directory, as written there)"
        )
    if not (root_templated or tools_templated):
        return None
    if zone_error:
        raise ValueError(f"guest.env: {zone_error}")
    return GuestTemplate(root, fixture, zone, {"root": root_entries, "tools": tools_entries})


def guest_now(env: Mapping[str, str], clock_now: datetime) -> datetime:
    """The guest's clock: ``DIAG_NOW`` (Unix seconds) when the scenario sets it."""
    value = env.get("DIAG_NOW", "")
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    return clock_now


@dataclass(frozen=True)
class RenderedGuest:
    directory: Path
    root: Path
    fixture: Path

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _place(entry: Entry, dest: Path, now: datetime, zone: tzinfo) -> None:
    if entry.kind == "dir":
        dest.mkdir(exist_ok=True)
    elif entry.kind == "link":
        dest.symlink_to(os.readlink(entry.source))
    elif entry.templated:
        dest.write_bytes(render_bytes(entry.source.read_bytes(), now, zone))
        shutil.copystat(entry.source, dest)
    elif entry.override is not None:
        shutil.copy2(entry.source, dest)
    else:
        try:
            os.link(entry.source, dest)
        except OSError:  # another file system, or protected hard links
            shutil.copy2(entry.source, dest)


def _apply(override: FileOverride, dest: Path, now: datetime) -> None:
    if override.mode is not None:
        dest.chmod(override.mode)
    if (override.owner is not None or override.group is not None) and os.geteuid() == 0:
        os.chown(dest, -1 if override.owner is None else override.owner,
                 -1 if override.group is None else override.group)  # fmt: skip
    if override.mtime is not None:
        when = resolve_time(override.mtime, now).timestamp()
        os.utime(dest, (when, when))


def render_guest(template: GuestTemplate, now: datetime) -> RenderedGuest:
    """A fresh copy of the guest with every token rendered against ``now``; the caller removes
    it (``RenderedGuest.remove``) after the run."""
    directory = Path(tempfile.mkdtemp(prefix="ecs-sim-guest-"))
    try:
        tops = {"root": directory / "root", "tools": directory / "fixture" / "tools"}
        late: list[tuple[FileOverride, Path]] = []
        for top_name, top in tops.items():
            top.mkdir(parents=True)
            for entry in template.entries.get(top_name, ()):
                parts = [render_text(part, now, template.zone) for part in entry.parts]
                dest = top.joinpath(*parts)
                _place(entry, dest, now, template.zone)
                if entry.override is not None:
                    late.append((entry.override, dest))
        for override, dest in reversed(late):  # children first: a directory's mtime last
            _apply(override, dest, now)
        fixture = directory / "fixture"
        real_root = template.root.resolve()
        if template.fixture.is_dir():
            for item in template.fixture.iterdir():
                if item.name == "tools":
                    continue
                target = tops["root"] if item.resolve() == real_root else item
                (fixture / item.name).symlink_to(target)
        return RenderedGuest(directory, tops["root"], fixture)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
