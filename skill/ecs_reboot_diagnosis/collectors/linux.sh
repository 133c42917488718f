#!/bin/sh
# ecs-reboot-diagnosis Linux collector: read-only, POSIX sh, ASCII. See ENVELOPE.md.
V=1.1.0
read -r NONCE <<'ECS_DIAG_PARAM'
{{nonce}}
ECS_DIAG_PARAM
read -r SINCE <<'ECS_DIAG_PARAM'
{{since_days}}
ECS_DIAG_PARAM
H="ECS_DIAG_ENVELOPE schema_version=1 collector=linux version=$V"
bad=
case $NONCE in *[!0-9a-f]*) bad=nonce ;; esac
[ ${#NONCE} -eq 32 ] || bad=nonce
case $SINCE in [1-9] | [1-9][0-9] | [1-9][0-9][0-9]) [ "$SINCE" -le 365 ] || bad=${bad:+$bad,}since_days ;;
*) bad=${bad:+$bad,}since_days ;; esac
if [ -n "$bad" ]; then
  case $bad in nonce*) NONCE=invalid ;; esac
  echo "$H nonce=$NONCE error=bad_parameter:$bad"
  exit 2
fi
LC_ALL=C
export LC_ALL
umask 077
R=${DIAG_ROOT%/}
if [ -z "$R" ]; then
  LIVE=1
  PATH=$PATH:/usr/sbin:/usr/bin:/sbin:/bin
else LIVE=${DIAG_LIVE:-0}; fi
have() { command -v "$1" >/dev/null 2>&1; }
T=$(mktemp -d 2>/dev/null) || { T=/tmp/ecs-diag.$$ && mkdir "$T"; } || exit 3
trap 'rm -rf "$T"' EXIT
trap 'exit 4' HUP INT TERM
cat >"$T/pat" <<'ECS_DIAG_PAT'
Kernel panic
not syncing
Oops:
] SMP
] PREEMPT
kernel BUG
BUG:
NULL pointer
general protection fault
Unable to handle kernel
blocked for more than
soft lockup
hard LOCKUP
detected stall
detected expedited stall
Machine check
Machine Check
Hardware Error
Out of memory
out of memory
Killed process
oom-kill:
invoked oom-killer
deadlocked on memory
Trigger a crash
Attempted to kill init
Unable to mount root
Cannot open root device
-fs error
XFS (
BTRFS critical
BTRFS error
RIP:
Modules linked in
Call Trace
Comm:
Reached target
COMMAND=
reboot:
System is
Power key pressed
shutting down for system
Linux version
recovery complete
ECS_DIAG_PAT
printf '%s\n' 'kernel:' 'Reached target' 'COMMAND=' 'System is ' 'Power key' 'shutting down for' >"$T/pre"
renice -n 10 -p $$ >/dev/null 2>&1
ionice -c 2 -n 7 -p $$ >/dev/null 2>&1
TO=
if timeout -k 5 5 true 2>/dev/null; then TO="timeout -k 5"; elif timeout 5 true 2>/dev/null; then TO=timeout; fi
# t SECONDS CMD...: CMD under timeout if any. late: over time. sp FILE: sparse.
t() { if [ -n "$TO" ]; then $TO "$@"; else shift; "$@"; fi; }
S=$(date +%s)
C=64000000
late() { [ $(($(date +%s) - S)) -ge "${DIAG_BUDGET:-90}" ]; }
sp() { t 5 stat -c '%s %b %B' "$1" 2>/dev/null | awk '{ s = $1 > 1048576 && $2 * $3 * 64 < $1 } END { exit !s }'; }
ov() { out "$1" error "time budget spent" 0; }
# shellcheck disable=SC2016
SEL='function cls(s) {
if (s ~ /not syncing|Kernel panic/) return "panic"
if (s ~ /Out of memory|out of memory|Killed process|oom-kill:|invoked oom-killer|deadlocked on memory/) return "oom"
if (s ~ /soft lockup|hard LOCKUP|blocked for more than|detected stall|detected expedited stall/) return "lockup"
if (s ~ /Trigger a crash|Attempted to kill init|Unable to mount root|Cannot open root device/) return "crash"
if (s ~ /[0-9a-f][0-9a-f][0-9a-f][0-9a-f] \[#[0-9]+\]|Oops: |kernel BUG|BUG: |NULL pointer|general protection fault|Unable to handle kernel/) return "die"
if (s ~ /Machine [Cc]heck|Hardware Error/) return "hw"
if (s ~ /EXT[234]-fs error|XFS \(.*([Cc]orruption|Internal error|[Ss]hut ?down|I\/O [Ee]rror)|BTRFS (critical|error)/) return "fs"
if (s ~ /RIP: |Modules linked in|Call Trace|Comm: /) return "ctx"
if (s ~ /Reached target .*(Reboot|Shutdown|Power[- ]Off|Halt)|COMMAND=.*(reboot|shutdown|poweroff|halt|init [06])|reboot: (Restarting|Power down)|System is (rebooting|powering down)|Power key pressed|shutting down for system|Linux version|recovery complete|XFS \(.*Starting recovery/) return "boot"
return ""
}
function old(s,  m, v, md) {
if (!cut) return 0
if (s ~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]/) v = substr(s, 1, 4) substr(s, 6, 2) substr(s, 9, 2)
else if (s ~ /^[A-Z][a-z][a-z] [ 0-9][0-9] /) {
m = index("JanFebMarAprMayJunJulAugSepOctNovDec", substr(s, 1, 3))
if (!m || (m - 1) % 3) return 0
md = (m + 2) / 3 * 100 + substr(s, 5, 2)
v = ((md > cmd) ? cy - 1 : cy) * 10000 + md
} else return 0
return v + 0 < cut + 0
}
function dr(c) { if (c == "oom" && of != "") odrop++; else drop++ }
function ng(c,  x, j) {
cur = ++G; gc[G] = c; gs[G] = src; gn[G] = 0
q[c, qt[c]++] = G
if (qt[c] - qh[c] > K[c]) { x = q[c, qh[c]++]; for (j = 1; j <= gn[x]; j++) delete T[x, j]; dr(c) }
}
function add(s, n, c,  r) {
if (gn[cur] >= 28) { if (c == gc[cur]) dr(c); if (gc[cur] == "oom") last = n; return }
s = substr(s, 1, (s ~ /Modules linked in/) ? 600 : gc[cur] == "oom" ? 200 : 300)
r = 2
if (c == "") r = ++nf > 3 ? 4 : 3
else if (s ~ /Modules linked in/) r = 3
else if (s ~ /Call Trace/) { r = 3; nf = 0 }
else if (c == gc[cur] && (c != "oom" || s ~ /Kill(ed)? process/)) r = ++gv[cur] > 2 && c == "oom" ? 3 : 1
if (gc[cur] == "panic" && r > 1) r = 5
T[cur, ++gn[cur]] = n ":" s; R[cur, gn[cur]] = r; last = n
}
function inc(c, f) { return f != "" ? c == "oom" : c != "oom" || of == "" }
function dl(x, j) { u -= length(T[x, j]) + 1; R[x, j] = 0; kl--; drop++; if (--gk[x] == 0) u -= length(gs[x]) + 9 }
function emit(f, b,  lst, o, i, j, x, c, p, sz, best, t, rk, nw, ord, m) {
o = 0
for (c in K) if (inc(c, f)) for (i = qh[c]; i < qt[c]; i++) lst[++o] = q[c, i]
for (i = 2; i <= o; i++) { x = lst[i]; for (j = i - 1; j > 0 && lst[j] > x; j--) lst[j + 1] = lst[j]; lst[j + 1] = x }
if (f != "") {
for (i = 1; i <= o; i++) { x = lst[i]; print "@@FILE " gs[x] >> f; for (j = 1; j <= gn[x]; j++) print T[x, j] >> f }
return
}
u = 0; kl = 0; m = 0
for (i = 1; i <= o; i++) {
x = lst[i]; nw[gc[x]] = x; gk[x] = gn[x]; kl += gn[x]; u += length(gs[x]) + 9
for (j = 1; j <= gn[x]; j++) u += length(T[x, j]) + 1
}
for (p = 1; p < 10; p++) for (i = 1; i <= o; i++) if (P[gc[lst[i]]] == p) ord[++m] = lst[i]
for (t = 0; t < 7 && u > b; t++) {
if (t == 4) while (u > b) {
best = ""; sz = 0
for (c in K) if (inc(c, f) && qt[c] - qh[c] > 1 && (p = (qt[c] - qh[c]) * 10 - P[c]) > sz) { sz = p; best = c }
if (best == "") break
x = q[best, qh[best]++]
for (j = 1; j <= gn[x]; j++) if (R[x, j]) dl(x, j)
}
else {
rk = t < 4 ? 5 - t : 7 - t
for (i = 1; i <= m && u > b; i++) {
x = ord[i]
if (t < 3 || (x == nw[gc[x]]) == (t > 4)) for (j = gn[x]; j > 0 && u > b && kl > 1; j--) if (R[x, j] == rk) dl(x, j)
}
}
}
p = ""
for (i = 1; i <= o; i++) if (gk[x = lst[i]]) {
if (gs[x] != p) print "#source=" (p = gs[x])
for (j = 1; j <= gn[x]; j++) if (R[x, j]) print T[x, j]
}
}
BEGIN {
split("panic 3 8 die 4 7 crash 2 6 lockup 3 5 hw 2 4 fs 3 3 ctx 3 2 boot 6 1 oom 6 9", a, " ")
for (i = 1; i < 27; i += 3) { K[a[i]] = a[i + 1]; P[a[i]] = a[i + 2]; qh[a[i]] = 0; qt[a[i]] = 0 }
oldn = -999
}
/^@@FILE / { src = substr($0, 8); cur = 0; oldn = -999; fl = 0; next }
{
if (!match($0, /^[0-9]+[-:]/)) next
n = substr($0, 1, RLENGTH - 1) + 0; sp = substr($0, RLENGTH, 1); s = substr($0, RLENGTH + 1)
c = (sp == ":") ? cls(s) : ""
if (c == "") {
if (cur && fl > 0 && s ~ /\+0x[0-9a-f]+\/0x[0-9a-f]+|<\/?(IRQ|NMI|TASK)>|<EOI>|\[<[0-9a-f]+>\]/) { add(s, n, ""); fl-- } else fl = 0
next
}
fl = 0
mt[c]++
if (c != "ctx" && old(s)) { cur = 0; oldn = n; next }
if (c == "ctx") {
if (n - oldn <= 60) next
if (cur && n - last <= 60) { if (gc[cur] == "oom") next }
else ng("ctx")
} else if (s ~ /invoked oom-killer/ || !(cur && gc[cur] == c && (n - last <= 60 || c == "oom" && !gv[cur] && n - last < 99999))) ng(c)
add(s, n, c)
if (s ~ /Call Trace/) fl = fr
}
END {
m = ""
for (c in mt) m = m " " c "=" mt[c]
if (m != "" && !nm) m = "#matches" m; else m = ""
emit("", bud - length(m) - 1)
if (of != "") emit(of)
if (m != "") print m
if (drop) print 1 > tf
if (odrop) print 1 > (tf "o")
}'
# sel SOURCE FRAMES BUDGET [r]: select "@@FILE"/grep -n output; r: OOM groups to $T/oom.
sel() {
  tr -d '\000' | awk -v src="$1" -v fr="$2" -v bud="$3" -v of="${4:+$T/oom}" \
    -v tf="$T/tr" -v cut="${SC:-0}" -v cy="$CY" -v cmd="$CMD" "$SEL" 2>/dev/null
}
# eb BUDGET: BUDGET or what is left.
eb() { e=$((19200 - USED)); [ "$1" -lt "$e" ] && e=$1; echo "$e"; }
# scan CONTEXT [FILE]: signature lines, numbered, with context, of FILE's last C bytes.
scan() { if [ -n "$2" ]; then t 60 tail -c $C "$2" | cut -c1-2000 | scan "$1"; else grep -a -n -F -A "$1" -f "$T/pat"; fi; }
# cs FORMAT: stat each path read; a timeout ends it ($T/to).
cs() { while IFS= read -r f; do t 5 stat -c "$1" "$f" 2>/dev/null || [ $? -lt 124 ] || { : >"$T/to" && break; }; done; }
USED=0
NS=0
# out NAME STATUS NOTE BUDGET: section NAME from $T/d, sanitised, clipped.
out() {
  b=$(eb "$4")
  [ "$b" -lt 0 ] && b=0
  echo "=====$NONCE SECTION $1====="
  awk -v b="$b" -v nc="$NONCE" -v f="$T/clip" 'BEGIN { u = 0; c = 0 }
{ gsub(/[^\t -~]/, "?"); gsub(nc, "[nonce]"); $0 = substr($0, 1, 1000)
if (u + length($0) + 1 > b) { c = 1; exit }
print; u += length($0) + 1 }
END { print u, c > f }' "$T/d"
  read -r n c <"$T/clip"
  [ -s "$T/tr" ] && c=1
  [ "$1" = oom ] && [ -s "$T/tro" ] && c=1
  [ "$4" = 0 ] && c=0
  echo "=====$NONCE END $1 status=$2 truncated=$c note=${3:--}====="
  USED=$((USED + n + 2 * ${#1} + ${#3} + 130))
  NS=$((NS + 1))
  : >"$T/d"
  : >"$T/tr"
  [ "$1" = oom ] && : >"$T/tro"
}
# no NOTE NAME...: sections NAME missing, for NOTE.
no() {
  m=$1
  shift
  for s in "$@"; do out "$s" missing "$m" 0; done
}
: >"$T/oom"
case ${DIAG_NOW:-} in "" | *[!0-9]*) now=$(date +%s) ;; *) now=$DIAG_NOW ;; esac
CY=$(date -d "@$now" +%Y 2>/dev/null)
CMD=$(date -d "@$now" +%m%d 2>/dev/null)
CMD=${CMD#0} # busybox awk reads 0321 as octal
CUT=$(date -d "@$((now - SINCE * 86400))" +%Y%m%d 2>/dev/null)
echo "$H nonce=$NONCE"

{
  echo "collected_at=$now"
  echo "tz=$(date +%z)"
  echo "since_days=$SINCE"
  echo "root_prefixed=$([ -n "$R" ] && echo 1 || echo 0)"
  echo "live=$LIVE"
  tl=
  for x in timeout journalctl last systemctl dmesg gzip xz stat find; do have $x && tl="$tl${tl:+,}$x"; done
  echo "tools=$tl"
} >"$T/d"
out meta ok "" 400

{
  f=$R/etc/os-release
  [ -r "$f" ] || f=$R/usr/lib/os-release
  head -c 9999 "$f" | awk -F= '/^(NAME|ID|ID_LIKE|VERSION_ID|PRETTY_NAME)=/ { v = substr($0, length($1) + 2); gsub(/^["\047]|["\047]$/, "", v); print tolower($1) "=" v }'
  for f in redhat-release alinux-release SuSE-release alpine-release debian_version; do
    [ -r "$R/etc/$f" ] && { echo "release_file=/etc/$f"; head -c 300 "$R/etc/$f" | sed -n '1s/^/release=/p'; break; }
  done
  k=
  read -r k <"$R/proc/sys/kernel/osrelease"
  [ -z "$k" ] && [ "$LIVE" = 1 ] && k=$(uname -r)
  echo "kernel=$k"
  awk '{ printf "uptime_seconds=%d\n", $1 }' "$R/proc/uptime"
  sed 's/^/boot_id=/' "$R/proc/sys/kernel/random/boot_id"
  awk '$1 == "MemTotal:" { print "mem_total_kb=" $2 }' "$R/proc/meminfo"
  [ "$LIVE" = 1 ] && have uname && echo "arch=$(uname -m)"
} >"$T/d" 2>/dev/null
if grep -q '^kernel=.' "$T/d"; then out os ok "" 700; else out os error "kernel version unreadable" 700; fi

{
  awk '$1 == "btime" && $2 ~ /^[0-9]+$/ { print "btime=" $2; exit }' "$R/proc/stat"
  u=
  h=
  [ "$LIVE" = 1 ] && u=$(t 5 uptime -s)
  case $u in [12][0-9][0-9][0-9]-*) echo "uptime_since=$u" ;; esac
  read -r h <"$R/proc/sys/kernel/hostname"
  [ -z "$h" ] && [ "$LIVE" = 1 ] && h=$(t 5 hostname)
  [ -n "$h" ] && echo "hostname=$h"
  head -c 300 "$R/etc/hostname" | sed -n '1s/^/etc_hostname=/p'
} >"$T/d" 2>/dev/null
out boot ok "" 400

W=$R/var/log/wtmp
n=
if ! have last && ! have utmpdump; then
  no "last not available" reboot_history
elif [ ! -r "$W" ]; then
  no "no /var/log/wtmp" reboot_history
else
  if have last; then
    L() { t 20 last "$@" -f "$W"; }
    { L -x -F || L -x --time-format iso || L -x || L; } 2>/dev/null |
      awk '/^(reboot|shutdown) / { print; if (++n >= 16) exit }' >"$T/d"
  else
    n=utmpdump
    t 20 utmpdump "$W" 2>/dev/null | awk '/^\[[12]\] \[[0-9]+\] \[....\] \[(reboot  |shutdown)\]/ { gsub(/ +\]/, "]"); a[n++ % 16] = $0 }
END { for (i = n - 1; i >= 0 && i >= n - 16; i--) print a[i % 16] }' >"$T/d"
  fi
  out reboot_history ok "$n" 1100
fi

miss=
for k in vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.softlockup_panic kernel.hung_task_panic \
  kernel.unknown_nmi_panic kernel.hardlockup_panic kernel.panic_on_warn kernel.sysrq; do
  f=$R/proc/sys/${k%%.*}/${k#*.}
  v=
  [ -r "$f" ] && read -r v <"$f"
  if [ -n "$v" ]; then echo "$k=$v" >>"$T/d"; else miss="$miss $k"; fi
done
if [ ! -s "$T/d" ]; then no "/proc/sys unreadable" sysctl; else out sysctl ok "${miss:+unreadable:$miss}" 500; fi

kv() { awk -F= -v k="$2" '$1 == k { v = substr($0, length(k) + 2); gsub(/^["\047 ]+|["\047 ]+$/, "", v) } END { print v }' "$1"; }
svc=
st=
en=
n=
if [ "$LIVE" = 1 ] && have systemctl; then
  for u in kdump kdump-tools; do
    s=$(t 10 systemctl show -p LoadState -p ActiveState -p UnitFileState "$u.service" 2>/dev/null)
    case $s in *LoadState=loaded*)
      svc=$u
      st=$(echo "$s" | kv - ActiveState)
      en=$(echo "$s" | kv - UnitFileState)
      break
      ;;
    esac
  done
else n="no systemctl"; fi
if [ -z "$svc" ]; then
  for u in kdump kdump-tools; do [ -e "$R/etc/init.d/$u" ] && { svc=$u && st=unknown && break; }; done
fi
DP=
{
  echo "service=${svc:-none}"
  echo "service_state=${st:-unknown}"
  echo "service_enabled=${en:-unknown}"
  c=
  for f in /etc/kdump.conf /etc/default/kdump-tools /etc/sysconfig/kdump; do [ -r "$R$f" ] && c=$f && break; done
  echo "config_file=$c"
  f=$R$c
  case $c in
  */kdump.conf)
    DP=$(awk '$1 == "path" { p = $2 } END { print p }' "$f")
    awk '$1 ~ /^(nfs|ssh|raw|ext[234]|xfs|btrfs|virtiofs)$/ { print "dump_target=" $1; exit }' "$f"
    ;;
  */kdump-tools)
    DP=$(kv "$f" KDUMP_COREDIR)
    echo "use_kdump=$(kv "$f" USE_KDUMP)"
    ;;
  ?*) DP=$(kv "$f" KDUMP_SAVEDIR) && DP=${DP#file://} ;;
  esac
  DP=${DP:-/var/crash}
  echo "dump_path=$DP"
  awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^crashkernel=/) print $i }' "$R/proc/cmdline"
  for f in kexec_crash_loaded kexec_crash_size; do sed "s/^/$f=/" "$R/sys/kernel/$f"; done
  d=$R$DP
  while [ ! -d "$d" ] && [ "$d" != "${d%/*}" ]; do d=${d%/*}; done
  [ -d "$d" ] && t 10 df -Pk "${d:-/}" | awk 'NR == 2 { print "dump_path_free_kb=" $4 }'
} >"$T/d" 2>/dev/null
out kdump ok "$n" 700

# cr ARGS: find in dump dirs; sr: drop $R
cr() { for d in "$DP" /var/crash; do [ -d "$R$d" ] && t 20 find "$R$d" "$@" 2>/dev/null; done | awk '!s[$0]++' | head -n 200; }
sr() { awk -v r=" $R/" 'r != " /" && (i = index($0, r)) { $0 = substr($0, 1, i) substr($0, i + length(r) - 1) } 1'; }
cr -maxdepth 2 -type f \( -name 'vmcore*' -o -name 'dump.*' -o -name 'dmesg.*' \) | cs '%Y %s %u %a %n' | sort -rn >"$T/cf"
{
  head -n 20 "$T/cf"
  echo "#found=$(wc -l <"$T/cf")"
  { cr -maxdepth 0; cr -mindepth 1 -maxdepth 1 -type d | cs '%Y %n' | sort -rn | sed 's/^[0-9]* //'; } | cs '#dir=%Y %u %a %n' | head -n 20
} | sr >"$T/d"
if [ -e "$T/to" ]; then out crash_files error "stat timed out" 1400
elif [ -d "$R$DP" ] || [ -d "$R/var/crash" ]; then out crash_files ok "" 1400; else no "no dump directory $DP" crash_files; fi

JD=
[ -n "$R" ] && [ -d "$R/var/log/journal" ] && JD="$R/var/log/journal"
if ! have journalctl || [ "$LIVE" != 1 ] || { [ -n "$R" ] && [ -z "$JD" ]; }; then
  no "journalctl not available" journal_boots journal_tail journal_kernel
else
  j() { t 30 journalctl ${JD:+-D "$JD"} "$@" 2>/dev/null; }
  p=0
  [ -d "$R/var/log/journal" ] && p=1
  echo "#persistent=$p" >"$T/d"
  j --list-boots --no-pager -q | tail -n 8 >>"$T/d"
  out journal_boots ok "" 800
  j -b -1 -n 15 --no-pager -q -o short-iso | awk 'BEGIN { print "#source=journal.prev" } { print NR ":" substr($0, 1, 220) }' >"$T/d"
  if [ "$(wc -l <"$T/d")" -gt 1 ]; then
    out journal_tail ok "" 1400
    if late; then ov journal_kernel; else
    j -k -b -1 --no-pager -q -o short-iso | scan 6 | sel journal.prev.kernel 6 "$(eb 1800)" r >"$T/d"
    out journal_kernel ok "" 1800
    fi
  else
    no "previous boot not in journal" journal_tail journal_kernel
  fi
fi

t 20 find "$R/var/log" -maxdepth 1 -type f \( -name messages -o -name 'messages[.-]*' -o -name syslog -o -name 'syslog[.-]*' \) \
  2>/dev/null | head -n 100 | cs '%Y %n' |
  awk -v c=$((now - (SINCE + 1) * 86400)) '$1 >= c || $0 ~ /\/(messages|syslog)$/' | sort -n >"$T/files"
if [ ! -s "$T/files" ]; then
  no "no /var/log/messages or /var/log/syslog" syslog
else
  # newest first, two at a time, C bytes of each (sparse: skipped), into $T/s1001...
  i=$(($(wc -l <"$T/files")))
  k=$i
  a=0
  z=0
  while [ "$k" -gt 0 ]; do
    f=$(sed -n "${k}s/^[0-9]* //p" "$T/files")
    if sp "$f"; then a=$((a + 1)); elif late; then z=$((z + 1)); else
    {
      echo "@@FILE ${f#"$R"}"
      case $f in
      *.gz) t 60 gzip -dc "$f" | head -c $C ;;
      *.xz) t 60 xz -dc "$f" | head -c $C ;;
      *.bz2) t 60 bzip2 -dc "$f" | head -c $C ;;
      *) t 60 tail -c $C "$f" ;;
      esac | cut -c1-2000 | grep -a -n -F -f "$T/pre" | grep -a -F -A 6 -f "$T/pat" | tail -c 4000000
    } >"$T/s$((k + 1000))" 2>/dev/null &
    fi
    [ $(((i - k) % 2)) -eq 1 ] && wait
    k=$((k - 1))
  done
  wait
  cat "$T"/s1* | SC=$CUT sel "" 6 "$(eb 3600)" r >"$T/d"
  n="$i files"
  [ $a = 0 ] || n="$n, $a sparse skipped"
  [ $z = 0 ] || n="$n, $z skipped: time budget"
  out syslog ok "$n" 3600
fi

if [ "$LIVE" != 1 ] || ! have dmesg; then
  no "dmesg not available" dmesg
elif late; then ov dmesg
elif t 20 dmesg >"$T/dm" 2>/dev/null; then
  scan 6 <"$T/dm" | sel dmesg 6 "$(eb 1400)" r >"$T/d"
  out dmesg ok "" 1400
else
  out dmesg error "dmesg failed" 0
fi

awk -v bud="$(eb 1300)" -v tf="$T/tr" -v nm=1 "$SEL" "$T/oom" >"$T/d" 2>/dev/null
out oom ok "" 1300

f=$(awk '{ p = substr($0, index($0, " /") + 1) } p ~ /\/(vmcore-dmesg\.txt|dmesg\.[^\/]*)$/ { print p; exit }' "$T/cf")
if [ -z "$f" ]; then
  no "no vmcore-dmesg.txt or dmesg.* file" crash_dmesg
elif late; then ov crash_dmesg
elif sp "$f"; then out crash_dmesg error "sparse file skipped" 0
else
  { echo "@@FILE ${f#"$R"}"; scan 16 "$f"; } | sel "" 16 "$(eb 2900)" >"$T/d"
  out crash_dmesg ok "" 2900
fi

for d in /sys/fs/pstore /var/lib/systemd/pstore; do
  [ -d "$R$d" ] && t 20 find "$R$d" -maxdepth 2 -type f 2>/dev/null
done | head -n 10 >"$T/pf"
if [ ! -s "$T/pf" ]; then
  no "no pstore records" pstore
elif late; then ov pstore
else
  cs '#file=%Y %s %u %a %n' <"$T/pf" | sr | awk -v t="$T/tr" -v m=$(($(eb 800) / 3)) '(u += length($0) + 1) > m { print 1 >t; exit } 1' >"$T/d"
  b=$(($(eb 800) - $(wc -c <"$T/d")))
  while IFS= read -r f; do
    echo "@@FILE ${f#"$R"}"
    scan 6 "$f" 2>/dev/null
  done <"$T/pf" | sel "" 6 "$b" >>"$T/d"
  out pstore ok "" 800
fi

echo "=====$NONCE EOF sections=$NS====="
exit 0
