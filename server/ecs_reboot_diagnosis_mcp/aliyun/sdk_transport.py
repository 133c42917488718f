"""How SDK calls reach the network: the SDK's own pooled (keep-alive) transport, on worker threads.

The seam, and why it is this one (alibabacloud-tea-openapi 0.4, darabonba-core 1.0):

- Every ``*_async`` method of an SDK client (ECS, CloudMonitor, ActionTrail) ends in
  ``DaraCore.async_do_action``, which on *every* call builds an ``ssl.SSLContext``, loads the
  certifi bundle into it, opens a new ``aiohttp.ClientSession`` with a new connector, makes a TCP
  connection and a TLS handshake, and closes it all when the answer is read. Over HTTPS that is
  tens of milliseconds of CPU per call and no connection reuse. It takes no session, connector
  or context from outside: there is no supported way to give it one.
- Every synchronous method (``describe_instances``, ``describe_metric_list``, ...) ends in
  ``DaraCore.do_action``, which keeps one ``requests.Session`` per ``scheme://host:port`` and pool
  size (``DaraCore._get_session``) for the life of the process: HTTP keep-alive, a urllib3 pool
  of up to ``Config.max_idle_conns`` connections, and one ``SSLContext`` per session, made once
  (darabonba's ``_TLSAdapter``). The CA to trust comes from ``Config.ca`` as on the async path;
  urllib3 loads that file into the session's context for each *new* connection, which
  keep-alive makes rare. A CA so loaded stays trusted by that session (one per endpoint and
  process): the product sets one CA bundle per process, so that is its configuration anyway.

So the gateways call the SDK's public synchronous methods, configured only through ``Config``
(``ca``, ``max_idle_conns``), and run them on one process-wide thread pool so that the event
loop never blocks. Nothing in the SDK is patched or subclassed. The pool has as many workers as
each session keeps connections (``POOL_SIZE``): no more requests are in flight to one endpoint
than it has pooled connections, so a connection is never opened only to be discarded.

Work that needs an SDK module that may not be imported yet (building the client, building the
request model) also runs on the worker, so that loading an SDK (CloudMonitor's models take about
0.1 s) never stalls the event loop and the other calls of a diagnosis.

A call cancelled by its caller stops being awaited at once; the request already on the wire
finishes on its worker (bounded by the read timeout) and its answer is dropped.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

POOL_SIZE = 64
"""Connections kept open per endpoint, and worker threads running SDK calls (one process-wide
pool of workers shared by every endpoint). 50 concurrent calls fit in one round trip."""

T = TypeVar("T")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _workers() -> ThreadPoolExecutor:
    """The process's worker pool, made on first use (threads start as calls need them)."""
    global _executor
    if _executor is None:
        with _lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(
                    max_workers=POOL_SIZE, thread_name_prefix="aliyun-sdk"
                )
    return _executor


async def run_blocking(work: Callable[[], T]) -> T:
    """Run ``work`` (a synchronous SDK call and whatever it needs) on a worker thread."""
    return await asyncio.get_running_loop().run_in_executor(_workers(), work)
