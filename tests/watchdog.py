"""Stops a server when the test run that started it dies: `python watchdog.py OWNER_PID SERVER_PID`.

The llama.cpp peers are started detached (their start script returns once they answer), so they
outlive a pytest process that is killed or crashes in native code unless something stops them.
This runs in its own session, polls the owner, and when the owner is gone sends the server SIGTERM,
then SIGKILL if it is still there after a few seconds. It exits on its own once the server is gone.
"""

from __future__ import annotations

import os
import signal
import sys
import time

POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    give_up = time.monotonic() + GRACE_SECONDS
    while alive(pid) and time.monotonic() < give_up:
        time.sleep(0.1)
    if alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main(owner: int, server: int) -> None:
    while alive(server):
        if not alive(owner):
            stop(server)
            return
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
