"""ECS_DIAG_STORE: the accepted forms, the default file under the user's state directory, and a
clear error for anything else (naming the variable and the forms it accepts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecs_reboot_diagnosis.clock import SystemClock
from ecs_reboot_diagnosis.store import InMemoryDiagnosisStore
from ecs_reboot_diagnosis_mcp.app import build_store
from ecs_reboot_diagnosis_mcp.cli import EXIT_USAGE, main
from ecs_reboot_diagnosis_mcp.settings import Settings, default_store_path, parse_store
from ecs_reboot_diagnosis_mcp.sqlite_store import SqliteDiagnosisStore


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("memory", None),
        (" memory ", None),
        ("sqlite:///var/lib/diag/store.db", Path("/var/lib/diag/store.db")),
        ("sqlite:////var/lib/diag/store.db", Path("/var/lib/diag/store.db")),
    ],
)
def test_accepted_forms(value: str, expected: Path | None) -> None:
    assert parse_store(value) == expected


@pytest.mark.parametrize("value", ["", "sqlite"])
def test_the_default_is_the_file_under_the_state_directory(value: str, tmp_path: Path) -> None:
    assert parse_store(value, {"XDG_STATE_HOME": str(tmp_path)}) == (
        tmp_path / "ecs-reboot-diagnosis" / "diagnoses.sqlite3"
    )


def test_without_xdg_state_home_the_default_is_under_local_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for env in ({}, {"XDG_STATE_HOME": "relative/dir"}):  # a relative one is ignored
        assert default_store_path(env) == (
            tmp_path / ".local" / "state" / "ecs-reboot-diagnosis" / "diagnoses.sqlite3"
        )


def test_without_a_home_directory_the_default_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", no_home)
    with pytest.raises(ValueError) as err:
        parse_store("sqlite", {})
    assert "ECS_DIAG_STORE=memory" in str(err.value) and "XDG_STATE_HOME" in str(err.value)
    assert parse_store("memory", {}) is None


@pytest.mark.parametrize(
    "value",
    ["mem", "sqlite://relative.db", "sqlite:///", "postgres://db/x", "sqlite:///dir/", "/a/b.db"],
)
def test_anything_else_is_refused_naming_the_variable_and_the_forms(value: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_store(value)
    text = str(err.value)
    assert "ECS_DIAG_STORE" in text
    assert "'memory'" in text and "'sqlite'" in text and "sqlite:///ABSOLUTE/PATH" in text


def test_the_cli_refuses_a_bad_store_before_doing_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ECS_DIAG_STORE", "sqlite:relative.db")
    code = main(["diagnose", "--instance-id", "i-bp1abcdefgh", "--region", "cn-hangzhou",
                 "--simulator"])  # fmt: skip
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "ECS_DIAG_STORE='sqlite:relative.db' is not a store location" in err
    assert "Traceback" not in err


def test_the_cli_says_what_to_do_when_the_store_file_cannot_be_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("ECS_DIAG_STORE", f"sqlite://{blocker}/store.db")
    code = main(["diagnose", "--instance-id", "i-bp1abcdefgh", "--region", "cn-hangzhou",
                 "--simulator"])  # fmt: skip
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"Cannot open the diagnosis store {blocker}/store.db" in err
    assert "ECS_DIAG_STORE" in err and "memory" in err


def test_build_store_follows_the_setting(tmp_path: Path) -> None:
    clock = SystemClock()
    assert isinstance(build_store(Settings(store="memory"), clock), InMemoryDiagnosisStore)
    path = tmp_path / "s" / "d.sqlite3"
    store = build_store(Settings(store=f"sqlite://{path}", history_days=7), clock)
    assert isinstance(store, SqliteDiagnosisStore)
    assert store.db.path == path and path.exists()
    store.db.close()


def test_the_test_suite_never_uses_the_real_state_directory() -> None:
    """tests/conftest.py: memory by default, and a throwaway XDG_STATE_HOME for the rest."""
    assert Settings().store_path() is None
    assert Path.home() not in default_store_path().parents
