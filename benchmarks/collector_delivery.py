"""How big each delivery form of each collector is, against the documented CommandContent limits.

RunCommand counts the Base64 form of ``CommandContent`` plus the custom parameters; versions of
the API reference give 16 KB, 18 KB and 24 KB. For both collectors this prints the readable
script (``plain``) and the packed stub (``packed``: the stub with the script as gzip + Base64),
raw, in Base64, and in Base64 with the parameters of a run, then the room left (or the excess)
under each limit. The packed payload alone is shown too (gzip, and its Base64 in the stub).

Target: the packed Linux form leaves at least half of 16 KB free (<= 8192 bytes).

    python benchmarks/collector_delivery.py
"""

from __future__ import annotations

import base64
import gzip

from ecs_reboot_diagnosis.collectors import collector_parameters, load_collector, new_nonce
from ecs_reboot_diagnosis.collectors.delivery import (
    DOCUMENTED_CONTENT_LIMITS,
    content_size,
    packed_command,
    packed_script,
    plain_command,
)
from ecs_reboot_diagnosis.models import OsType

TARGET = 8192


def main() -> None:
    parameters = collector_parameters(new_nonce())
    limits = "".join(f"{f'<= {limit // 1024} KB':>12}" for limit in DOCUMENTED_CONTENT_LIMITS)
    print(f"{'collector':<10}{'form':<8}{'raw':>8}{'Base64':>8}{'+params':>9}{limits}")
    os_types: tuple[OsType, ...] = ("linux", "windows")
    for os_type in os_types:
        collector = load_collector(os_type)
        for form in (plain_command(collector), packed_command(collector)):
            raw = len(form.content.encode())
            b64 = len(base64.b64encode(form.content.encode()))
            total = content_size(form.content, parameters)
            room = "".join(f"{limit - total:>+12,}" for limit in DOCUMENTED_CONTENT_LIMITS)
            print(f"{os_type:<10}{form.delivery:<8}{raw:>8,}{b64:>8,}{total:>9,}{room}")
    print()
    for os_type in os_types:
        script = packed_script(load_collector(os_type)).encode()
        zipped = gzip.compress(script, compresslevel=9, mtime=0)
        print(
            f"{os_type} packed script: {len(script):,} bytes, gzip -9 {len(zipped):,}, "
            f"Base64 {len(base64.b64encode(zipped)):,}"
        )
    linux = content_size(packed_command(load_collector("linux")).content, parameters)
    verdict = "met" if linux <= TARGET else f"NOT met ({linux - TARGET:,} bytes over)"
    print(f"\ntarget: packed linux <= {TARGET:,} bytes with parameters: {linux:,}, {verdict}")


if __name__ == "__main__":
    main()
