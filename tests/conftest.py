"""Every test runs with the in-memory store and a throwaway state directory, so the suite never
writes to the user's ~/.local/state (subprocesses inherit both). A test of the SQLite store
names its own file under tmp_path."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_STATE = tempfile.mkdtemp(prefix="ecs-diag-test-state-")
atexit.register(shutil.rmtree, _STATE, ignore_errors=True)
os.environ["XDG_STATE_HOME"] = _STATE
os.environ["ECS_DIAG_STORE"] = "memory"
