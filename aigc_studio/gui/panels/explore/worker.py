"""Background rendering for the latent explorer: "latest request wins".

A slider emits dozens of values a second; a render takes milliseconds to tens of
milliseconds. If every value queued a render, dragging would build a backlog and the image
would trail the hand by seconds. So the worker keeps a *single slot* per kind of job: a new
request replaces the one still waiting (which is counted as dropped), and the worker thread
always renders the newest thing asked for (the StyleGAN3-visualizer shape).

The worker is a :class:`~aigc_studio.gui.threading.LoopWorker`: its loop sleeps on a
``threading.Condition`` between jobs; submitting is a lock, an assignment and a notify, so
the GUI thread never waits on the model. PyTorch and the engine's explorer are imported
inside the thread, never at import time of this module (the window paints before torch
loads). Signals carry numpy arrays and plain dataclasses only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Signal

from aigc_studio.errors import Cancelled
from aigc_studio.gui.model_info import ModelInfo, model_info
from aigc_studio.gui.panels.explore.epochs import saved_epochs
from aigc_studio.gui.panels.explore.sampling import TrajectoryRequest, sampling_info
from aigc_studio.gui.threading import LoopWorker, user_message

if TYPE_CHECKING:  # pragma: no cover - typing only; torch stays unloaded at import time
    from aigc_studio.engine.explore import Explorer, RenderRequest
    from aigc_studio.engine.latent_map import LatentMap

log = logging.getLogger(__name__)

PCA_COMPONENTS = 8
PCA_SAMPLES = 600  # enough for stable leading directions; the SVD stays well under a second


@dataclass(frozen=True)
class FramesRequest:
    """An interpolation walk from seed A to seed B."""

    seed_a: int
    seed_b: int
    steps: int
    spherical: bool = True
    serial: int = 0
    class_index: int | None = None  # every frame of this class (a conditional model)
    sampler: tuple[tuple[str, Any], ...] = ()  # the family's sampling options, as in a render


@dataclass(frozen=True)
class CompareRequest:
    """The same ``count`` latents (from ``seed``) rendered by the saved ``epochs``, in that
    order (empty: every saved epoch, newest first)."""

    seed: int = 0
    count: int = 8
    serial: int = 0
    epochs: tuple[int, ...] = ()


@dataclass(frozen=True)
class MapRequest:
    """Build the latent map: ``limit`` data-set images encoded, a ``grid`` x ``grid`` manifold."""

    limit: int
    grid: int
    serial: int = 0


@dataclass(frozen=True)
class MapPointRequest:
    """Decode one map point (a click or a drag); with ``path``, where a dropped image lands."""

    x: float = 0.0
    y: float = 0.0
    path: Path | None = None
    serial: int = 0


@dataclass(frozen=True)
class MapResult:
    """What the map view draws (plain arrays: the model stays in the worker thread)."""

    coords: np.ndarray  # float32 (N, 2)
    labels: np.ndarray  # int64 (N,)
    class_names: tuple[str, ...]  # () when the data set is unlabelled
    extent: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max
    axis_names: tuple[str, str]
    note: str  # the principal-directions sentence ("" for a 2-D latent space)
    dataset: str
    grid: int
    manifold: np.ndarray  # uint8 (grid*S, grid*S, 3), row 0 at the top of the range
    thumbnails: np.ndarray  # uint8 (N, S, S, 3): the encoded images themselves


class RenderWorker(LoopWorker):
    """Owns the engine ``Explorer`` in its own thread and renders the newest request only.

    Jobs, in priority order: load a model, render an image, render an interpolation walk,
    compute the principal directions, one epoch of an epoch comparison. Each kind has one
    slot, so at most one of each is ever waiting.
    """

    model_loaded = Signal(object)  # ModelInfo
    load_failed = Signal(str)
    rendered = Signal(int, object)  # serial, uint8 (H, W, 3)
    render_failed = Signal(int, str)  # serial, message
    frames_ready = Signal(int, object)  # serial, uint8 (N, H, W, 3)
    directions_ready = Signal(object, object)  # float32 (k, latent_dim) unit rows, (k,) stds
    compare_row = Signal(int, int, object)  # serial, epoch, uint8 (H, W*count, 3)
    compare_finished = Signal(int, int, str)  # serial, rows, message ("" when all went well)
    sampling_ready = Signal(object)  # SamplingInfo, just before model_loaded
    progress = Signal(str, int, int, int)  # job kind, serial, step, steps (a sampler's steps)
    trajectory_ready = Signal(int, object)  # serial, uint8 (steps + 1, H, W, 3)
    map_progress = Signal(int, str)  # serial, what the map build is doing now
    map_ready = Signal(int, object)  # serial, MapResult
    map_failed = Signal(int, str)  # serial, message ("" when cancelled)
    map_point_ready = Signal(int, float, float, object)  # serial, x, y, uint8 (H, W, 3)
    map_located = Signal(int, float, float, object)  # serial, x, y, Reconstruction
    map_job_failed = Signal(str)  # a point, a dropped image or a save went wrong
    map_saved = Signal(object)  # Path of the PNG written

    def __init__(self) -> None:
        super().__init__("aigc-render")
        self._load: Path | None = None
        self._render: RenderRequest | None = None
        self._frames: FramesRequest | None = None
        self._compare: CompareRequest | None = None
        self._compare_steps: Iterator[None] | None = None
        self._trajectory: TrajectoryRequest | None = None
        self._want_directions = False
        self._map: MapRequest | None = None
        self._map_cancel = False  # the map build under way stops at its next phase
        self._map_point: MapPointRequest | None = None
        self._map_locate: MapPointRequest | None = None
        self._map_save: tuple[Path, int, tuple[tuple[float, float], ...]] | None = None
        self._latent_map: LatentMap | None = None
        self._map_limit = 0
        self._explorer: Explorer | None = None
        self._info: ModelInfo | None = None
        # counters (read from the GUI thread; ints are updated under the condition's lock)
        self.requests_received = 0
        self.rendered_count = 0
        self.dropped_count = 0
        self.frames_rendered = 0
        self.cancelled_count = 0  # sampler runs stopped for a newer request
        self.last_render_ms = 0.0

    # --- GUI-thread side -------------------------------------------------------------------
    def load(self, path: Path) -> None:
        """Load a model (replacing any waiting load); cancels a running epoch comparison."""
        with self._cond:
            self._load = Path(path)
            self._compare = None
            self._map = self._map_point = self._map_locate = self._map_save = None
            self._trajectory = None
            self._compare_steps = None
            self._cond.notify_all()

    def submit(self, request: RenderRequest) -> None:
        """Queue a render; a render still waiting is replaced (and counted as dropped)."""
        with self._cond:
            self.requests_received += 1
            if self._render is not None:
                self.dropped_count += 1
            self._render = request
            self._cond.notify_all()

    def submit_frames(self, request: FramesRequest) -> None:
        """Queue an interpolation walk (latest wins)."""
        with self._cond:
            self._frames = request
            self._cond.notify_all()

    def submit_trajectory(self, request: TrajectoryRequest) -> None:
        """Queue a denoising path (latest wins; a running one is cancelled)."""
        with self._cond:
            self._trajectory = request
            self._cond.notify_all()

    def submit_compare(self, request: CompareRequest) -> None:
        """Start an epoch comparison, replacing one waiting or under way."""
        with self._cond:
            self._compare = request
            self._compare_steps = None
            self._cond.notify_all()

    def request_directions(self) -> None:
        """Compute the principal directions of the loaded GAN (once per model)."""
        with self._cond:
            self._want_directions = True
            self._cond.notify_all()

    def submit_map(self, request: MapRequest) -> None:
        """Build the latent map of the loaded model; a build under way stops (latest wins)."""
        with self._cond:
            self._map, self._map_cancel = request, True
            self._cond.notify_all()

    def cancel_map(self) -> None:
        """Drop the waiting map build and stop the one under way at its next phase."""
        with self._cond:
            self._map, self._map_cancel = None, True

    def submit_map_point(self, request: MapPointRequest) -> None:
        """Decode a map point (a drag sends many: only the newest is decoded)."""
        slot = "_map_locate" if request.path is not None else "_map_point"
        with self._cond:
            setattr(self, slot, request)
            self._cond.notify_all()

    def save_map(self, path: Path, grid: int, markers: tuple[tuple[float, float], ...]) -> None:
        """Write the map PNG ``aigc-studio map`` writes, with provenance, to ``path``."""
        with self._cond:
            self._map_save = (Path(path), grid, markers)
            self._cond.notify_all()

    def pending(self) -> int:
        """Jobs waiting (for tests and the status line)."""
        with self._cond:
            return sum(x is not None for x in (self._load, self._render, self._frames,
                                               self._trajectory, self._compare,
                                               self._compare_steps))

    # --- worker-thread side ----------------------------------------------------------------
    def _next_job(self) -> Any:
        if self._load is not None:
            job, self._load = ("load", self._load), None
            return job
        if self._render is not None:
            job, self._render = ("render", self._render), None
            return job
        if self._frames is not None:
            job, self._frames = ("frames", self._frames), None
            return job
        if self._trajectory is not None:
            job, self._trajectory = ("trajectory", self._trajectory), None
            return job
        if self._want_directions:
            self._want_directions = False
            return ("directions", None)
        for slot in ("_map_point", "_map_locate", "_map_save", "_map"):
            if getattr(self, slot) is not None:
                job = (slot.removeprefix("_"), getattr(self, slot))
                setattr(self, slot, None)
                if slot == "_map":
                    self._map_cancel = False
                return job
        if self._compare is not None:
            request, self._compare = self._compare, None
            self._compare_steps = self._compare_iter(request)
        if self._compare_steps is not None:
            return ("compare", self._compare_steps)
        return None

    def _do(self, job: tuple[str, Any]) -> None:
        kind, payload = job
        if kind == "load":
            self._do_load(payload)
        elif kind == "render":
            self._do_render(payload)
        elif kind == "frames":
            self._do_frames(payload)
        elif kind == "trajectory":
            self._do_trajectory(payload)
        elif kind == "directions":
            self._do_directions()
        elif kind == "compare":
            self._do_compare_step(payload)
        elif kind.startswith("map"):
            self._do_map_job(kind, payload)

    def _do_load(self, path: Path) -> None:
        try:
            from aigc_studio.engine.explore import Explorer
            from aigc_studio.engine.inference import load_model

            model = load_model(path)
            info = model_info(path, model)
            sampling = sampling_info(path, model)
        except Exception as exc:
            self._explorer, self._info, self._latent_map = None, None, None
            self.load_failed.emit(user_message(exc))
            return
        self._explorer, self._info, self._latent_map = Explorer(model), info, None
        self.sampling_ready.emit(sampling)
        self.model_loaded.emit(info)

    def _do_render(self, request: RenderRequest) -> None:
        if self._explorer is None:
            with self._cond:
                self.dropped_count += 1
            return
        start = time.perf_counter()
        try:
            image = np.ascontiguousarray(self._explorer.render(
                request, **self._hooks("render", request.serial, lambda: self._render)))
        except Cancelled:
            return
        except Exception as exc:
            self.render_failed.emit(request.serial, user_message(exc))
            return
        self.last_render_ms = (time.perf_counter() - start) * 1000.0
        with self._cond:
            self.rendered_count += 1
        self.rendered.emit(request.serial, image)

    def _do_frames(self, request: FramesRequest) -> None:
        if self._explorer is None:
            return
        try:
            frames = self._explorer.interpolation(
                request.seed_a, request.seed_b, max(2, request.steps),
                spherical=request.spherical, class_index=request.class_index,
                **dict(request.sampler),
                **self._hooks("frames", request.serial, lambda: self._frames))
        except Cancelled:
            return
        except Exception as exc:
            self.render_failed.emit(request.serial, user_message(exc))
            return
        self.frames_rendered += 1
        self.frames_ready.emit(request.serial, np.ascontiguousarray(frames))

    def _do_trajectory(self, request: TrajectoryRequest) -> None:
        if self._explorer is None:
            return
        from aigc_studio.engine.inference import trajectory

        try:
            frames = trajectory(self._explorer.model, request.seed, request.class_index,
                                points=request.steps + 1, **dict(request.sampler),
                                **self._hooks("trajectory", request.serial,
                                              lambda: self._trajectory))
        except Cancelled:
            return
        except Exception as exc:
            self.render_failed.emit(request.serial, user_message(exc))
            return
        self.trajectory_ready.emit(request.serial, np.ascontiguousarray(frames))

    def _hooks(self, kind: str, serial: int, waiting: Callable[[], object]
               ) -> dict[str, Callable[..., Any]]:
        """``on_step`` / ``cancel`` for a sampler run: progress goes out as a signal, and a
        newer job of the same kind (``waiting()`` not None), a new model or a stop cancels."""
        def cancel() -> bool:
            if waiting() is None and self._load is None and not self._stopping:
                return False
            with self._cond:
                self.cancelled_count += 1
            return True

        def on_step(step: int, steps: int) -> None:
            self.progress.emit(kind, serial, step, steps)

        return {"on_step": on_step, "cancel": cancel}

    def _do_directions(self) -> None:
        explorer = self._explorer
        if explorer is None or not explorer.model.capabilities.principal_directions:
            return
        try:
            directions, scales = explorer.directions(k=PCA_COMPONENTS, samples=PCA_SAMPLES)
        except Exception as exc:
            log.warning("principal directions failed: %s", exc)
            return
        if explorer is self._explorer:  # still the same model
            self.directions_ready.emit(np.array(directions, copy=True),
                                       np.array(scales, copy=True))

    def _do_compare_step(self, steps: Iterator[None]) -> None:
        try:
            next(steps)
        except StopIteration:
            with self._cond:
                if self._compare_steps is steps:
                    self._compare_steps = None

    def _compare_iter(self, request: CompareRequest) -> Iterator[None]:
        """One epoch per step, so renders and a stop interleave with a long comparison.

        Each row is ``engine.epoch_compare.epoch_strip``, the function the engine's
        ``compare_epochs`` renders every epoch with.
        """
        info = self._info
        if info is None or info.run_dir is None:
            self.compare_finished.emit(request.serial, 0, "This model file is not inside a run "
                                       "folder, so there are no saved epochs to compare.")
            return
        saved = saved_epochs(info.run_dir)
        files = [saved[e] for e in request.epochs or sorted(saved, reverse=True) if e in saved]
        if not files:
            self.compare_finished.emit(request.serial, 0, "This run has no saved epochs yet.")
            return
        yield
        from aigc_studio.engine.epoch_compare import epoch_strip

        rows, problems = 0, []
        for file in files:
            try:
                epoch, strip = epoch_strip(file, request.seed, request.count)
            except Exception as exc:
                problems.append(f"{file.name}: {user_message(exc)}")
            else:
                rows += 1
                self.compare_row.emit(request.serial, epoch, strip)
            yield
        message = ""
        if problems:
            message = f"{len(problems)} epoch file(s) could not be used. {problems[0]}"
        self.compare_finished.emit(request.serial, rows, message)

    def _do_map_job(self, kind: str, payload: Any) -> None:
        """The latent-map jobs: build, decode a point, locate a dropped image, save the PNG."""
        if kind == "map":
            self._do_map_build(payload)
            return
        lmap = self._latent_map
        try:
            if lmap is None:
                raise RuntimeError("The map is not built yet; wait for it, then try again.")
            if kind == "map_point":
                image = lmap.decode_point(payload.x, payload.y)
                self.map_point_ready.emit(payload.serial, payload.x, payload.y, image)
            elif kind == "map_locate":
                from aigc_studio.engine.inference import reconstruct

                x, y = lmap.locate_file(payload.path)
                done, failed = reconstruct(lmap.model, [payload.path])
                if failed:
                    raise RuntimeError(failed[0][1])
                self.map_located.emit(payload.serial, x, y, done[0])
            else:
                from aigc_studio.engine.latent_map import render_map_png
                from aigc_studio.engine.provenance import for_model

                path, grid, markers = payload
                stamp = for_model(lmap.model, kind="latent-map", grid=grid, limit=self._map_limit)
                self.map_saved.emit(render_map_png(lmap, path, grid, markers, stamp))
        except Exception as exc:
            self.map_job_failed.emit(user_message(exc))

    def _do_map_build(self, request: MapRequest) -> None:
        """Encode, then decode the grid; a cancel or a newer build stops between the two."""
        explorer = self._explorer
        if explorer is None:
            self.map_failed.emit(request.serial, "Open a model that encodes images first.")
            return
        from aigc_studio.core.grid import make_grid
        from aigc_studio.engine.latent_map import build_latent_map

        try:
            self.map_progress.emit(request.serial, f"Encoding up to {request.limit} images of "
                                   f"{Path(str(explorer.model.config.dataset)).name}…")
            lmap = build_latent_map(explorer.model, limit=request.limit)
            if self._map_cancel:
                self.map_failed.emit(request.serial, "")
                return
            self.map_progress.emit(request.serial, f"Decoding the {request.grid} × "
                                   f"{request.grid} grid…")
            manifold = make_grid(lmap.decoded_grid(request.grid), ncols=request.grid, pad=0)
        except Exception as exc:
            self.map_failed.emit(request.serial, user_message(exc))
            return
        if self._map_cancel:
            self.map_failed.emit(request.serial, "")
            return
        self._latent_map, self._map_limit = lmap, request.limit
        self.map_ready.emit(request.serial, MapResult(
            lmap.coords, lmap.labels, lmap.class_names, lmap.extent, lmap.axis_names, lmap.note,
            lmap.dataset, request.grid, np.ascontiguousarray(manifold), lmap.thumbnails))

    def _release(self) -> None:
        self._explorer = None
        self._latent_map = None
        self._compare_steps = None
