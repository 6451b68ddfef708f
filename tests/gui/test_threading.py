"""The window's worker abstraction: results and errors as data, cooperative cancellation."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

from aigc_studio.errors import DataError
from aigc_studio.gui.threading import Outcome, TaskRunner, user_message


def test_a_task_returns_its_value_off_the_gui_thread(qtbot) -> None:
    runner = TaskRunner()
    with qtbot.waitSignal(runner.finished, timeout=10_000) as done:
        runner.start(lambda x: (x * 2, threading.current_thread().name), 21)
    outcome: Outcome = done.args[0]
    assert outcome.ok and outcome.value[0] == 42
    assert outcome.value[1] != threading.main_thread().name
    assert runner.join(1000) and not runner.is_running()


def test_errors_come_back_as_the_users_sentence(qtbot) -> None:
    runner = TaskRunner()

    def fails() -> None:
        raise DataError("The folder has no images.")

    with qtbot.waitSignal(runner.finished, timeout=10_000) as done:
        runner.start(fails)
    assert done.args[0].error == "The folder has no images."
    assert user_message(RuntimeError("boom")) == "Unexpected error (RuntimeError): boom"
    assert "ran out of memory" in user_message(MemoryError())


def test_cancel_stops_a_generator_between_yields_and_a_new_task_replaces_the_old(qtbot) -> None:
    runner = TaskRunner()
    seen: list[int] = []
    turn = threading.Semaphore(1)  # the task yields again only once the window took the last

    def take(i: int) -> None:
        seen.append(i)
        turn.release()

    runner.yielded.connect(take)

    def count() -> Iterator[int]:
        for i in itertools.count():
            turn.acquire()
            yield i

    runner.start(count)
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=10_000)
    with qtbot.waitSignal(runner.finished, timeout=10_000) as done:
        runner.cancel()
        turn.release()  # a dropped yield must not leave the task waiting for its turn
    assert done.args[0].cancelled
    assert runner.join(10_000)

    outcomes: list[Outcome] = []
    runner.finished.connect(outcomes.append)
    event = threading.Event()

    def polls(cancel: threading.Event) -> str:
        event.set()
        cancel.wait(10)
        return "superseded"

    runner.start(polls)
    assert event.wait(10)
    with qtbot.waitSignal(runner.finished, timeout=10_000):
        runner.start(lambda: "newest")  # cancels the polling task, which reports nothing
    assert runner.join(10_000)
    assert [o.value for o in outcomes] == ["newest"]
