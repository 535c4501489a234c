"""A Flink driver's Ctrl-C is a request the watch loop reads, not an exception raised mid-call."""

from __future__ import annotations

import os
import signal
import threading

from flink.runtime import ctrl_c_as_request


def test_ctrl_c_sets_the_request_and_the_previous_handler_comes_back() -> None:
    before = signal.getsignal(signal.SIGINT)
    with ctrl_c_as_request() as requested:
        assert not requested.is_set()
        os.kill(os.getpid(), signal.SIGINT)  # raised KeyboardInterrupt here before
        assert requested.wait(5)
    assert signal.getsignal(signal.SIGINT) is before


def test_outside_the_main_thread_nothing_is_installed() -> None:
    seen = []

    def watch() -> None:
        with ctrl_c_as_request() as requested:
            seen.append((requested.is_set(), signal.getsignal(signal.SIGINT)))

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=watch)
    thread.start()
    thread.join()
    assert seen == [(False, before)]
