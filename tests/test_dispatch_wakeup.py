"""An advisor's SMS goes out at once: pages wake the dispatcher job of `relais serve`."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot import clock
from bot.runtime import DispatchWakeup, Runtime
from bot.scheduler import start_scheduler


def test_waking_calls_every_registered_dispatcher_and_survives_a_failing_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    wakeup, calls = DispatchWakeup(), []

    def broken() -> None:
        raise RuntimeError("scheduler stopped")

    wakeup.on_wake(broken)
    wakeup.on_wake(lambda: calls.append(1))
    wakeup.wake()
    wakeup.wake()
    assert calls == [1, 1]
    assert "could not wake the dispatcher" in caplog.text


def test_waking_brings_the_scheduled_dispatcher_pass_forward(runtime: Runtime) -> None:
    scheduler = start_scheduler(runtime)
    try:
        scheduler.pause()  # the pass must not actually run during the test
        job = scheduler.get_job("dispatch_outbox")
        assert job is not None
        job.modify(next_run_time=datetime.now(clock.PARIS) + timedelta(hours=1))
        runtime.wakeup.wake()
        job = scheduler.get_job("dispatch_outbox")
        assert job is not None
        assert job.next_run_time - datetime.now(clock.PARIS) < timedelta(seconds=5)
    finally:
        scheduler.shutdown(wait=False)
