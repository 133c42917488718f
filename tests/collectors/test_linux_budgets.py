"""linux.sh under budget pressure: groups bigger than their budget are clipped, never dropped whole.

The selection keeps, per incident, the lines that say what happened (the OOM victim, the BUG or
panic line) and drops the bulk first (deep call-trace frames, ``Modules linked in``, further OOM
victims, then RIP/Comm/invoker lines). A section that had hits always keeps data.
"""

from __future__ import annotations

import functools
import itertools
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.analysis.envelope import Envelope, parse_envelope
from ecs_reboot_diagnosis.analysis.guest import parse_guest_output
from ecs_reboot_diagnosis.collectors import load_collector
from ecs_reboot_diagnosis.models import Finding, GuestEvidence
from tests.collectors import linux_harness
from tests.collectors.linux_harness import LINUX_CASES, LinuxRun, run_linux_case
from tests.collectors.oom_reports import (
    GLOBAL_VICTIM,
    GROUP_VICTIM,
    oom_huge_dmesg,
    oom_storm_syslog,
)

MAX_ENVELOPE = 20_000
OOM_BUDGET = 1300
Run = Callable[..., LinuxRun]
VICTIM = re.compile(r"Kill(?:ed)? process (\d+) \(([^)]*)\)")
INVOKED = re.compile(r"(\S+) invoked oom-killer")
# what an OOM report holds besides its signature lines: memory and zone dumps, the task list
BULK = re.compile(r"Mem-Info|Node 0 |lowmem_reserve|pages RAM|Tasks state|\[ *\d+\] +\d+ +\d+ ")


def _envelope(run: LinuxRun) -> Envelope:
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert len(run.output.encode()) < MAX_ENVELOPE
    envelope = parse_envelope(run.output, run.nonce)
    assert envelope.complete
    return envelope


def _data(envelope: Envelope, name: str) -> list[str]:
    return [line for line in envelope.lines(name) if re.match(r"\d+:", line)]


def _size(envelope: Envelope, name: str) -> int:
    return sum(len(line) + 1 for line in envelope.lines(name))


def _invokers(lines: list[str] | tuple[str, ...]) -> list[str]:
    return [m.group(1) for line in lines if (m := INVOKED.search(line))]


def _victim_pids(lines: list[str] | tuple[str, ...]) -> list[str]:
    return [m.group(1) for line in lines if (m := VICTIM.search(line))]


def _matches(envelope: Envelope, name: str) -> dict[str, int]:
    """The ``#matches`` counts of a log section (awks order them differently)."""
    line = next(x for x in envelope.lines(name) if x.startswith("#matches "))
    return {k: int(v) for k, v in (item.split("=") for item in line.split()[1:])}


def _finding(guest: GuestEvidence, kind: str) -> Finding:
    found = [f for f in guest.findings if f.kind == kind]
    assert len(found) == 1, f"{kind}: {[f.kind for f in guest.findings]}"
    return found[0]


def _incidents(lines: list[str]) -> list[list[str]]:
    """The OOM section's lines cut at each ``#source=`` and ``invoked oom-killer`` line."""
    out: list[list[str]] = []
    for line in lines:
        if line.startswith("#source=") or INVOKED.search(line) or not out:
            out.append([])
        if not line.startswith("#"):
            out[-1].append(line)
    return [i for i in out if i]


def _dmesg(text: str) -> Callable[[Path], None]:
    def write(root: Path) -> None:
        (root.parent / "tools" / "dmesg.txt").write_text(text)

    return write


# --- end to end: the collector against fixture trees ------------------------------------------


def test_two_oom_kills_close_together_are_both_kept(linux_case: Run) -> None:
    """Scenario s05: two OOM kills 8 lines apart in the ring buffer used to empty the section."""
    run = linux_case("oom_two_incidents_dmesg")
    envelope = _envelope(run)
    oom = envelope.section("oom")
    assert oom is not None and oom.status == "ok"
    victims = {m.groups() for line in oom.lines if (m := VICTIM.search(line))}
    assert victims == {("4321", "mysqld"), ("7788", "python3")}
    assert _invokers(oom.lines) == ["mysqld", "python3"]
    assert "#source=dmesg" in oom.lines
    assert not oom.truncated  # both incidents fit the section's budget
    guest = parse_guest_output("linux", run.output, run.nonce)
    kill = _finding(guest, "oom_kill")
    assert (kill.facts.oom_victim_process, kill.facts.oom_victim_pid) == ("mysqld", 4321)
    cgroup = _finding(guest, "cgroup_oom")
    assert (cgroup.facts.oom_victim_process, cgroup.facts.oom_victim_pid) == ("python3", 7788)


@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_huge_oom_reports_keep_their_victims(linux_case: Run, shell: str) -> None:
    """2000-process task lists, and a memory.oom.group kill printing 2000 victim lines."""
    run = linux_case("oom_huge_report", shell=shell, prepare=_dmesg(oom_huge_dmesg(2000)))
    envelope = _envelope(run)
    oom = envelope.section("oom")
    assert oom is not None and oom.status == "ok"
    assert oom.truncated
    assert _size(envelope, "oom") <= OOM_BUDGET
    data = _data(envelope, "oom")
    assert not [line for line in data if BULK.search(line)]
    java, java_pid = GLOBAL_VICTIM
    gunicorn, gunicorn_pid = GROUP_VICTIM
    assert any(f"Out of memory: Killed process {java_pid} ({java})" in x for x in data)
    assert any(
        f"Memory cgroup out of memory: Killed process {gunicorn_pid} ({gunicorn})" in x
        for x in data
    )
    # each incident keeps its invoker too; the other 1999 gunicorn kills are what was cut
    assert _invokers(data) == [java, gunicorn]
    assert any("oom-kill:constraint=CONSTRAINT_NONE" in x for x in data)
    assert _matches(envelope, "dmesg") == {"oom": 2005, "ctx": 4}
    guest = parse_guest_output("linux", run.output, run.nonce)
    kill = _finding(guest, "oom_kill")
    assert (kill.facts.oom_victim_process, kill.facts.oom_victim_pid) == (java, java_pid)
    assert _finding(guest, "cgroup_oom").facts.oom_victim_process == gunicorn


def test_oom_incidents_of_every_source_share_the_oom_budget(linux_case: Run) -> None:
    """Syslog and dmesg OOM lines share one budget: the newest kept, each one with its victim."""

    def storm(root: Path) -> None:
        (root / "var/log/messages").write_text(oom_storm_syslog(9, 40))

    run = linux_case("oom_two_incidents_dmesg", prepare=storm)
    envelope = _envelope(run)
    oom = envelope.section("oom")
    assert oom is not None and oom.truncated
    assert _size(envelope, "oom") <= OOM_BUDGET
    for incident in _incidents(list(oom.lines)):  # an invoker is never kept without its victim
        assert any(VICTIM.search(line) for line in incident), incident
    assert not [line for line in oom.lines if BULK.search(line)]
    # the ring buffer's two kills (the newest) are there, then the newest of the syslog storm
    sources = [line for line in oom.lines if line.startswith("#source=")]
    assert sources == ["#source=/var/log/messages", "#source=dmesg"]
    victims = _victim_pids(oom.lines)
    assert victims[-4:] == ["4321", "4321", "7788", "7788"]
    assert {"30007", "30008"} <= set(victims)  # older kills went whole, newest first kept
    assert _matches(envelope, "syslog") == {"oom": 27, "ctx": 18}
    guest = parse_guest_output("linux", run.output, run.nonce)
    assert _finding(guest, "cgroup_oom").facts.oom_victim_pid == 7788
    assert _finding(guest, "oom_kill").facts.oom_victim_process in {"app", "mysqld"}


def test_oversized_lockup_report_is_clipped_not_dropped(linux_case: Run) -> None:
    """A soft lockup report bigger than the pstore budget; hung tasks next to it in vmcore-dmesg."""
    run = linux_case("lockup_panic_oversized")
    envelope = _envelope(run)
    pstore, crash = envelope.section("pstore"), envelope.section("crash_dmesg")
    assert pstore is not None and crash is not None
    assert pstore.truncated and crash.truncated
    assert _size(envelope, "pstore") <= 800 and _size(envelope, "crash_dmesg") <= 2900
    ps = "\n".join(_data(envelope, "pstore"))
    assert "BUG: soft lockup - CPU#2 stuck for 22s! [java:31337]" in ps
    assert "Kernel panic - not syncing: softlockup: hung tasks" in ps
    assert "INFO: task java:31340 blocked for more than 120 seconds." in ps
    assert len([x for x in envelope.lines("pstore") if x.startswith("#file=")]) < 8
    cd = _data(envelope, "crash_dmesg")
    heads = [x for x in cd if "blocked for more than" in x or "soft lockup" in x]
    assert len(heads) == 3  # the two hung tasks and the lockup: none dropped whole
    for name in ("native_queued_spin_lock_slowpath", "Modules linked in:", "Kernel panic"):
        assert any(name in x for x in cd), name
    # the bulk went first: the panic's own trace, then the oldest trace's deeper frames; every
    # trace kept its first three frames
    assert not any("panic+0x10a/0x2e3" in x or "watchdog_timer_fn" in x for x in cd)
    traces = [i for i, x in enumerate(cd) if "Call Trace:" in x]
    assert len(traces) == 3
    for i in traces:
        assert all(re.search(r"\+0x[0-9a-f]+/0x", x) for x in cd[i + 1 : i + 4]), cd[i : i + 4]
    assert sum("ext4_sync_file" in x for x in cd) == 1  # only in the newer hung task
    guest = parse_guest_output("linux", run.output, run.nonce)
    soft = _finding(guest, "soft_lockup")
    assert (soft.facts.process, soft.facts.pid) == ("java", 31337)
    assert soft.facts.rip_function == "native_queued_spin_lock_slowpath"
    assert _finding(guest, "kernel_panic").facts.panic_reason == "softlockup: hung tasks"
    assert _finding(guest, "hung_task").facts.process == "java"


def test_every_log_section_keeps_data_when_all_are_full(linux_case: Run) -> None:
    """Worst case: every log source full at once stays under 20 KB, and no log section is empty."""

    def fill(root: Path) -> None:
        tools = root.parent / "tools"
        lockups = _lockups_syslog().replace("Mar 20 09:15:30 iZbp1 kernel: ", "[ 8929.104000] ")
        (tools / "dmesg.txt").write_text(lockups + oom_huge_dmesg(2000))
        (tools / "last.txt").write_text(
            "".join(
                f"reboot   system boot  5.10.134-16.al8. Thu Mar {20 - k:02d} 09:17:05 2025 - "
                f"Thu Mar {21 - k:02d} 09:17:05 2025 (1+00:00)\n"
                for k in range(20)
            )
        )
        for k in range(25):  # more dump files than the section lists
            dump = root / f"var/crash/127.0.0.1-2025-02-{k + 1:02d}-04-11-09-with-a-long-name"
            dump.mkdir()
            (dump / "vmcore").write_text("x")
        (root / "var/log/messages").write_text(oom_storm_syslog(9, 40) + _lockups_syslog())
        journal = tools / "journalctl"
        journal.mkdir()
        (journal / "list-boots.txt").write_text(
            "IDX BOOT ID                          FIRST ENTRY                 LAST ENTRY\n"
            + "".join(
                f" {k - 8} {k:032x} Thu 2025-03-20 0{k}:00:00 UTC Thu 2025-03-20 0{k}:59:00 UTC\n"
                for k in range(9)
            )
        )
        (journal / "tail-prev.txt").write_text(
            "".join(f"2025-03-20T09:15:{k:02d}+0000 host kernel: {'x' * 200}\n" for k in range(40))
        )
        (journal / "kernel-prev.txt").write_text(
            "\n".join(
                f"2025-03-20T09:15:30+0000 host kernel: {line.split('] ', 1)[1]}"
                for line in oom_huge_dmesg(300).splitlines()
            )
            + "\n"
            + _lockups_syslog().replace("Mar 20 09:15:30 iZbp1", "2025-03-20T09:15:30+0000 host")
        )
        (root / "var/log/journal").mkdir()
        (root / "etc/hostname").write_text("h" * 3000 + "\n")  # the boot section is clipped too

    run = linux_case("lockup_panic_oversized", prepare=fill)
    envelope = _envelope(run)
    assert _size(envelope, "boot") <= 400 and _size(envelope, "crash_files") <= 1400
    crash = envelope.section("crash_files")
    assert crash is not None and crash.truncated
    for name in ("journal_kernel", "syslog", "dmesg", "oom", "crash_dmesg", "pstore"):
        section = envelope.section(name)
        assert section is not None and section.status == "ok", name
        assert _data(envelope, name), f"{name} is empty"
    oom = envelope.section("oom")
    assert oom is not None and oom.truncated
    guest = parse_guest_output("linux", run.output, run.nonce)
    assert {"soft_lockup", "kernel_panic", "oom_kill", "cgroup_oom"} <= {
        f.kind for f in [*guest.findings, *(f for e in guest.episodes for f in e.findings)]
    }


def _lockups_syslog() -> str:
    """Three soft lockups with full reports, 80 lines apart, then the panic."""
    vmcore = LINUX_CASES / "lockup_panic_oversized/root/var/crash"
    text = next(vmcore.rglob("vmcore-dmesg.txt")).read_text().splitlines()
    start = next(i for i, line in enumerate(text) if "soft lockup" in line)
    report = [line.split("] ", 1)[1] for line in text[start:]]
    lines: list[str] = []
    for cpu in (1, 5, 2):
        lines += [line.replace("CPU#2", f"CPU#{cpu}") for line in report[:22]]
        lines += [f"virtio_net virtio0 eth0: queue {k} ok" for k in range(80)]
    lines += report[22:]
    return "".join(f"Mar 20 09:15:30 iZbp1 kernel: {line}\n" for line in lines)


def _normalised(run: LinuxRun) -> str:
    """The envelope without what differs between userlands: tool list, free space, hash order."""
    out = re.sub(r"tools=\S*|dump_path_free_kb=\d+", "", run.output)
    return re.sub(r"#matches .*", lambda m: " ".join(sorted(m.group(0).split())), out)


@pytest.mark.skipif(shutil.which("busybox") is None, reason="busybox is not installed")
@pytest.mark.parametrize(
    "case", ["oom_killer_only", "oom_two_incidents_dmesg", "lockup_panic_oversized"]
)
def test_busybox_sh_and_awk_give_the_same_envelope(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """busybox awk reads numbers with a leading zero as octal: the log window must not care."""
    busybox = shutil.which("busybox")
    wrappers = tmp_path / "busybox"
    wrappers.mkdir()
    for tool in ("sh", "awk"):  # the run's PATH has only the case's tools
        (wrappers / tool).write_text(f'#!/bin/sh\nexec {busybox} {tool} "$@"\n')
        (wrappers / tool).chmod(0o755)
    reference = run_linux_case(case, tmp_path / "ref", nonce="c" * 32)
    real = linux_harness._tool_dir

    def busybox_awk(dest: Path, tools: list[str], case_dir: Path) -> Path:
        bin_dir = real(dest, tools, case_dir)
        (bin_dir / "awk").unlink()
        (bin_dir / "awk").symlink_to(wrappers / "awk")
        return bin_dir

    monkeypatch.setattr(linux_harness, "_tool_dir", busybox_awk)
    run = run_linux_case(case, tmp_path / "bb", shell=str(wrappers / "sh"), nonce="c" * 32)
    assert run.returncode == 0 and run.stderr == ""
    assert _normalised(run) == _normalised(reference)


# --- the selection program alone, over budgets from nothing to plenty --------------------------

SCRIPT = load_collector("linux").content
SEL = re.search(r"^SEL='(.*?)'\n", SCRIPT, re.S | re.M)
PATTERNS = re.search(r"<<'ECS_DIAG_PAT'\n(.*?)\nECS_DIAG_PAT\n", SCRIPT, re.S)
BUDGETS = (0, 150, 300, 500, 800, 1300, 2900, 100_000)
AWKS = {
    "awk": ["awk"],
    "gawk": ["gawk"],
    "mawk": ["mawk"],
    "busybox": ["busybox", "awk"],
}


INPUTS = ("huge_oom", "lockups", "oom_storm", "two_incidents")


@functools.cache
def _input(name: str) -> str:
    if name == "two_incidents":
        return (LINUX_CASES / "oom_two_incidents_dmesg/tools/dmesg.txt").read_text()
    if name == "huge_oom":
        return oom_huge_dmesg(2000)
    if name == "oom_storm":
        return oom_storm_syslog(9, 40)
    vmcore = LINUX_CASES / "lockup_panic_oversized/root/var/crash"
    return next(vmcore.rglob("vmcore-dmesg.txt")).read_text() + _lockups_syslog()


def _select(awk: list[str], text: str, budget: int, tmp: Path) -> tuple[list[str], bool]:
    assert SEL is not None and PATTERNS is not None
    (tmp / "pat").write_text(PATTERNS.group(1) + "\n")
    grep = subprocess.run(
        ["grep", "-a", "-n", "-F", "-A", "6", "-f", str(tmp / "pat")],
        input=text.encode(),
        capture_output=True,
        check=True,
    )
    flag = tmp / "tr"
    flag.unlink(missing_ok=True)
    proc = subprocess.run(
        [
            *awk,
            "-v",
            "src=log",
            "-v",
            "fr=6",
            "-v",
            f"bud={budget}",
            "-v",
            f"tf={flag}",
            SEL.group(1),
        ],
        input=grep.stdout,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    return proc.stdout.decode().splitlines(), flag.exists()


@pytest.mark.parametrize("awk", sorted(AWKS))
@pytest.mark.parametrize("name", INPUTS)
def test_selection_never_empties_and_keeps_what_matters(
    awk: str, name: str, tmp_path: Path
) -> None:
    if shutil.which(AWKS[awk][0]) is None:
        pytest.skip(f"{awk} is not installed")
    text = _input(name)
    kept: list[set[str]] = []
    full, full_cut = _select(AWKS[awk], text, BUDGETS[-1], tmp_path)
    for budget in BUDGETS:
        out, truncated = _select(AWKS[awk], text, budget, tmp_path)
        data = [line for line in out if not line.startswith("#")]
        assert data, f"empty at budget {budget}"
        assert out[-1].startswith("#matches ")
        if budget >= 500:
            assert sum(len(line) + 1 for line in out) <= budget
        assert truncated == (out != full or full_cut), budget
        assert not [line for line in data if BULK.search(line)]
        if budget >= 500 and "oom" in name:  # every incident that is there has its victim
            for incident in _incidents(out[:-1]):
                assert any(VICTIM.search(line) for line in incident), (budget, incident)
        if budget >= 500 and name == "lockups":
            assert any("soft lockup - CPU#2" in line for line in data)
            assert any("Kernel panic - not syncing" in line for line in data)
        kept.append(set(data))
    # a bigger budget keeps a superset: lines go in one fixed order
    for smaller, bigger in itertools.pairwise(kept):
        assert smaller <= bigger
    # at the smallest budget the one line left is the newest incident's first victim/head line
    last = sorted(kept[0])
    assert len(last) == 1
    expected = {
        "two_incidents": "Memory cgroup out of memory: Kill process 7788 (python3)",
        "huge_oom": f"Memory cgroup out of memory: Killed process {GROUP_VICTIM[1]}",
        "oom_storm": "Out of memory: Kill process 30008 (app)",
        "lockups": "Kernel panic - not syncing: softlockup: hung tasks",
    }[name]
    assert expected in last[0]
