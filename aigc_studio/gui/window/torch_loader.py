"""Importing PyTorch after the window has painted (tasks for :class:`gui.threading.TaskRunner`)."""

from __future__ import annotations

import gc
import logging

from aigc_studio.errors import AigcError

log = logging.getLogger(__name__)


def load_torch() -> tuple[list[str], str]:
    """Import torch and the trainer (2 s or more) off the GUI thread: (devices, version)."""
    try:
        import torch

        import aigc_studio.engine.trainer  # noqa: F401 - warm the import for the worker
        from aigc_studio.core.device import available_devices

        devices = list(available_devices())
        gpu_count()  # the first CUDA query can take a while: here, not on the GUI thread
    except Exception as exc:
        log.exception("loading PyTorch failed")
        raise AigcError(f"PyTorch could not be loaded: {exc}") from exc
    # Full garbage collections walk every object alive; after torch's import that takes
    # 130-170 ms with the GIL held, which froze the window. Frozen objects are skipped (they
    # live as long as the process anyway).
    gc.freeze()
    return devices, str(torch.__version__)


def gpu_count() -> int:
    """CUDA GPUs on this computer (after :func:`load_torch`): one training process each."""
    import torch

    return torch.cuda.device_count()  # cached after the first call (in load_torch)


def warm_imports() -> None:
    """Import what the first training start would (``torch._dynamo``, ~2 s) in advance.

    ``torch.optim`` imports it on the first optimiser; in the training thread that delayed the
    first step and, through the garbage collections it triggers, stalled the window. Run once
    the window is ready, while the user is still choosing settings.
    """
    try:
        import torch._dynamo  # noqa: F401 - the warm-up itself

        gc.freeze()  # what the import created lives on: keep it out of full collections
    except Exception:  # only a warm-up: the optimiser imports it again if it must
        log.warning("warming torch._dynamo failed", exc_info=True)
