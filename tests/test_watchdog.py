"""Peer servers started by the tests are stopped even when the test process dies (tests/watchdog.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

WATCHDOG = Path(__file__).with_name("watchdog.py")
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def _gone(process: subprocess.Popen[bytes], within: float) -> bool:
    try:
        process.wait(timeout=within)
    except subprocess.TimeoutExpired:
        return False
    return True


def test_the_server_is_stopped_when_its_owner_is_killed() -> None:
    owner = subprocess.Popen(SLEEPER)  # stands for a pytest run
    server = subprocess.Popen(SLEEPER, start_new_session=True)  # detached, as the llama.cpp peers are
    watchdog = subprocess.Popen(
        [sys.executable, str(WATCHDOG), str(owner.pid), str(server.pid)], start_new_session=True
    )
    try:
        time.sleep(1.0)
        assert server.poll() is None  # the owner lives: the server is left alone
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        assert _gone(server, within=30), "the server outlived its owner"
        assert server.returncode == -signal.SIGTERM
        assert _gone(watchdog, within=30) and watchdog.returncode == 0
    finally:
        for process in (owner, server, watchdog):
            if process.poll() is None:
                process.kill()
                process.wait()


def test_the_watchdog_ends_with_its_server() -> None:
    server = subprocess.Popen(SLEEPER, start_new_session=True)
    watchdog = subprocess.Popen(
        [sys.executable, str(WATCHDOG), str(os.getpid()), str(server.pid)], start_new_session=True
    )
    try:
        server.kill()
        server.wait()
        assert _gone(watchdog, within=30) and watchdog.returncode == 0
    finally:
        for process in (server, watchdog):
            if process.poll() is None:
                process.kill()
                process.wait()
