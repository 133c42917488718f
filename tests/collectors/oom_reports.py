"""Kernel OOM reports as dmesg and syslog print them, of any size, for the collector tests.

``oom_huge_dmesg`` writes the ring buffer of the ``oom_huge_report`` case: a system-wide OOM report
(kernel 5.10: call trace, Mem-Info, per-zone tables, a task list of ``tasks`` processes, then the
victim) followed by a memory cgroup OOM with ``memory.oom.group`` set, where the kernel kills every
task of the cgroup and prints one victim line for each of them. The fixture holds a small version;
the tests write the big one.
"""

from __future__ import annotations

from collections.abc import Iterator

GLOBAL_VICTIM = ("java", 23001)
GROUP_VICTIM = ("gunicorn", 41001)
GROUP_CGROUP = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7f3e.slice"

_TRACE = """\
 dump_stack+0x57/0x6e
 dump_header+0x4a/0x1f0
 oom_kill_process.cold+0xb/0x10
 out_of_memory+0x1bd/0x4e0
 __alloc_pages_slowpath.constprop.0+0xb9a/0xca0
 __alloc_pages_nodemask+0x2e2/0x320
 pagecache_get_page+0xb5/0x290
 filemap_fault+0x68c/0x9c0
 __do_fault+0x38/0xc0
 handle_mm_fault+0x11b4/0x1a40
 exc_page_fault+0x1f9/0x530
 asm_exc_page_fault+0x1e/0x30"""

_MEM_INFO = """\
Mem-Info:
active_anon:3670016 inactive_anon:12345 isolated_anon:0
 active_file:123 inactive_file:456 isolated_file:0
 unevictable:0 dirty:0 writeback:0
 slab_reclaimable:23456 slab_unreclaimable:34567
 mapped:1234 shmem:5678 pagetables:30000 bounce:0
 free:30720 free_pcp:512 free_cma:0
Node 0 active_anon:14680064kB inactive_anon:49380kB active_file:492kB inactive_file:1824kB \
unevictable:0kB isolated(anon):0kB isolated(file):0kB mapped:4936kB dirty:0kB writeback:0kB \
shmem:22712kB shmem_thp: 0kB shmem_pmdmapped: 0kB anon_thp: 0kB writeback_tmp:0kB \
kernel_stack:9856kB all_unreclaimable? yes
Node 0 DMA free:15360kB min:32kB low:40kB high:48kB reserved_highatomic:0KB active_anon:0kB \
inactive_anon:0kB active_file:0kB inactive_file:0kB unevictable:0kB writepending:0kB \
present:15992kB managed:15360kB mlocked:0kB pagetables:0kB bounce:0kB free_pcp:0kB local_pcp:0kB \
free_cma:0kB
lowmem_reserve[]: 0 2939 15853 15853 15853
Node 0 DMA32 free:62844kB min:6252kB low:7812kB high:9372kB reserved_highatomic:0KB \
active_anon:2960000kB inactive_anon:4000kB active_file:0kB inactive_file:0kB unevictable:0kB \
writepending:0kB present:3129212kB managed:3063676kB mlocked:0kB pagetables:6000kB bounce:0kB \
free_pcp:248kB local_pcp:0kB free_cma:0kB
lowmem_reserve[]: 0 0 12914 12914 12914
Node 0 Normal free:45012kB min:27472kB low:34340kB high:41208kB reserved_highatomic:0KB \
active_anon:11720064kB inactive_anon:45380kB active_file:492kB inactive_file:1824kB \
unevictable:0kB writepending:0kB present:13631488kB managed:13224120kB mlocked:0kB \
pagetables:24000kB bounce:0kB free_pcp:1800kB local_pcp:0kB free_cma:0kB
lowmem_reserve[]: 0 0 0 0 0
Node 0 DMA: 0*4kB 0*8kB 0*16kB 0*32kB 0*64kB 0*128kB 0*256kB 0*512kB 1*1024kB (U) 1*2048kB (M) \
3*4096kB (M) = 15360kB
Node 0 DMA32: 13*4kB (UM) 11*8kB (UM) 8*16kB (UM) 6*32kB (UM) 5*64kB (UM) 3*128kB (UM) \
2*256kB (UM) 1*512kB (M) 2*1024kB (UM) 1*2048kB (M) 14*4096kB (M) = 62844kB
Node 0 Normal: 411*4kB (UME) 292*8kB (UME) 205*16kB (UME) 140*32kB (UME) 72*64kB (UME) \
37*128kB (UM) 14*256kB (UM) 5*512kB (UM) 2*1024kB (M) 0*2048kB 2*4096kB (M) = 45012kB
Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=1048576kB
Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=2048kB
6279 total pagecache pages
0 pages in swap cache
Swap cache stats: add 0, delete 0, find 0/0
Free swap  = 0kB
Total swap = 0kB
4194174 pages RAM
0 pages HighMem/MovableOnly
87654 pages reserved
0 pages hwpoisoned"""

_CGROUP_STATS = """\
memory: usage 4194304kB, limit 4194304kB, failcnt 18231
swap: usage 0kB, limit 0kB, failcnt 0
Memory cgroup stats for {cg}:
anon 4269219840
file 1048576
kernel_stack 4734976
pagetables 27262976
percpu 0
sock 0
shmem 0
file_mapped 315392
file_dirty 0
file_writeback 0
anon_thp 0
inactive_anon 4268707840
active_anon 1048576
inactive_file 524288
active_file 524288
unevictable 0
slab_reclaimable 1210000
slab_unreclaimable 2800000
pgfault 92812345
pgmajfault 12
oom_kill 0"""

_TASK_HEADER = (
    "Tasks state (memory values in pages):\n"
    "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"
)
_KILLED = (
    "{msg}: Killed process {pid} ({name}) total-vm:{vm}kB, anon-rss:{rss}kB, file-rss:0kB, "
    "shmem-rss:0kB, UID:1000 pgtables:{pt}kB oom_score_adj:{adj}"
)


def _tasks(first_pid: int, count: int, name: str, victim: tuple[str, int]) -> Iterator[str]:
    for i in range(count):
        pid = first_pid + i
        proc = victim[0] if pid == victim[1] else name
        rss = 3_600_000 if pid == victim[1] else 2000 + i % 500
        yield (
            f"[{pid:7d}]  1000 {pid:5d}  {rss + 400000:7d}  {rss:7d}  {1000000 + i * 64:9d}"
            f"        0             0 {proc}"
        )


def oom_huge_dmesg(tasks: int) -> str:
    """The two OOM incidents of the ``oom_huge_report`` case, ``tasks`` processes each."""
    out: list[str] = []
    java, java_pid = GLOBAL_VICTIM
    out.append(
        f"{java} invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, "
        "oom_score_adj=0"
    )
    out.append(f"CPU: 3 PID: {java_pid} Comm: {java} Not tainted 5.10.134-16.al8.x86_64 #1")
    out.append("Hardware name: Alibaba Cloud Alibaba Cloud ECS, BIOS 449e491 04/01/2014")
    out.append("Call Trace:")
    out += _TRACE.splitlines()
    out += _MEM_INFO.splitlines()
    out += _TASK_HEADER.splitlines()
    out += _tasks(java_pid - tasks // 2, tasks, "nginx", GLOBAL_VICTIM)
    out.append(
        "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
        f"task_memcg=/system.slice/app.service,task={java},pid={java_pid},uid=1000"
    )
    out.append(
        _KILLED.format(
            msg="Out of memory", pid=java_pid, name=java, vm=16777216, rss=14680064, pt=30000, adj=0
        )
    )
    out.append(f"oom_reaper: reaped process {java_pid} ({java}), now anon-rss:0kB, file-rss:0kB")
    first = len(out)

    name, pid = GROUP_VICTIM
    scope = f"{GROUP_CGROUP}/cri-containerd-5c1d.scope"
    out.append(f"{name} invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=999")
    out.append(f"CPU: 1 PID: {pid} Comm: {name} Not tainted 5.10.134-16.al8.x86_64 #1")
    out.append("Call Trace:")
    out += _TRACE.replace("out_of_memory", "mem_cgroup_out_of_memory").splitlines()[:8]
    out += _CGROUP_STATS.format(cg=scope).splitlines()
    out += _TASK_HEADER.splitlines()
    out += _tasks(pid, tasks, name, GROUP_VICTIM)
    out.append(
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=cri-containerd-5c1d.scope,"
        f"mems_allowed=0,oom_memcg={scope},task_memcg={scope},task={name},pid={pid},uid=1000"
    )
    msg = "Memory cgroup out of memory"
    out.append(
        _KILLED.format(msg=msg, pid=pid, name=name, vm=4100000, rss=3600000, pt=7200, adj=999)
    )
    out.append(f"Tasks in {scope} are going to be killed due to memory.oom.group set")
    for i in range(1, tasks):
        out.append(
            _KILLED.format(msg=msg, pid=pid + i, name=name, vm=402000, rss=2000, pt=120, adj=999)
        )
        if i % 10 == 0:
            out.append(f"oom_reaper: reaped process {pid + i} ({name}), now anon-rss:0kB")

    stamped: list[str] = []
    for n, line in enumerate(out):
        mono = (2505601.120411 if n < first else 2570401.551207) + n * 0.000013
        stamped.append(f"[{mono:14.6f}] {line}")
    return "\n".join(stamped) + "\n"


def oom_storm_syslog(incidents: int, tasks: int, *, host: str = "iZuf6app02") -> str:
    """A CentOS 7 style /var/log/messages with ``incidents`` OOM kills of ``app`` workers.

    Each report names its victim first ("Kill process N (app) score ... or sacrifice child"), then
    reports the kill; incident ``i`` kills pid ``30000 + i`` on March 20 at 03:00 + ``i`` minutes.
    """
    out: list[str] = []
    for i in range(incidents):
        ts = f"Mar 20 03:{i:02d}:01 {host} kernel:"
        victim = 30000 + i
        out.append(f"{ts} app invoked oom-killer: gfp_mask=0x201da, order=0, oom_score_adj=0")
        out.append(f"{ts} app cpuset=/ mems_allowed=0")
        out.append(f"{ts} CPU: 1 PID: {victim} Comm: app Not tainted 3.10.0-1160.el7.x86_64 #1")
        out.append(f"{ts} Call Trace:")
        out += [f"{ts}  [<ffffffff8d5865c9>] dump_stack+0x19/0x1b"] * 3
        out.append(f"{ts} Mem-Info:")
        out += [f"{ts} Node 0 Normal free:{45012 + k}kB min:27472kB low:34340kB" for k in range(8)]
        out.append(
            f"{ts} [ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name"
        )
        out += [
            f"{ts} [{victim - tasks + k:5d}]  1000 {victim - tasks + k:5d}   402000     2000"
            "      120        0             0 app"
            for k in range(tasks)
        ]
        out.append(f"{ts} Out of memory: Kill process {victim} (app) score 915 or sacrifice child")
        out.append(
            f"{ts} Killed process {victim} (app) total-vm:8123456kB, "
            "anon-rss:6987654kB, file-rss:0kB, shmem-rss:0kB"
        )
        out.append(f"Mar 20 03:{i:02d}:09 {host} systemd[1]: app.service: main process exited")
    return "\n".join(out) + "\n"
