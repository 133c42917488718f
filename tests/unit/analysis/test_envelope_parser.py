"""parse_envelope: the structure it trusts, and everything it refuses."""

from __future__ import annotations

import pytest

from ecs_reboot_diagnosis.analysis.envelope import LINUX_SECTIONS, parse_envelope
from ecs_reboot_diagnosis.errors import CollectorIntegrityError

N = "0123456789abcdef0123456789abcdef"
OTHER = "f" * 32
HEADER = f"ECS_DIAG_ENVELOPE schema_version=1 collector=linux version=1.0.0 nonce={N}"


def sec(name: str, *lines: str, status: str = "ok", truncated: int = 0, note: str = "-") -> str:
    body = "".join(f"{line}\n" for line in lines)
    end = f"====={N} END {name} status={status} truncated={truncated} note={note}=====\n"
    return f"====={N} SECTION {name}=====\n{body}{end}"


def envelope(*sections: str, eof: bool = True) -> str:
    tail = f"====={N} EOF sections={len(sections)}=====\n" if eof else ""
    return HEADER + "\n" + "".join(sections) + tail


def test_sections_lines_and_statuses() -> None:
    out = envelope(
        sec("os", "kernel=5.10", "#persistent=1", "not a pair"),
        sec("journal_tail", status="missing", note="previous boot not in journal"),
        sec("dmesg", status="error", note="dmesg failed"),
        sec("syslog", "#source=/var/log/messages", "12:Mar 20 kernel: x", truncated=1),
    )
    env = parse_envelope(out, N)
    assert (env.schema_version, env.collector, env.version, env.complete) == (
        1,
        "linux",
        "1.0.0",
        True,
    )
    assert env.section("os") is not None
    assert env.section("os").kv() == {"kernel": "5.10", "persistent": "1"}  # type: ignore[union-attr]
    assert env.lines("syslog") == ("#source=/var/log/messages", "12:Mar 20 kernel: x")
    assert env.ok("dmesg") is None and env.ok("os") is not None
    statuses = {s.name: s for s in env.statuses(LINUX_SECTIONS)}
    assert statuses["os"].present and not statuses["os"].truncated
    assert statuses["syslog"].truncated
    assert not statuses["journal_tail"].present
    assert statuses["journal_tail"].note == "previous boot not in journal"
    assert statuses["dmesg"].note == "error: dmesg failed"
    assert not statuses["pstore"].present
    assert statuses["pstore"].note == "not reported by this collector version"


def test_crlf_and_leading_noise_are_accepted() -> None:
    out = "bash: warning: setlocale\r\n" + envelope(sec("os", "kernel=1")).replace("\n", "\r\n")
    env = parse_envelope(out, N)
    assert env.complete and env.lines("os") == ("kernel=1",)
    assert env.stray_lines == ("bash: warning: setlocale",)


def test_marker_lines_with_another_nonce_are_data() -> None:
    forged = [
        f"====={OTHER} END syslog status=ok truncated=0 note=-=====",
        f"====={OTHER} SECTION kdump=====",
        "service_state=active",
        f"====={OTHER} EOF sections=1=====",
        f"ECS_DIAG_ENVELOPE schema_version=1 collector=linux version=9.9.9 nonce={OTHER}",
        f"====={N.upper()} SECTION os=====",
        f"  ====={N} SECTION os=====",
    ]
    env = parse_envelope(envelope(sec("syslog", *forged), sec("kdump", "service=none")), N)
    assert env.lines("syslog") == tuple(forged)
    assert env.lines("kdump") == ("service=none",)
    assert list(env.sections) == ["syslog", "kdump"]


@pytest.mark.parametrize(
    "out",
    [
        # a section opened inside another
        HEADER + f"\n====={N} SECTION a=====\n====={N} SECTION b=====\n",
        # an END for a section that is not open
        HEADER + f"\n====={N} END a status=ok truncated=0 note=-=====\n",
        # END naming another section
        envelope(sec("a").replace(" END a ", " END b ")),
        # the same section twice
        envelope(sec("a"), sec("a")),
        # EOF inside a section
        HEADER + f"\n====={N} SECTION a=====\n====={N} EOF sections=0=====\n",
        # a marker after EOF
        envelope(sec("a")) + sec("b"),
        # malformed markers with the right nonce
        HEADER + f"\n====={N} SECTION Bad Name=====\n",
        envelope(sec("a").replace("status=ok", "status=fine")),
        HEADER + f"\n====={N} EOF whatever=====\n",
    ],
)
def test_out_of_order_or_malformed_markers_are_rejected(out: str) -> None:
    with pytest.raises(CollectorIntegrityError):
        parse_envelope(out, N)


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("", "no collector envelope header"),
        ("bash: line 1: syntax error\n", "no collector envelope header"),
        (HEADER.replace(N, OTHER) + "\n", "nonce does not match"),
        (HEADER.replace("schema_version=1", "schema_version=2") + "\n", "Unsupported envelope"),
        (HEADER.replace("schema_version=1", "schema_version=x") + "\n", "no valid schema_version"),
        (HEADER.replace(" version=1.0.0", "") + "\n", "lacks the collector"),
        (
            "ECS_DIAG_ENVELOPE schema_version=1 collector=linux version=1.0.0 nonce=invalid "
            "error=bad_parameter:nonce\n",
            "refused to run: bad_parameter:nonce",
        ),
    ],
)
def test_header_problems(out: str, message: str) -> None:
    with pytest.raises(CollectorIntegrityError, match=message):
        parse_envelope(out, N)


def test_malformed_expected_nonce() -> None:
    with pytest.raises(CollectorIntegrityError):
        parse_envelope(HEADER, "not-a-nonce")


def test_output_cut_at_24_kb_mid_section() -> None:
    filler = [f"{i}:Mar 20 10:00:00 host kernel: line {i:06d} " + "x" * 60 for i in range(400)]
    out = envelope(sec("os", "kernel=5.10"), sec("syslog", *filler), sec("dmesg", "1:x"))
    assert len(out) > 24 * 1024
    cut = out.encode()[: 24 * 1024].decode()
    assert not cut.endswith("\n")
    env = parse_envelope(cut, N)
    assert not env.complete
    syslog = env.section("syslog")
    assert syslog is not None
    assert syslog.truncated and not syslog.complete
    assert syslog.lines == tuple(filler[: len(syslog.lines)])  # the half line at the cut is gone
    assert env.section("dmesg") is None
    statuses = {s.name: s for s in env.statuses(LINUX_SECTIONS)}
    assert statuses["syslog"].present and statuses["syslog"].truncated
    assert "output ended inside this section" in statuses["syslog"].note
    assert statuses["dmesg"].note == "not received: output was cut before it"
    assert env.section("os") is not None and env.section("os").complete  # type: ignore[union-attr]
