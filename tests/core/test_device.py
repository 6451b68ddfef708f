"""Device choice and CPU thread counts."""

from __future__ import annotations

import threading

import pytest
import torch

from aigc_studio.core.device import (
    _cpu_list,
    resolve_device,
    training_threads,
    use_one_thread,
    use_training_threads,
)
from aigc_studio.errors import AigcError


def test_cpu_lists_parse() -> None:
    assert _cpu_list("0-3,8\n") == [0, 1, 2, 3, 8]
    assert _cpu_list("5") == [5]


def test_training_threads_honour_omp_num_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    natural = training_threads()
    assert natural >= 1
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert training_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "lots")  # unreadable: ignored
    assert training_threads() == natural


def test_thread_counts_belong_to_the_thread_that_sets_them() -> None:
    """A side thread drops to one intra-op thread; a training thread takes its cores."""
    seen: dict[str, int] = {}

    def side() -> None:
        use_one_thread()
        seen["side"] = torch.get_num_threads()

    def trainer() -> None:
        seen["trainer"] = use_training_threads()
        seen["trainer_now"] = torch.get_num_threads()

    for target in (side, trainer):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    assert seen["side"] == 1
    assert seen["trainer"] == seen["trainer_now"] == training_threads()


def test_missing_devices_are_clear_errors() -> None:
    if not torch.cuda.is_available():
        with pytest.raises(AigcError, match="finds no CUDA GPU"):
            resolve_device("cuda")
    assert resolve_device("cpu").type == "cpu"
