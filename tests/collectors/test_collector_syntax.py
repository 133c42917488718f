"""The collectors and their packed stubs, parsed by real grammars (tree-sitter-bash for linux.sh,
tree-sitter-powershell for windows.ps1): no parse error, and every command they can run is on a
read-only allowlist, read from the syntax tree rather than from regular expressions.

bashlex is not used for linux.sh: it rejects quoted here-document delimiters (``<<'ECS_DIAG_PAT'``)
and ``case`` statements (``NotImplementedError: type = {pattern}``), both of which the script uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import pytest
import tree_sitter_bash
import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

from ecs_reboot_diagnosis.collectors import load_collector
from ecs_reboot_diagnosis.collectors.delivery import form_for

Grammar = Literal["bash", "powershell"]


@cache
def _parser(grammar: Grammar) -> Parser:
    module = tree_sitter_bash if grammar == "bash" else tree_sitter_powershell
    return Parser(Language(module.language()))


def _parse(grammar: Grammar, source: str) -> Node:
    return _parser(grammar).parse(source.encode("utf-8")).root_node


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _text(node: Node | None) -> str:
    return "" if node is None or node.text is None else node.text.decode("utf-8")


def _line(node: Node) -> int:
    return node.start_point.row + 1


def parse_errors(grammar: Grammar, source: str) -> list[str]:
    """``line N: ...`` for every ERROR or MISSING node of the tree."""
    return [
        f"line {_line(n)}: {'missing ' + n.type if n.is_missing else 'cannot parse'} "
        f"{_text(n)[:60]!r}"
        for n in _walk(_parse(grammar, source))
        if n.type == "ERROR" or n.is_missing
    ]


# --------------------------------------------------------------------------------------- shell

SH_COMMANDS: dict[str, str] = {
    # shell built-ins that only touch the shell's own state or write to its stdout
    ":": "no-op (truncates $T files through a redirect, checked below)",
    "read": "reads parameters and one-line /proc files into variables",
    "echo": "writes the envelope to stdout",
    "printf": "writes to stdout",
    "exit": "ends the script",
    "break": "loop control",
    "shift": "drops t()'s first argument",
    "wait": "waits for its own background readers",
    "umask": "the mask of its own process (077: its temp files private)",
    "trap": "its own clean-up; the action is parsed and checked as shell code",
    "command": "only `command -v NAME`: whether a tool exists",
    "true": "probe of timeout's options",
    # reading tools
    "cat": "reads files / writes here-documents into $T",
    "head": "reads",
    "tail": "reads (tail -c: the last bytes of a file, seeking)",
    "cut": "filter: bounds line length (cut -c1-2000) before grep buffers a line",
    "grep": "reads (no option writes)",
    "awk": "reads; the program is checked: no system(), getline or pipes, output only to $T",
    "sed": "reads; never -i, only s///[p] scripts",
    "tr": "filter",
    "sort": "filter; never -o",
    "wc": "counts",
    "stat": "file metadata",
    "find": "lists files; never -exec, -delete, -fprint..., -ok",
    "date": "formats times; never -s/--set",
    "uname": "kernel release and machine",
    "uptime": "boot time (uptime -s)",
    "hostname": "only without arguments (an argument would set it)",
    "df": "free space of the dump path",
    "gzip": "only -dc: decompress to stdout",
    "xz": "only -dc",
    "bzip2": "only -dc",
    "last": "reads wtmp",
    "utmpdump": "reads wtmp; never -o",
    "journalctl": "reads the journal; never --vacuum-*, --rotate, --flush, --sync, ...",
    "dmesg": "reads the kernel ring buffer; never -c/-C/-n/-D/-E",
    "systemctl": "only `systemctl show`",
    "timeout": "runs a checked command under a time limit",
    "renice": "only its own process (-p $$)",
    "ionice": "only its own process (-p $$)",
    # its own temporary directory
    "mktemp": "creates its private temp directory",
    "mkdir": 'only "$T": the fallback temp directory',
    "rm": 'only paths under "$T" (the trap that removes its temp directory)',
}
"""Every external command and built-in linux.sh runs, and why it is harmless."""

SH_STUB_COMMANDS: dict[str, str] = {
    **SH_COMMANDS,
    "base64": "only -d: decodes the payload to stdout",
    "openssl": "only `base64 -d` and `dgst -sha256`",
    "busybox": "only as base64 -d / sha256sum",
    "sha256sum": "hashes stdin",
    "exec": 'only `exec sh -c "$C"`: the unpacked script, after its SHA-256 matched',
}
"""The packed Linux stub runs these too (base64/openssl/busybox/sha256sum as $B and $H)."""

SH_WRAPPERS = {"t": 1}
"""Functions of linux.sh whose arguments from this index on are a command (checked there)."""

SH_WRITE_OPS = {">", ">>", ">|", "&>", "&>>", "<>"}
FIND_FORBIDDEN = {"-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0"}
FIND_FORBIDDEN |= {"-fprintf", "-fls"}
JOURNALCTL_FORBIDDEN = (
    *("--vacuum", "--rotate", "--flush", "--sync", "--relinquish", "--setup-keys"),
    *("--update-catalog", "--smart-relinquish"),
)
DMESG_FORBIDDEN = {"-c", "-C", "--clear", "--read-clear", "-n", "--console-level", "-D", "-E"}
DMESG_FORBIDDEN |= {"--console-off", "--console-on"}
SED_SCRIPT = re.compile(r"^(\$\{?\w+\}?|\d+)?s/[^/]*/[^/]*/p?$")
AWK_FORBIDDEN = re.compile(r"system\s*\(|getline|\|&|\|\s*\"|\bclose\s*\(|\bfflush\b")
AWK_OUTPUT = re.compile(r"\bprintf?\b[^;{}\n]*?(>>?)\s*(\(?\s*[^\s;}]+)")
AWK_OUTPUT_VARS = {"f", "tf", "t"}
"""awk variables a program may print to: each set with -v to a path under $T, or a parameter."""


def _unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] == "'":
        return word[1:-1]
    return word.replace('"', "")


def _in_temp(path: str) -> bool:
    """``$T`` or a path under it (no ``..`` component)."""
    p = _unquote(path)
    return (p == "$T" or p.startswith(("$T/", "${4:+$T/"))) and not re.search(r"/\.\.(/|$)", p)


def _under_temp(path: str) -> bool:
    """Where output may go: under ``$T``, or ``/dev/null``."""
    return _unquote(path) == "/dev/null" or (_in_temp(path) and _unquote(path) != "$T")


@dataclass
class _Shell:
    source: str
    commands: dict[str, str]
    problems: list[str] = field(default_factory=list)
    functions: set[str] = field(default_factory=set)
    assignments: dict[str, list[str]] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    line_base: int = 0
    """Lines before the parsed text (a trap action is parsed on its own)."""

    def flag(self, node: Node, message: str) -> None:
        self.problems.append(f"line {self.line_base + _line(node)}: {message}")

    def check(self) -> list[str]:
        root = _parse("bash", self.source)
        for n in _walk(root):
            if n.type == "function_definition":
                self.functions.add(_text(n.child_by_field_name("name")))
            elif n.type == "variable_assignment":
                name = _text(n.child_by_field_name("name"))
                self.assignments.setdefault(name, []).append(_text(n.child_by_field_name("value")))
        for value in self.assignments.get("T", []):
            if value not in {"$(mktemp -d 2>/dev/null)", "/tmp/ecs-diag.$$"}:
                self.problems.append(f"T (the temp directory) set to {value}")
        self.check_tree(root)
        return self.problems

    def check_tree(self, root: Node) -> None:
        for n in _walk(root):
            if n.type == "command":
                self.check_command(n)
            elif n.type == "file_redirect":
                self.check_redirect(n)
            elif n.type in {"unset_command", "test_command", "declaration_command"}:
                if n.type == "declaration_command" and _text(n.children[0]) != "export":
                    self.flag(n, f"declaration {_text(n)!r}")

    def check_redirect(self, n: Node) -> None:
        ops = [_text(c) for c in n.children if not c.is_named]
        destination = _text(n.child_by_field_name("destination"))
        writes = any(op in SH_WRITE_OPS for op in ops)
        writes |= ">&" in ops and not re.fullmatch(r"\d+|-", destination)
        if writes and not _under_temp(destination):
            self.flag(n, f"writes to {destination} (only $T/... and /dev/null)")

    def check_command(self, n: Node) -> None:
        name = n.child_by_field_name("name")
        args = [_text(a) for a in n.children_by_field_name("argument")]
        self.check_argv(n, [_text(name), *args])

    def inside_function(self, n: Node, name: str) -> bool:
        parent = n.parent
        while parent is not None:
            if parent.type == "function_definition":
                return _text(parent.child_by_field_name("name")) == name
            parent = parent.parent
        return False

    def check_argv(self, n: Node, argv: list[str]) -> None:
        if not argv:
            return
        name, args = argv[0], argv[1:]
        if name == '"$@"':
            if not any(self.inside_function(n, w) for w in SH_WRAPPERS):
                self.flag(n, 'runs "$@" outside a checked wrapper')
            return
        if m := re.fullmatch(r"\$(\w+)", name):
            values = self.assignments.get(m.group(1), [])
            if not values:
                self.flag(n, f"runs {name}, never assigned")
            for value in values:
                if re.search(r"[$`]", value):
                    self.flag(n, f"runs {name}, assigned {value}")
                else:
                    self.check_argv(n, [*_unquote(value).split(), *args])
            return
        if name in SH_WRAPPERS and name in self.functions:
            self.check_argv(n, args[SH_WRAPPERS[name] :])
            return
        if name in self.functions:
            return
        if name not in self.commands:
            self.flag(n, f"command {name!r} is not on the allowlist")
            return
        self.used.add(name)
        plain = [_unquote(a) for a in args]
        match name:
            case "timeout":
                i = 0
                while i < len(plain) and plain[i].startswith("-"):
                    i += 2 if plain[i] in {"-k", "-s"} else 1
                self.check_argv(n, args[i + 1 :])
            case "command" if plain[:1] != ["-v"]:
                self.flag(n, f"command {' '.join(plain)} (only command -v)")
            case "systemctl" if plain[:1] != ["show"]:
                self.flag(n, f"systemctl {' '.join(plain)} (only systemctl show)")
            case "rm" | "mkdir":
                for a in plain:
                    if not a.startswith("-") and not _in_temp(a):
                        self.flag(n, f"{name} {a} (only $T and paths under it)")
            case "find":
                for a in set(plain) & FIND_FORBIDDEN:
                    self.flag(n, f"find {a}")
            case "sed":
                if any(a == "-i" or a.startswith(("-i", "--in-place")) for a in plain):
                    self.flag(n, "sed -i")
                scripts = [a for a in plain if not a.startswith("-")][:1]
                if scripts and not SED_SCRIPT.match(scripts[0]):
                    self.flag(n, f"sed script {scripts[0]!r} (only s/.../.../[p])")
            case "sort" if any(a.startswith(("-o", "--output")) for a in plain):
                self.flag(n, "sort -o")
            case "date" if any(a.startswith(("-s", "--set")) for a in plain):
                self.flag(n, "date --set")
            case "hostname" if plain:
                self.flag(n, f"hostname {' '.join(plain)} (an argument sets the name)")
            case "gzip" | "xz" | "bzip2" if plain[:1] != ["-dc"]:
                self.flag(n, f"{name} {' '.join(plain)} (only -dc)")
            case "utmpdump" if any(a.startswith(("-o", "--output")) for a in plain):
                self.flag(n, "utmpdump -o")
            case "journalctl" if any(a.startswith(JOURNALCTL_FORBIDDEN) for a in plain):
                self.flag(n, f"journalctl {' '.join(plain)}")
            case "dmesg" if set(plain) & DMESG_FORBIDDEN:
                self.flag(n, f"dmesg {' '.join(plain)}")
            case "renice" | "ionice" if plain[-2:] != ["-p", "$$"]:
                self.flag(n, f"{name} {' '.join(plain)} (only its own process)")
            case "trap":
                base, self.line_base = self.line_base, _line(n) - 1
                self.check_tree(_parse("bash", plain[0]))
                self.line_base = base
            case "awk":
                self.check_awk(n, args)
            case "base64" if plain != ["-d"]:
                self.flag(n, f"base64 {' '.join(plain)}")
            case "openssl" if plain[:1] not in (["base64"], ["dgst"]) or "-out" in plain:
                self.flag(n, f"openssl {' '.join(plain)}")
            case "busybox" if plain not in (["base64", "-d"], ["sha256sum"]):
                self.flag(n, f"busybox {' '.join(plain)}")
            case "exec" if plain[:3] != ["sh", "-c", "$C"]:
                self.flag(n, f"exec {' '.join(plain)}")
            case _:
                pass

    def check_awk(self, n: Node, args: list[str]) -> None:
        i = 0
        variables: dict[str, str] = {}
        while i < len(args) and args[i].startswith("-"):
            if args[i] == "-v" and i + 1 < len(args):
                var, _, value = _unquote(args[i + 1]).partition("=")
                variables[var] = value
            i += 2 if args[i] in {"-v", "-F"} else 1
        if i >= len(args):
            self.flag(n, "awk without a program")
            return
        program = args[i]
        if m := re.fullmatch(r'"\$(\w+)"', program):
            programs = [_unquote(v) for v in self.assignments.get(m.group(1), [])]
        elif program.startswith("'"):
            programs = [_unquote(program)]
        else:
            self.flag(n, f"awk program {program[:40]!r} (a literal or a literal variable only)")
            return
        for text in programs:
            if bad := AWK_FORBIDDEN.search(text):
                self.flag(n, f"awk program uses {bad.group(0)!r}")
            for _op, target in AWK_OUTPUT.findall(text):
                var = target.lstrip("( ")
                if var not in AWK_OUTPUT_VARS:
                    self.flag(n, f"awk prints to {target!r}")
                elif var in variables and not _under_temp(variables[var]):
                    self.flag(n, f"awk prints to {var}={variables[var]}")


def shell_problems(source: str, commands: dict[str, str] = SH_COMMANDS) -> list[str]:
    """Parse errors, then every command or redirect of ``source`` off the allowlist."""
    return parse_errors("bash", source) or _Shell(source, commands).check()


def shell_commands_run(source: str, commands: dict[str, str] = SH_COMMANDS) -> set[str]:
    """The allowlisted commands ``source`` runs, directly or through wrappers and traps."""
    shell = _Shell(source, commands)
    shell.check()
    return shell.used


# -------------------------------------------------------------------------------- PowerShell

PS_COMMANDS: dict[str, str] = {
    "Set-StrictMode": "the strictness of the script's own scope, not a system setting",
    "Write-Output": "writes the envelope to the output stream",
    "Get-Date": "the clock",
    "Get-Command": "whether Get-CimInstance exists (PowerShell 2.0 has only Get-WmiObject)",
    "Get-CimInstance": "reads WMI classes (OS, computer system, page file, disk)",
    "Get-WmiObject": "the same on PowerShell 2.0",
    "Get-WinEvent": "reads event logs",
    "Get-ItemProperty": "reads registry values (CurrentVersion, CrashControl)",
    "Get-Item": "file metadata of MEMORY.DMP",
    "Get-ChildItem": "lists minidumps and WER report folders",
    "Test-Path": "whether a path exists",
    "Join-Path": "string join of paths",
    "Where-Object": "filters objects",
    "Select-Object": "keeps the first objects",
    "Sort-Object": "orders objects",
    "ForEach-Object": "maps objects (the stub's hex encoding)",
    "New-Object": "only the types of NEW_OBJECT_TYPES",
}
"""Every cmdlet windows.ps1 and its stub run, and why it is harmless."""

NEW_OBJECT_TYPES: dict[str, str] = {
    "DateTime": "the Unix epoch",
    "IO.MemoryStream": "stub: the payload bytes in memory",
    "IO.Compression.GZipStream": "stub: decompresses in memory",
    "IO.StreamReader": "stub: reads the decompressed stream",
}

PS_TYPES: dict[str, str] = {
    "Globalization.CultureInfo": "InvariantCulture",
    "DateTimeKind": "Utc",
    "Management.ManagementDateTimeConverter": "ToDateTime: parses WMI times",
    "TimeZone": "CurrentTimeZone.GetUtcOffset",
    "Math": "Abs",
    "Environment": "ExpandEnvironmentVariables",
    "Convert": "stub: FromBase64String",
    "IO.Compression.CompressionMode": "stub: Decompress",
    "Text.Encoding": "stub: ASCII",
    "Security.Cryptography.SHA256": "stub: Create, ComputeHash",
    "Console": "stub: Error.WriteLine to standard error",
    "ScriptBlock": "stub: Create, of the script whose SHA-256 matched",
}
"""Types whose static members (``[T]::X``) are used; anything else ([IO.File]::Write*,
[Diagnostics.Process]::Start, [Net.WebClient], ...) is refused."""

PS_METHODS: dict[str, str] = {
    "Trim": "string",
    "TrimEnd": "string",
    "Replace": "string",
    "Substring": "string",
    "ToString": "formatting",
    "ToUniversalTime": "DateTime",
    "AddDays": "DateTime",
    "ToDateTime": "ManagementDateTimeConverter",
    "GetUtcOffset": "TimeZone",
    "Abs": "Math",
    "ExpandEnvironmentVariables": "Environment: expands %SystemRoot% in a path",
    "FromBase64String": "stub",
    "ReadToEnd": "stub: reads the in-memory stream",
    "Create": "stub: SHA256.Create, ScriptBlock.Create",
    "ComputeHash": "stub",
    "GetBytes": "stub",
    "WriteLine": "stub: Console.Error only",
}
"""Every method invoked (``$x.M()``, ``[T]::M()``); .NET writers (Delete, Kill, SetValue,
WriteAllText, Start, DownloadString, ...) are not on it."""


def _ps_type(node: Node) -> str:
    return next((_text(c) for c in node.children if c.type == "type_spec"), "")


@dataclass
class _PowerShell:
    source: str
    stub: bool
    problems: list[str] = field(default_factory=list)

    def flag(self, node: Node, message: str) -> None:
        self.problems.append(f"line {_line(node)}: {message}")

    def check(self) -> list[str]:
        root = _parse("powershell", self.source)
        functions = {
            _text(n.child_by_field_name("function_name") or _child(n, "function_name"))
            for n in _walk(root)
            if n.type == "function_statement"
        }
        for n in _walk(root):
            if n.type == "command":
                self.check_command(n, functions)
            elif n.type == "redirection":
                self.check_redirection(n)
            elif n.type in {"invokation_expression", "member_access"}:
                self.check_member(n)
        return self.problems

    def check_command(self, n: Node, functions: set[str]) -> None:
        operator = _child(n, "command_invokation_operator")
        name_node = n.child_by_field_name("command_name")
        name = _text(name_node)
        if operator is not None:
            ok = self.stub and _text(operator) == "&" and name == "([ScriptBlock]::Create($C))"
            if not ok:
                self.flag(n, f"call operator {_text(operator)} {name}")
            return
        if name in functions:
            return
        if name not in PS_COMMANDS:
            self.flag(n, f"command {name!r} is not on the allowlist")
        elif name == "New-Object":
            elements = n.child_by_field_name("command_elements")
            words = [c for c in (elements.children if elements else []) if c.is_named]
            words = [c for c in words if c.type != "command_argument_sep"]
            first = words[0] if words else None
            if (
                first is None
                or first.type != "generic_token"
                or _text(first) not in NEW_OBJECT_TYPES
            ):
                self.flag(n, f"New-Object {_text(first)} is not on the allowlist")

    def check_redirection(self, n: Node) -> None:
        if _child(n, "merging_redirection_operator") is not None:
            return
        target = _text(_child(n, "redirected_file_name")).strip()
        if target != "$null":
            self.flag(n, f"redirects to {target} (only $null)")

    def check_member(self, n: Node) -> None:
        member = _text(_child(n, "member_name"))
        first = n.children[0]
        if first.type == "type_literal" and _ps_type(first) not in PS_TYPES:
            self.flag(n, f"static member of [{_ps_type(first)}] is not on the allowlist")
        if n.type == "invokation_expression" and member not in PS_METHODS:
            self.flag(n, f"method {member} is not on the allowlist")
        if member == "WriteLine" and _text(first) != "[Console]::Error":
            self.flag(n, f"{_text(first)}.WriteLine (only [Console]::Error)")


def _child(node: Node, type_: str) -> Node | None:
    return next((c for c in node.children if c.type == type_), None)


def powershell_problems(source: str, *, stub: bool = False) -> list[str]:
    """Parse errors, then every command, type, method or redirection off the allowlist."""
    return parse_errors("powershell", source) or _PowerShell(source, stub).check()


# -------------------------------------------------------------------------------------- tests

Checker = Callable[[str], list[str]]


def _linux() -> str:
    return load_collector("linux").content


def _windows() -> str:
    return load_collector("windows").content


def test_linux_collector_parses_and_runs_only_allowed_commands() -> None:
    assert shell_problems(_linux()) == []


def test_linux_stub_parses_and_runs_only_allowed_commands() -> None:
    assert shell_problems(form_for("linux", "packed").content, SH_STUB_COMMANDS) == []


def test_packed_linux_script_parses_and_runs_only_allowed_commands() -> None:
    from ecs_reboot_diagnosis.collectors.delivery import packed_script

    assert shell_problems(packed_script(load_collector("linux"))) == []


def test_windows_collector_parses_and_runs_only_allowed_commands() -> None:
    assert powershell_problems(_windows()) == []


def test_windows_stub_parses_and_runs_only_allowed_commands() -> None:
    assert powershell_problems(form_for("windows", "packed").content, stub=True) == []


def test_allowlists_are_what_the_scripts_use() -> None:
    """No stale entry: each allowlisted command is used by a collector or its stub."""
    assert shell_commands_run(_linux()) == set(SH_COMMANDS)
    stub = form_for("linux", "packed").content
    stub_only = set(SH_STUB_COMMANDS) - set(SH_COMMANDS)
    also = {"read", "printf", "command", "echo", "exit", "gzip"}
    assert shell_commands_run(stub, SH_STUB_COMMANDS) == stub_only | also
    ps = _windows() + form_for("windows", "packed").content
    for name in PS_COMMANDS:
        assert name in ps
    for method in PS_METHODS:
        assert f".{method}(" in ps or f"::{method}(" in ps, method


# A modified script must be refused, naming what is wrong and where.
LINUX_BAD = {
    "rm -rf /": "rm / (only $T",
    "rm -f /dev/null": "rm /dev/null",
    'rm -rf "$T/../x"': "rm $T/../x",
    'cat /etc/passwd >"$T/../x"': "writes to",
    "echo x > /etc/x": "writes to /etc/x",
    "echo x >>/root/.ssh/authorized_keys": "writes to /root/.ssh/authorized_keys",
    "systemctl restart kdump.service": "systemctl restart",
    "t 10 systemctl stop kdump.service": "systemctl stop",
    "t 5 reboot": "'reboot' is not on the allowlist",
    "curl -s http://example.invalid/": "'curl' is not on the allowlist",
    "find / -name x -delete": "find -delete",
    "sed -i 's/a/b/' /etc/fstab": "sed -i",
    "hostname evil": "hostname evil",
    "dmesg -C": "dmesg -C",
    'eval "$x"': "'eval' is not on the allowlist",
    "trap 'rm -rf /' EXIT": "rm / (only $T",
    "awk 'BEGIN { system(\"reboot\") }'": "awk program uses 'system('",
    "awk 'BEGIN { print 1 > \"/etc/x\" }'": "awk prints to",
    "T=/": "T (the temp directory) set to /",
    "case $x in a) echo 1 ;;": "cannot parse",
}


@pytest.mark.parametrize("line", LINUX_BAD, ids=lambda s: re.sub(r"\W+", "_", s)[:30])
def test_a_modified_linux_script_is_refused(line: str) -> None:
    script = _linux().replace('\necho "$H nonce=$NONCE"\n', f'\n{line}\necho "$H nonce=$NONCE"\n')
    assert line in script
    problems = shell_problems(script)
    expected = LINUX_BAD[line]
    assert any(expected.split(" (")[0] in p for p in problems), problems
    lineno = script.splitlines().index(line) + 1
    if line != "T=/" and expected != "cannot parse":
        assert any(p.startswith(f"line {lineno}:") for p in problems), problems


WINDOWS_BAD = {
    "Remove-Item -LiteralPath 'C:\\x' -Force": "command 'Remove-Item'",
    "Set-ItemProperty -Path 'HKLM:\\x' -Name a -Value 1": "command 'Set-ItemProperty'",
    "Invoke-Expression $x": "command 'Invoke-Expression'",
    "Start-Process cmd.exe": "command 'Start-Process'",
    "Invoke-WebRequest http://example.invalid/": "command 'Invoke-WebRequest'",
    "New-Item -ItemType File C:\\x": "command 'New-Item'",
    "$c = New-Object Net.WebClient": "New-Object Net.WebClient",
    "[IO.File]::WriteAllText('C:\\x', 'y')": "[IO.File]",
    "[Diagnostics.Process]::Start('cmd.exe')": "[Diagnostics.Process]",
    "$i.Delete()": "method Delete",
    "Get-Date > C:\\x.txt": "redirects to C:\\x.txt",
    "& $x": "call operator &",
    ". .\\other.ps1": "call operator .",
    "$b = [int64]($x / 1MB)": "cannot parse",
}


@pytest.mark.parametrize("line", WINDOWS_BAD, ids=lambda s: re.sub(r"\W+", "_", s)[:30])
def test_a_modified_windows_script_is_refused(line: str) -> None:
    anchor = '\r\nWrite-Output "$Header nonce=$Nonce"\r\n'
    script = _windows().replace(anchor, f"\r\n{line}{anchor}")
    problems = powershell_problems(script)
    assert any(WINDOWS_BAD[line] in p for p in problems), problems
    lineno = script.split("\r\n").index(line) + 1
    assert any(p.startswith(f"line {lineno}:") for p in problems), problems


def test_the_stub_exception_is_only_for_the_stub() -> None:
    stub = form_for("windows", "packed").content
    assert any("call operator &" in p for p in powershell_problems(stub, stub=False))
    assert any("'exec' is not" in p for p in shell_problems(form_for("linux", "packed").content))
