"""Call traces read from the logs themselves (no crash dump): the frames after an incident's
``Call Trace:`` line become its ``call_trace`` fact, the faulting function when no RIP line was
logged, where a hung task waits, and the "same stack" of a fleet's crash signature.

The excerpts are written for these tests in the formats kernels print (dmesg stamps, syslog,
frame pointers or none, NMI and IRQ blocks, the register dump newer kernels print inside a
trace)."""

from __future__ import annotations

import io
from datetime import timedelta

from ecs_reboot_diagnosis.analysis.crash_dump import triage_dumps
from ecs_reboot_diagnosis.analysis.findings import analyze_log_lines, analyze_log_text
from ecs_reboot_diagnosis.fleet_signatures import signature_of
from ecs_reboot_diagnosis.models import Finding
from ecs_reboot_diagnosis_mcp import analyze_log
from tests.unit.analysis.test_linux_episodes import BOOT, PREV, conclude, guest, line


def only(findings: list[Finding], kind: str) -> Finding:
    found = [f for f in findings if f.kind == kind]
    assert len(found) == 1, [f.kind for f in findings]
    return found[0]


HUNG = """\
[ 1230.400001] INFO: task kworker/3:1:77 blocked for more than 122 seconds.
[ 1230.400044] Call Trace:
[ 1230.400050]  __schedule+0x2a4/0x840
[ 1230.400055]  schedule+0x46/0xb0
[ 1230.400058]  jbd2_log_wait_commit+0xac/0x120 [jbd2]
[ 1230.512301] INFO: task java:4242 blocked for more than 122 seconds.
[ 1230.512377]       Not tainted 5.10.134-16.3.al8.x86_64 #1
[ 1230.512402] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
[ 1230.512430] task:java            state:D stack:    0 pid: 4242 ppid:     1 flags:0x00000000
[ 1230.512433] Call Trace:
[ 1230.512441]  __schedule+0x2a4/0x840
[ 1230.512446]  schedule+0x46/0xb0
[ 1230.512450]  io_schedule+0x12/0x40
[ 1230.512455]  ? xfs_buf_read_map+0x51/0x2e0 [xfs]
[ 1230.512459]  wait_on_page_bit_common+0x10f/0x3c0
[ 1230.512466]  nfs_wait_bit_killable+0x1f/0x80 [nfs]
[ 1230.512470]  __nfs_revalidate_inode+0x131/0x3a0 [nfs]
[ 1230.512474]  vfs_statx+0x89/0xe0
[ 1230.512477]  do_syscall_64+0x33/0x40
[ 1230.512480]  entry_SYSCALL_64_after_hwframe+0x44/0xa9
[ 1230.512490] RIP: 0033:0x7f0cc3a0e0ba
[ 1230.512495] RSP: 002b:00007f0c9effd848 EFLAGS: 00000246 ORIG_RAX: 0000000000000004
"""


def test_a_hung_task_carries_its_own_trace_and_where_it_waits() -> None:
    hung = only(analyze_log_text(HUNG), "hung_task")
    assert hung.facts.process == "java"
    # the latest report's task, with the trace printed after its header ("?" guesses left
    # out, modules kept), not the trace of the task reported just before it
    assert hung.facts.call_trace == [
        "__schedule",
        "schedule",
        "io_schedule",
        "wait_on_page_bit_common",
        "nfs_wait_bit_killable [nfs]",
        "__nfs_revalidate_inode [nfs]",
        "vfs_statx",
        "do_syscall_64",
        "entry_SYSCALL_64_after_hwframe",
    ]
    # past the scheduler and the page/bit waits: what it waits for
    assert "waiting in __nfs_revalidate_inode [nfs]" in hung.summary.en
    assert "__nfs_revalidate_inode [nfs]" in hung.summary.zh_CN
    # a hung task is not a fault: no faulting function is made up from its trace
    assert hung.facts.rip_function is None


OLD_HARD_LOCKUP = """\
Oct  3 02:11:40 db7 kernel: Watchdog detected hard LOCKUP on cpu 5
Oct  3 02:11:40 db7 kernel: Modules linked in: ext4 jbd2 mbcache virtio_blk virtio_net
Oct  3 02:11:40 db7 kernel: Pid: 9911, comm: postgres Not tainted 2.6.32-754.el6.x86_64 #1
Oct  3 02:11:40 db7 kernel: Call Trace:
Oct  3 02:11:40 db7 kernel: <NMI>  [<ffffffff8107c5a1>] ? warn_slowpath_common+0x91/0xe0
Oct  3 02:11:40 db7 kernel: [<ffffffff810dc9b7>] ? watchdog_overflow_callback+0xa7/0xd0
Oct  3 02:11:40 db7 kernel: [<ffffffff8111f2d7>] ? perf_event_update_userpage+0x17/0xf0
Oct  3 02:11:40 db7 kernel: [<ffffffff8100b8e0>] ? do_nmi+0x1f0/0x340
Oct  3 02:11:40 db7 kernel: <<EOE>>  [<ffffffff812a1c2e>] ? _spin_lock_irqsave+0x2e/0x40
Oct  3 02:11:40 db7 kernel: [<ffffffffa00d1b1a>] ? virtnet_poll+0x5a/0x3c0 [virtio_net]
Oct  3 02:11:40 db7 kernel: [<ffffffff8146c5c3>] ? net_rx_action+0x103/0x2f0
Oct  3 02:11:40 db7 kernel: Kernel panic - not syncing: Hard LOCKUP
"""


def test_frames_inside_the_nmi_block_never_stand_for_where_the_cpu_was() -> None:
    lockup = only(analyze_log_text(OLD_HARD_LOCKUP), "hard_lockup")
    # a kernel without frame pointers marks every frame "?": they are all it has, so they are
    # kept, but none of the NMI handler's (the watchdog, perf)
    assert lockup.facts.call_trace == [
        "_spin_lock_irqsave",
        "virtnet_poll [virtio_net]",
        "net_rx_action",
    ]
    # no RIP line was logged: the faulting function is the top of the interrupted path
    assert (lockup.facts.rip_function, lockup.facts.rip_module) == ("_spin_lock_irqsave", None)


NEW_SOFT_LOCKUP = """\
[ 8821.100001] watchdog: BUG: soft lockup - CPU#2 stuck for 23s! [kworker/2:0:31337]
[ 8821.100020] Modules linked in: nvme nvme_core xfs
[ 8821.100031] CPU: 2 PID: 31337 Comm: kworker/2:0 Not tainted 5.15.0-91-generic #101-Ubuntu
[ 8821.100040] RIP: 0010:nvme_poll_cq+0x6c/0x1b0 [nvme]
[ 8821.100044] Code: 48 89 df e8 5e fd ff ff 0f b7 43 12 66 41 39 c5 75 d5 5b 5d 41 5c
[ 8821.100048] RSP: 0018:ffffb36b40003ef8 EFLAGS: 00000246
[ 8821.100050] Call Trace:
[ 8821.100052]  <IRQ>
[ 8821.100055]  ? show_regs.part.0+0x23/0x30
[ 8821.100058]  ? watchdog_timer_fn+0x1b8/0x220
[ 8821.100060]  __hrtimer_run_queues+0x104/0x230
[ 8821.100062]  hrtimer_interrupt+0xfc/0x210
[ 8821.100064]  __sysvec_apic_timer_interrupt+0x61/0xe0
[ 8821.100066]  sysvec_apic_timer_interrupt+0x7b/0x90
[ 8821.100068]  </IRQ>
[ 8821.100070]  <TASK>
[ 8821.100072]  asm_sysvec_apic_timer_interrupt+0x1b/0x20
[ 8821.100074] RIP: 0010:nvme_poll_cq+0x6c/0x1b0 [nvme]
[ 8821.100076] Code: 48 89 df e8 5e fd ff ff 0f b7 43 12 66 41 39 c5 75 d5 5b 5d 41 5c
[ 8821.100078] RSP: 0018:ffffb36b40003ef8 EFLAGS: 00000246
[ 8821.100080] RAX: 0000000000000000 RBX: ffff8f1b03a4c000 RCX: 0000000000000001
[ 8821.100082] R13: 0000000000000001 R14: ffff8f1b0a2b8000 R15: 0000000000000000
[ 8821.100084]  nvme_poll+0x31/0x60 [nvme]
[ 8821.100086]  blk_mq_poll+0x6a/0x90
[ 8821.100088]  process_one_work+0x228/0x3d0
[ 8821.100090]  worker_thread+0x53/0x420
[ 8821.100092]  kthread+0x127/0x150
[ 8821.100094]  ret_from_fork+0x1f/0x30
[ 8821.100096]  </TASK>
[ 8821.100098] Kernel panic - not syncing: softlockup: hung tasks
"""


def test_a_trace_goes_on_past_the_registers_a_newer_kernel_prints_inside_it() -> None:
    lockup = only(analyze_log_text(NEW_SOFT_LOCKUP), "soft_lockup")
    # the RIP line decides the faulting function; the trace skips the timer interrupt that
    # reported the lockup and keeps the task's frames after the embedded register dump
    assert (lockup.facts.rip_function, lockup.facts.rip_module) == ("nvme_poll_cq", "nvme")
    assert lockup.facts.call_trace == [
        "nvme_poll [nvme]",
        "blk_mq_poll",
        "process_one_work",
        "worker_thread",
        "kthread",
        "ret_from_fork",
    ]


def test_text_after_a_trace_ends_it() -> None:
    text = (
        "[  50.000001] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
        "[  50.000002] Oops: 0000 [#1] SMP PTI\n"
        "[  50.000003] Call Trace:\n"
        "[  50.000004]  tcp_v4_rcv+0x9d1/0xb30\n"
        "[  50.000005] ---[ end trace 5a1e0bd3c2f6e8a1 ]---\n"
        "[  50.000006]  this_looks_like_a_frame+0x1/0x2\n"
    )
    oops = only(analyze_log_text(text), "null_pointer")
    assert oops.facts.call_trace == ["tcp_v4_rcv"]
    assert oops.facts.rip_function == "tcp_v4_rcv"


def test_the_streamed_reader_of_analyze_log_keeps_frames_across_its_chunks() -> None:
    whole = only(analyze_log_text(NEW_SOFT_LOCKUP, source="f"), "soft_lockup")
    for chunk in (7, 64, 300):
        stream = analyze_log._Stream(
            io.BytesIO(NEW_SOFT_LOCKUP.encode()), "utf-8", "f", windows=False, chunk=chunk
        )
        streamed = only(analyze_log_lines(stream), "soft_lockup")
        assert streamed.facts.call_trace == whole.facts.call_trace, chunk


def _lockup_at(nvme_addr: str, cpu: int, top: str) -> list[str]:
    t = PREV + timedelta(hours=3)
    return [
        line(t, f"kernel: watchdog: BUG: soft lockup - CPU#{cpu} stuck for 22s! [fio:{cpu}00]"),
        line(t, f"kernel: CPU: {cpu} PID: {cpu}00 Comm: fio Not tainted 5.10.134-16.3.al8 #1"),
        line(t, "kernel: Call Trace:"),
        line(t, f"kernel:  {top}+0x{nvme_addr}/0x1b0 [nvme]"),
        line(t, "kernel:  blk_mq_poll+0x6a/0x90"),
        line(t, "kernel:  io_uring_enter+0x2f1/0x4a0"),
        line(t, "kernel: Kernel panic - not syncing: softlockup: hung tasks"),
        line(BOOT + timedelta(seconds=15), "kernel: Linux version 5.10.134-16.3.al8.x86_64 #1"),
    ]


def test_crashes_without_a_dump_group_by_their_stack() -> None:
    def key(syslog: list[str]) -> tuple[str, tuple[str, ...]]:
        g = guest(syslog=syslog)
        sig = signature_of(conclude(g), events=None, guest=g, triage=triage_dumps(g), api_calls=[])
        return sig.key, sig.frames

    a, frames = key(_lockup_at("6c", 2, "nvme_poll_cq"))
    b, _ = key(_lockup_at("7f", 11, "nvme_poll_cq"))  # another CPU and offset: the same bug
    c, _ = key(_lockup_at("6c", 2, "nvme_irq_check"))  # another stack
    assert frames == ("nvme_poll_cq [nvme]", "blk_mq_poll", "io_uring_enter")
    assert a == b
    assert a != c


KASAN = """\
[  112.114480] BUG: KASAN: use-after-free in ext4_xattr_set_entry+0x1c4/0x1350
[  112.114601] Read of size 4 at addr ffff88806a3c1f18 by task kworker/0:2/1234
[  112.114733] CPU: 0 PID: 1234 Comm: kworker/0:2 Not tainted 5.10.134 #1
[  112.114890] Call Trace:
[  112.114950]  dump_stack+0x107/0x163
[  112.115010]  print_address_description.constprop.0+0x1c/0x210
[  112.115100]  kasan_report.cold+0x1f/0x37
[  112.115150]  ext4_xattr_set_entry+0x1c4/0x1350
[  112.115200]  ext4_xattr_ibody_set+0x78/0x2b0
[  112.115400] Kernel panic - not syncing: panic_on_warn set ...
"""

ATOMIC = """\
[   77.100000] BUG: scheduling while atomic: swapper/2/0/0x00000100
[   77.100002] CPU: 2 PID: 0 Comm: swapper/2 Tainted: G        W  4.19.91 #1
[   77.100003] Call Trace:
[   77.100004]  dump_stack+0x66/0x81
[   77.100005]  __schedule_bug+0x4c/0x60
[   77.100006]  __schedule+0x5c4/0x6e0
[   77.100007]  schedule+0x32/0x80
[   77.100008]  mlx5_cmd_exec+0x1a2/0x300 [mlx5_core]
[   77.100009] Kernel panic - not syncing: scheduling while atomic
"""


def test_a_sanitizer_report_names_the_function_and_its_own_frames_are_left_out() -> None:
    bug = only(analyze_log_text(KASAN), "kernel_bug")
    assert bug.facts.rip_function == "ext4_xattr_set_entry"
    assert bug.facts.call_trace == ["ext4_xattr_set_entry", "ext4_xattr_ibody_set"]


def test_scheduling_while_atomic_is_put_down_to_the_caller_past_the_scheduler() -> None:
    bug = only(analyze_log_text(ATOMIC), "kernel_bug")
    assert (bug.facts.rip_function, bug.facts.rip_module) == ("mlx5_cmd_exec", "mlx5_core")


def test_a_report_without_its_trace_does_not_take_the_next_reports() -> None:
    text = (
        "[  600.000001] INFO: task jbd2/vda3-8:512 blocked for more than 120 seconds.\n"
        "[  600.000002]       Not tainted 5.10.134-16.al8.x86_64 #1\n"
        "[  640.000001] watchdog: BUG: soft lockup - CPU#2 stuck for 22s! [java:31337]\n"
        "[  640.000002] Call Trace:\n"
        "[  640.000003]  _raw_spin_lock+0x1a/0x20\n"
        "[  640.000004]  ext4_es_lookup_extent+0x45/0x200 [ext4]\n"
    )
    findings = analyze_log_text(text)
    assert only(findings, "hung_task").facts.call_trace == []
    assert only(findings, "soft_lockup").facts.call_trace == [
        "_raw_spin_lock",
        "ext4_es_lookup_extent [ext4]",
    ]
