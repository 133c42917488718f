#!/usr/bin/env bash
# Third-party MCP clients against the real server: the MCP Inspector CLI and the TypeScript SDK,
# both installed from tests/clients/package-lock.json, driving `ecs-reboot-diagnosis serve
# --simulator` over stdio (offline: the bundled ECS simulator on loopback).
#
#   .ci/clients.sh [/path/to/venv/bin/ecs-reboot-diagnosis]     (default: the one on PATH)
#
# Needs Node >= 20 and npm (and the npm registry, or a warm npm cache, for `npm ci`).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

fail() {
  echo "clients: FAIL: $*" >&2
  exit 1
}

# --- the server command, as an absolute path (the clients spawn it themselves) -----------------
server=${1:-$(command -v ecs-reboot-diagnosis || true)}
[ -n "$server" ] || fail "ecs-reboot-diagnosis is not on PATH; pass its path as \$1"
if [[ "$server" != */* ]]; then
  server=$(command -v "$server" || true)
fi
[ -x "$server" ] || fail "$server is not an executable"
server=$(cd "$(dirname "$server")" && pwd)/$(basename "$server")

command -v node >/dev/null || fail "node is not installed"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || fail "node $(node --version) is too old: Node >= 20 is required"

# --- install the pinned clients (the registry may sit behind a proxy: keep it for npm) ---------
echo "== clients: npm ci (tests/clients)"
npm ci --prefix tests/clients --no-audit --no-fund --no-update-notifier --loglevel=error >/dev/null

# --- from here on everything is loopback: no proxy, no ECS metadata probing ---------------------
unset HTTP_PROXY http_proxy HTTPS_PROXY https_proxy ALL_PROXY all_proxy NO_PROXY no_proxy
export ALIBABA_CLOUD_ECS_METADATA_DISABLED=true
export NO_COLOR=1
inspector=tests/clients/node_modules/.bin/mcp-inspector
[ -x "$inspector" ] || fail "$inspector is missing after npm ci"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# limit each client run, so a hung server fails the job instead of stalling it
limit() {
  if command -v timeout >/dev/null; then timeout 120 "$@"; else "$@"; fi
}

# run NAME OUTFILE CMD...: run a client with a time limit, stdout to OUTFILE; show stderr on failure
run() {
  local name=$1 outfile=$2 rc=0
  shift 2
  limit "$@" >"$outfile" 2>"$outfile.err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    cat "$outfile.err" >&2
    fail "$name exited $rc"
  fi
}

# check FILE JS-EXPRESSION MESSAGE: evaluate the expression on the parsed JSON in `r`
check_json() {
  node -e '
    const fs = require("fs");
    const [file, expr, message] = process.argv.slice(1);
    let r;
    try { r = JSON.parse(fs.readFileSync(file, "utf8")); }
    catch (e) { console.error(`not JSON (${e.message}): ` + fs.readFileSync(file, "utf8").slice(0, 500)); process.exit(1); }
    const ok = new Function("r", `return (${expr});`)(r);
    if (!ok) { console.error(`${message}: ` + JSON.stringify(r).slice(0, 1000)); process.exit(1); }
  ' "$1" "$2" "$3"
}

echo "== clients: MCP Inspector CLI tools/list"
run "inspector tools/list" "$out/tools.json" \
  "$inspector" --cli "$server" serve --simulator --method tools/list
# The tools the server must list: those of the schema snapshot (tests/contract/snapshots).
snapshot="$(cd "$(dirname "$0")/.." && pwd)/tests/contract/snapshots/tools.json"
expected=$(python3 -c 'import json, sys; print(json.dumps(sorted(json.load(open(sys.argv[1])))))' "$snapshot")
count=$(python3 -c 'import json, sys; print(len(json.loads(sys.argv[1])))' "$expected")
check_json "$out/tools.json" "
  $expected.every((n) => r.tools.some((t) => t.name === n))
  && r.tools.filter((t) => t.name.startsWith('ecs_')).length === $count" \
  "tools/list does not list the $count ecs_* tools of the snapshot" || fail "inspector tools/list"
echo "   $count ecs_* tools listed"

echo "== clients: MCP Inspector CLI tools/call ecs_start_diagnosis"
run "inspector tools/call" "$out/start.json" \
  "$inspector" --cli "$server" serve --simulator --method tools/call \
  --tool-name ecs_start_diagnosis \
  --tool-arg instance_id=i-bp1sim0linux0000001 region_id=cn-hangzhou
# the Inspector exits 0 even when isError is true: check the result itself
check_json "$out/start.json" '
  r.isError === false
  && /^d-[0-9a-f]{32}$/.test(r.structuredContent.diagnosis_id)
  && r.structuredContent.instance.instance_id === "i-bp1sim0linux0000001"
  && r.structuredContent.next_step.tool === "ecs_check_platform_events"' \
  "ecs_start_diagnosis did not return a diagnosis_id with isError false" \
  || fail "inspector tools/call"
echo "   diagnosis_id $(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).structuredContent.diagnosis_id' "$out/start.json"), isError false"

echo "== clients: TypeScript SDK, a whole diagnosis step by step"
rc=0
limit node tests/clients/ts_diagnosis.mjs "$server" || rc=$?
[ "$rc" -eq 0 ] || fail "ts_diagnosis.mjs exited $rc"

echo "== clients: OK in $((SECONDS - started)) s"
