"""The training panel: data set, model and optimiser choices, and Start / Pause / Stop."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from aigc_studio import families
from aigc_studio.core.folder_preview import (
    FolderPreview,
    empty_text,
    folder_problem,
    preview_builtin,
    preview_folder,
)
from aigc_studio.engine.config import ConfigError, TrainConfig
from aigc_studio.engine.tensorboard import INSTALL as TENSORBOARD_INSTALL
from aigc_studio.engine.tensorboard import available as tensorboard_available
from aigc_studio.errors import AigcError
from aigc_studio.gui.model_info import with_article
from aigc_studio.gui.panels.training.options import OptionFields
from aigc_studio.gui.threading import Outcome, TaskRunner
from aigc_studio.gui.widgets.qimage import to_pixmap

DATASETS = (
    ("Digits (bundled)", "digits"),
    ("Shapes (generated)", "shapes"),
    ("MNIST", "mnist"),
    ("Fashion-MNIST", "fashion-mnist"),
    ("CIFAR-10 (colour)", "cifar10"),
)
DATASET_TIPS = {
    "digits": "5,000 MNIST digits shipped with the app: works offline, trains fast.",
    "shapes": "Simple generated shapes: works offline, the quickest sanity check.",
    "mnist": "70,000 handwritten digits (torchvision; downloaded once).",
    "fashion-mnist": "70,000 greyscale clothing images (torchvision; downloaded once).",
    "cifar10": "60,000 small colour photos in 10 classes (torchvision; downloaded once).",
}
# training images of each built-in set (before --limit): what a plan's step count is made of
BUILTIN_IMAGES = {"digits": 5_000, "shapes": 5_000, "mnist": 60_000, "fashion-mnist": 60_000,
                  "cifar10": 50_000}
FOLDER_ITEM = "Image folder…"
SETTINGS_KEYS = (
    "model", "dataset", "epochs", "batch_size", "image_size", "latent_dim", "width",
    "lr_g", "lr_d", "beta1", "beta2", "device", "seed", "limit", "fast", "precision",
    "eval_samples", "tensorboard",
)
# the form's fields a family's defaults may set (TrainConfig.defaults_for)
FAMILY_DEFAULT_FIELDS = ("epochs", "batch_size", "latent_dim", "width", "lr_g", "lr_d",
                         "beta1", "beta2", "eval_samples")
PRECISION_LABELS = {"auto": "auto (fastest safe)", "fp32": "fp32", "bf16": "bf16 (mixed)",
                    "fp16": "fp16 (mixed, CUDA)"}


def _spin(low: int, high: int, value: int, tip: str, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setSingleStep(step)
    box.setToolTip(tip)
    box.setAccelerated(True)
    return box


def _dspin(low: float, high: float, value: float, decimals: int, step: float, tip: str
           ) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setValue(value)
    box.setToolTip(tip)
    return box


class TrainingPanel(QWidget):
    """Builds a :class:`TrainConfig` from the form and carries the run buttons."""

    start_clicked = Signal()
    pause_clicked = Signal()
    stop_clicked = Signal()
    apply_lr_clicked = Signal(float, float)  # lr_g, lr_d
    folder_chosen = Signal(object)  # Path
    options_changed = Signal()  # a family option changed (the plots shown may change)
    preset_applied = Signal(str)  # name
    preset_saved = Signal(object)  # Path
    command_copied = Signal(str)  # the command line now on the clipboard

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._preview = TaskRunner(self)
        self._preview.finished.connect(self._on_preview_done)
        self._preview_folder: Path | None = None
        self._builtin_preview_due = False  # a built-in set's preview waits for PyTorch
        self._preview_on_ready = True  # the first ready shows the chosen set's preview
        self._ready = False  # PyTorch has loaded: Start may be enabled
        self._data_problem = ""  # why the chosen data cannot train (Start stays off)
        self._last_index = 0
        self.training = False
        self.external = False  # the run trains in separate processes (no pause, no live LR)

        # --- data ---
        self.dataset = QComboBox()
        for label, value in DATASETS:
            self.dataset.addItem(label, value)
            self.dataset.setItemData(self.dataset.count() - 1, DATASET_TIPS[value],
                                     Qt.ItemDataRole.ToolTipRole)
        self.dataset.addItem(FOLDER_ITEM, None)
        self.dataset.setToolTip(
            "What the model learns from. The bundled sets work offline; the torchvision sets "
            "are downloaded once; or pick a folder of your own images (or drop it on the window)."
        )
        self.dataset.activated.connect(self._on_dataset_activated)
        self.preview_label = QLabel()
        self.preview_label.setWordWrap(True)
        self.preview_label.setObjectName("hint")
        self.preview_row = QHBoxLayout()
        self.preview_row.setSpacing(3)
        self.preview_images: list[QLabel] = []
        for _ in range(8):
            thumb = QLabel()
            thumb.setFixedSize(32, 32)
            thumb.setScaledContents(True)
            thumb.setToolTip("An image as the model will see it: resized, cropped, converted.")
            self.preview_images.append(thumb)
            self.preview_row.addWidget(thumb)
        self.preview_row.addStretch(1)
        self.preview_box = QWidget()
        pv = QVBoxLayout(self.preview_box)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.addLayout(self.preview_row)
        pv.addWidget(self.preview_label)
        self.preview_box.setVisible(False)
        self.limit = _spin(0, 10**9, 0, "Use at most this many images (0: all of them). Small "
                           "numbers make a quick first try.", step=100)
        self.limit.setSpecialValueText("all")

        data_box = QGroupBox("Data")
        data_form = QFormLayout(data_box)
        data_form.addRow("Data set", self.dataset)
        data_form.addRow(self.preview_box)
        data_form.addRow("Images", self.limit)

        # --- model ---
        self.model = QComboBox()
        self.refresh_models()
        self.model.currentIndexChanged.connect(self._on_model_changed)
        self.image_size = QComboBox()
        for size in (32, 64):
            self.image_size.addItem(f"{size} × {size}", size)
        self.image_size.setToolTip("Images are resized and centre-cropped to this size.")
        self.latent_dim = _spin(1, 4096, 100, "Size of the latent vector z (the noise the "
                                "generator starts from, or the code an image is squeezed into).")
        self.width = _spin(4, 1024, 64, "Feature maps of the first/last conv layer (ngf/ndf). "
                           "Smaller trains faster; larger can learn finer detail.", step=8)
        self.options = OptionFields()
        self.options.changed.connect(self._on_options_changed)
        model_box = QGroupBox("Model")
        model_form = QFormLayout(model_box)
        model_form.addRow("Model", self.model)
        model_form.addRow("Image size", self.image_size)
        model_form.addRow("Latent size", self.latent_dim)
        model_form.addRow("Width", self.width)
        model_form.addRow(self.options)

        # --- training ---
        self.epochs = _spin(1, 100_000, 20, "How many passes over the data set.")
        self.batch_size = _spin(2, 65_536, 64, "Images per optimisation step. Lower it if the "
                                "GPU runs out of memory.", step=16)
        self.lr_g = _dspin(0.00001, 1.0, 2e-4, 5, 0.00005, "Adam learning rate of the generator "
                           "(the only one of a one-network model). Can be changed while training.")
        self.lr_d = _dspin(0.00001, 1.0, 2e-4, 5, 0.00005, "Adam learning rate of the "
                           "discriminator. Can be changed while training.")
        self.apply_lr = QPushButton("Apply new learning rates")
        self.apply_lr.setToolTip("Use the learning rates above from the next step on, for this "
                                 "run only (logged in the run and marked on the loss plot).")
        self.apply_lr.setEnabled(False)
        self.apply_lr.clicked.connect(
            lambda: self.apply_lr_clicked.emit(self.lr_g.value(), self.lr_d.value())
        )
        self.beta1 = _dspin(0.0, 0.999, 0.5, 3, 0.05, "Adam beta1 (momentum). DCGAN uses 0.5.")
        self.beta2 = _dspin(0.0, 0.9999, 0.999, 4, 0.001, "Adam beta2. Usually 0.999.")
        self.device = QComboBox()
        self.device.addItem("auto", "auto")
        self.device.setToolTip("Where to train: auto picks a CUDA GPU, then Apple MPS, then the "
                               "CPU. Only devices found on this computer are listed.")
        self.seed = _spin(0, 2**31 - 1, 0, "Random seed: the same seed and settings give the "
                          "same run.")
        self.fast = QCheckBox("Fast path")
        self.fast.setChecked(True)
        self.fast.setToolTip("Mixed precision where the hardware runs it natively, the "
                             "channels_last memory layout and, on a CUDA GPU, the whole step "
                             "captured as one CUDA graph. Switch it off for plain eager fp32 "
                             "(to compare, or to rule it out when something looks wrong).")
        self.precision = QComboBox()
        for name, label in PRECISION_LABELS.items():
            self.precision.addItem(label, name)
        self.precision.setToolTip("auto: bf16 on GPUs and CPUs that run it natively (AVX512-BF16 "
                                  "or AMX), fp16 with loss scaling on older GPUs, fp32 "
                                  "elsewhere. The run's header shows what was used.")
        self.fast.toggled.connect(self.precision.setEnabled)
        self.eval_samples = _spin(0, 100_000, 1000, "Images generated after every epoch to "
                                  "score sample quality (Fréchet distance, precision, recall); "
                                  "0 turns the score off.", step=250)
        self.eval_samples.setSpecialValueText("off")
        self.tensorboard = QCheckBox("Also write TensorBoard logs")
        self.tensorboard.setToolTip("Write event files to the run's tensorboard/ folder as it "
                                    "trains (open them with: tensorboard --logdir RUN).")
        if not tensorboard_available():
            self.tensorboard.setEnabled(False)
            self.tensorboard.setText("TensorBoard logs (not installed)")
            self.tensorboard.setToolTip(f"TensorBoard output needs the tensorboard package; "
                                        f"install it with: {TENSORBOARD_INSTALL}")
        self.processes = _spin(1, 64, 1, "Training processes, one per GPU: the run is started "
                               "as a separate job through torch.distributed (the same as "
                               "aigc-studio train --nproc N) and followed here live. Pause "
                               "and learning-rate changes need a single process.")
        self.processes_label = QLabel("Processes")
        self.processes.valueChanged.connect(self._on_processes_changed)
        self.lr_d_label = QLabel("LR discriminator")
        betas = QHBoxLayout()
        betas.addWidget(self.beta1)
        betas.addWidget(self.beta2)
        train_box = QGroupBox("Training")
        train_form = QFormLayout(train_box)
        train_form.addRow("Epochs", self.epochs)
        train_form.addRow("Batch size", self.batch_size)
        self.lr_g_label = QLabel("LR generator")
        train_form.addRow(self.lr_g_label, self.lr_g)
        train_form.addRow(self.lr_d_label, self.lr_d)
        train_form.addRow("", self.apply_lr)
        train_form.addRow("Adam betas", betas)
        train_form.addRow("Device", self.device)
        train_form.addRow(self.processes_label, self.processes)
        train_form.addRow("Speed", self.fast)
        train_form.addRow("Precision", self.precision)
        train_form.addRow("Seed", self.seed)
        train_form.addRow("Quality check", self.eval_samples)
        train_form.addRow("", self.tensorboard)
        self.train_form = train_form
        self._align_label_columns(data_form, model_form, train_form)

        # --- buttons ---
        self.start_button = QPushButton("Loading PyTorch…")
        self.start_button.setObjectName("primary")
        self.start_button.setEnabled(False)
        self.start_button.setToolTip("Start training with these settings (a new run folder).")
        self.start_button.clicked.connect(self.start_clicked)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setEnabled(False)
        self.pause_button.setToolTip("Pause after the current step; press again to resume "
                                     "(Space).")
        self.pause_button.clicked.connect(self.pause_clicked)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.setToolTip("Stop after the current step and save a checkpoint you can "
                                    "resume later.")
        self.stop_button.clicked.connect(self.stop_clicked)
        self.error_label = QLabel()
        self.error_label.setObjectName("error")
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button, 2)
        buttons.addWidget(self.pause_button, 1)
        buttons.addWidget(self.stop_button, 1)

        # --- presets and the command line ---
        self.preset = QComboBox()
        self.preset.setToolTip("Start from saved settings: a few good ones ship with the app; "
                               "yours are saved with 'Save…' (aigc-studio presets lists them).")
        self.preset.activated.connect(self._on_preset_activated)
        self.save_preset_button = QPushButton("Save…")
        self.save_preset_button.setToolTip("Save the form's settings as a preset under a name.")
        self.save_preset_button.clicked.connect(self._save_preset_dialog)
        preset_row = QHBoxLayout()
        preset_row.addWidget(QLabel("Preset"))
        preset_row.addWidget(self.preset, 1)
        preset_row.addWidget(self.save_preset_button)
        self.copy_command_button = QPushButton("Copy as command")
        self.copy_command_button.setToolTip("Put the aigc-studio train command that trains "
                                            "exactly these settings on the clipboard.")
        self.copy_command_button.clicked.connect(self.copy_command)
        self.reset_button = QPushButton("Reset to defaults")
        self.reset_button.setToolTip("Back to the chosen model's default settings (the data "
                                     "set stays).")
        self.reset_button.clicked.connect(self.reset_to_defaults)
        extra_buttons = QHBoxLayout()
        extra_buttons.addWidget(self.copy_command_button)
        extra_buttons.addWidget(self.reset_button)
        extra_buttons.addStretch(1)

        # the fields scroll; the run buttons stay in view on a small screen
        fields = QWidget()
        fields_layout = QVBoxLayout(fields)
        fields_layout.setContentsMargins(0, 0, 4, 0)
        fields_layout.addLayout(preset_row)
        fields_layout.addWidget(data_box)
        fields_layout.addWidget(model_box)
        fields_layout.addWidget(train_box)
        fields_layout.addLayout(extra_buttons)
        fields_layout.addStretch(1)
        self.fields_scroll = QScrollArea()
        self.fields_scroll.setWidget(fields)
        self.fields_scroll.setWidgetResizable(True)
        self.fields_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.fields_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.plan_label = QLabel()
        self.plan_label.setObjectName("warning")
        self.plan_label.setWordWrap(True)
        self.plan_label.setVisible(False)
        self._folder_images: dict[str, int] = {}  # a scanned folder's usable images

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.fields_scroll, 1)
        layout.addWidget(self.plan_label)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        for combo in (self.dataset, self.model, self.image_size, self.device, self.precision):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(8)
        self._inputs: list[QWidget] = [
            self.dataset, self.limit, self.model, self.image_size, self.latent_dim, self.width,
            self.epochs, self.batch_size, self.beta1, self.beta2, self.device, self.seed,
            self.fast, self.precision, self.eval_samples, self.processes, self.preset,
            self.save_preset_button, self.reset_button,
        ]
        # what the model and its options prefer (TrainConfig.defaults_for) as the fields last
        # followed it; None until the first model is shown
        self._preferred: TrainConfig | None = None
        self._following = True  # False while set_config shows a saved config as it is
        self._run_config: TrainConfig | None = None  # what the running run started with
        self._on_model_changed()
        self.set_process_limit(1)
        self.refresh_presets()
        for box in (self.limit, self.epochs, self.batch_size, self.processes):
            box.valueChanged.connect(self.update_plan_note)
        self.dataset.currentIndexChanged.connect(self.update_plan_note)
        self.model.currentIndexChanged.connect(self.update_plan_note)
        self.update_plan_note()

    # --- config ----------------------------------------------------------------------------
    def dataset_value(self) -> str | None:
        """The data set name or image-folder path selected (None: nothing chosen yet)."""
        return self.dataset.currentData()

    def config(self) -> TrainConfig:
        """The form as a validated :class:`TrainConfig` (raises ConfigError)."""
        dataset = self.dataset_value()
        if not dataset:
            raise ConfigError("Choose a data set or an image folder first.")
        problem = folder_problem(Path(dataset)) if self._is_folder(dataset) else ""
        if problem:  # deleted since it was picked: the window's sentence, not the CLI's
            raise ConfigError(problem)
        # a field the form lacks keeps the model's own default (what the CLI would train)
        cfg = TrainConfig.defaults_for(self.model.currentData())
        values = {
            "dataset": dataset, "epochs": self.epochs.value(),
            "batch_size": self.batch_size.value(),
            "image_size": int(self.image_size.currentData()),
            "latent_dim": self.latent_dim.value(), "width": self.width.value(),
            "lr_g": self.lr_g.value(), "lr_d": self.lr_d.value(),
            "beta1": self.beta1.value(), "beta2": self.beta2.value(),
            "device": self.device.currentData() or "auto", "seed": self.seed.value(),
            "limit": self.limit.value(), "fast": self.fast.isChecked(),
            "precision": self.precision.currentData() or "auto",
            "eval_samples": self.eval_samples.value(),
            "tensorboard": self.tensorboard.isChecked(), "extras": self.options.values(),
        }
        for name, value in values.items():
            setattr(cfg, name, value)
        if not self.family_uses_lr_d():
            # hidden: never a stale value
            cfg.lr_d = TrainConfig.defaults_for(cfg.model, cfg.extras).lr_d
        return cfg.validate()

    def family_uses_lr_d(self) -> bool:
        """Whether the chosen model has a second learning rate (a discriminator's)."""
        family = self.family()
        return family is not None and family.uses_lr_d

    def processes_value(self) -> int:
        """How many training processes the form asks for (1 when the field is hidden)."""
        return self.processes.value() if self.processes_label.isVisibleTo(self) else 1

    def set_process_limit(self, limit: int) -> None:
        """Offer "Processes" only where there are several devices to put them on."""
        self.processes.setMaximum(max(1, limit))
        self.train_form.setRowVisible(self.processes, limit > 1)
        self._on_processes_changed()

    def set_config(self, cfg: TrainConfig) -> None:
        """Show a configuration in the form (e.g. of an opened run), every value as saved."""
        self._following = False
        try:
            self._show_config(cfg)
        finally:
            self._following = True
        self._preferred = TrainConfig.defaults_for(cfg.model, self.options.values())

    def _show_config(self, cfg: TrainConfig) -> None:
        self._select(self.model, cfg.model)
        self.set_dataset(cfg.dataset, preview=False)
        self.epochs.setValue(cfg.epochs)
        self.batch_size.setValue(cfg.batch_size)
        self._select(self.image_size, cfg.image_size)
        self.latent_dim.setValue(cfg.latent_dim)
        self.width.setValue(cfg.width)
        self.lr_g.setValue(cfg.lr_g)
        self.lr_d.setValue(cfg.lr_d)
        self.beta1.setValue(cfg.beta1)
        self.beta2.setValue(cfg.beta2)
        self._select(self.device, cfg.device)
        self.seed.setValue(min(cfg.seed, self.seed.maximum()))
        self.limit.setValue(min(cfg.limit, self.limit.maximum()))
        self.fast.setChecked(cfg.fast)
        self._select(self.precision, cfg.precision)
        self.eval_samples.setValue(min(cfg.eval_samples, self.eval_samples.maximum()))
        self.tensorboard.setChecked(cfg.tensorboard and self.tensorboard.isEnabled())
        self.options.set_values(cfg.extras)

    def values(self) -> dict[str, Any]:
        """Form values for QSettings."""
        started = self._run_config  # a live learning-rate change belongs to its run only
        return {
            "model": self.model.currentData(), "dataset": self.dataset_value() or "digits",
            "epochs": self.epochs.value(), "batch_size": self.batch_size.value(),
            "image_size": self.image_size.currentData(), "latent_dim": self.latent_dim.value(),
            "width": self.width.value(),
            "lr_g": started.lr_g if started else self.lr_g.value(),
            "lr_d": started.lr_d if started else self.lr_d.value(),
            "beta1": self.beta1.value(), "beta2": self.beta2.value(),
            "device": self.device.currentData(), "seed": self.seed.value(),
            "limit": self.limit.value(), "fast": self.fast.isChecked(),
            "precision": self.precision.currentData(),
            "eval_samples": self.eval_samples.value(), "tensorboard": self.tensorboard.isChecked(),
            "extras": json.dumps(self.options.values()),
        }

    def restore_values(self, values: dict[str, Any]) -> None:
        """Apply values saved by :meth:`values` (bad or missing ones are ignored)."""
        base = TrainConfig()
        merged: dict[str, Any] = {}
        for key in SETTINGS_KEYS:
            value = values.get(key)
            if value is None:
                continue
            try:
                if isinstance(getattr(base, key), bool):  # QSettings may hand back "false"
                    merged[key] = str(value).lower() in ("true", "1")
                else:
                    merged[key] = type(getattr(base, key))(value)
            except (TypeError, ValueError):
                continue
        try:
            extras = json.loads(values.get("extras") or "{}")
        except (TypeError, ValueError):
            extras = {}
        if isinstance(extras, dict):
            merged["extras"] = extras
        try:
            cfg = TrainConfig.from_dict({**base.to_dict(), **merged})
        except ConfigError:
            return
        self._wanted_device = cfg.device
        self.set_config(cfg)

    def refresh_models(self) -> None:
        """List the registered model families (title, with the description as tooltip)."""
        current = self.model.currentData()
        self.model.blockSignals(True)
        self.model.clear()
        for family in families.all_families():
            self.model.addItem(family.title, family.name)
            self.model.setItemData(self.model.count() - 1, family.description,
                                   Qt.ItemDataRole.ToolTipRole)
        self.model.setToolTip("\n".join(f"{f.title}: {f.description}"
                                        for f in families.all_families()))
        if current is not None:
            self._select(self.model, current)
        self.model.blockSignals(False)

    def model_names(self) -> list[str]:
        """The family names the model list offers, in order."""
        return [self.model.itemData(i) for i in range(self.model.count())]

    def select_model(self, name: str) -> None:
        """Choose a model family by name (ignored when it is not listed)."""
        self._select(self.model, name)

    def select_device(self, name: str) -> None:
        """Choose a device by name ("auto", "cpu", "cuda", …) when it is listed."""
        self._select(self.device, name)

    def accept_paths(self, paths: list[Path], *, busy: bool = False) -> str:
        """A dropped folder of images becomes the data set; returns why not ("" when done)."""
        if busy or self.training:
            return "Stop training before changing the data set."
        self.set_dataset(paths[0])
        return ""

    def family(self) -> families.ModelFamily | None:
        """The chosen model's family."""
        name = self.model.currentData()
        try:
            return families.get(name) if name else None
        except families.UnknownFamilyError:
            return None

    @staticmethod
    def _select(combo: QComboBox, value: object) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)

    # --- devices and state -----------------------------------------------------------------
    def set_devices(self, devices: list[str]) -> None:
        """List the devices found on this computer (after PyTorch loaded)."""
        wanted = getattr(self, "_wanted_device", None) or self.device.currentData()
        self.device.clear()
        for name in devices:
            label = {"auto": "auto (best available)", "cpu": "CPU", "cuda": "CUDA GPU",
                     "mps": "Apple MPS"}.get(name, name)
            self.device.addItem(label, name)
        self._select(self.device, wanted)

    def set_ready(self, ready: bool, text: str = "Start training") -> None:
        """Enable Start once PyTorch has loaded (and start a built-in set's preview, which
        needs PyTorch)."""
        self._ready = ready
        self.start_button.setText(text)
        self._update_start()
        if not ready:
            return
        due = self._builtin_preview_due or self._preview_on_ready
        self._preview_on_ready = False
        dataset = self.dataset_value()
        if due and dataset and not self.training:
            self.start_preview(dataset)

    def _update_start(self) -> None:
        """Start is on when PyTorch has loaded, nothing trains and the data can be used."""
        self.start_button.setEnabled(self._ready and not self.training
                                     and not self._data_problem)
        if self._data_problem and not self.training:
            self.start_button.setToolTip(self._data_problem)
        else:
            self._on_processes_changed()

    def set_training(self, training: bool, *, paused: bool = False, stopping: bool = False
                     ) -> None:
        """Lock the form while a run trains; only learning rates stay editable."""
        if training and self._run_config is None:
            with contextlib.suppress(ConfigError):
                self._run_config = self.config()
        elif not training and self._run_config is not None:
            self.lr_g.setValue(self._run_config.lr_g)  # a live change was for that run only
            self.lr_d.setValue(self._run_config.lr_d)
            self._run_config = None
        self.training = training
        for widget in self._inputs:
            widget.setEnabled(not training)
        self.options.set_enabled(not training)
        self.tensorboard.setEnabled(not training and tensorboard_available())
        self.precision.setEnabled(not training and self.fast.isChecked())
        self._update_start()
        self.start_button.setText("Training…" if training else "Start training")
        single = not self.external
        self.pause_button.setEnabled(training and not stopping and single)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.stop_button.setEnabled(training and not stopping)
        self.stop_button.setText("Stopping…" if stopping else "Stop")
        self.apply_lr.setEnabled(training and not stopping and single)
        for widget in (self.lr_g, self.lr_d):
            widget.setEnabled(single or not training)

    def show_error(self, message: str) -> None:
        """Show a validation message under the form (empty hides it)."""
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def _on_model_changed(self, *_: object) -> None:
        family = self.family()
        two = family is not None and family.uses_lr_d
        self.lr_d.setVisible(two)
        self.lr_d_label.setVisible(two)
        self.lr_g_label.setText("LR generator" if two else "Learning rate")
        self.apply_lr.setText("Apply new learning rates" if two else "Apply new learning rate")
        self.options.set_family(family)
        self._follow_preferred()

    def _align_label_columns(self, *forms: QFormLayout) -> None:
        """One label column for every box and the model's own options: each form would
        otherwise size its column to its own longest label, so fields start at a different
        x in every box."""
        labels = [item.widget() for form in forms for row in range(form.rowCount())
                  if (item := form.itemAt(row, QFormLayout.ItemRole.LabelRole)) is not None
                  and isinstance(item.widget(), QLabel)]
        texts = [label.text() for label in labels] + [
            spec.label for family in families.all_families() for spec in family.options] + [
            "LR discriminator", "LR generator", "Learning rate"]
        width = max(self.fontMetrics().horizontalAdvance(text) for text in texts) + 6
        for label in labels:
            label.setMinimumWidth(width)
        self.options.set_label_width(width)

    def _follow_preferred(self) -> None:
        """Fields still at what the old model and options preferred take the new values (a
        VAE's latent size 2, a diffusion model's learning rate, a hinge loss's Adam betas);
        a value the user chose stays."""
        after = TrainConfig.defaults_for(self.model.currentData(), self.options.values())
        before, self._preferred = self._preferred, after
        if before is None or not self._following:
            return
        for name in FAMILY_DEFAULT_FIELDS:
            widget = getattr(self, name)
            if abs(widget.value() - getattr(before, name)) < 1e-12:
                widget.setValue(getattr(after, name))

    def _on_options_changed(self) -> None:
        self._follow_preferred()
        self.options_changed.emit()

    def _on_processes_changed(self, *_: object) -> None:
        several = self.processes_value() > 1
        self.start_button.setToolTip(
            f"Start {self.processes_value()} training processes as a separate job and follow "
            "it here." if several else
            "Start training with these settings (a new run folder).")

    # --- the plan's size ---------------------------------------------------------------------
    def planned_images(self) -> int | None:
        """Images one epoch sees (None: unknown until a folder has been scanned)."""
        dataset = self.dataset_value()
        total = BUILTIN_IMAGES.get(dataset) if dataset else None
        if total is None and dataset:
            total = self._folder_images.get(dataset)
        if total is None:
            return None
        limit = self.limit.value()
        return min(total, limit) if limit else total

    def planned_steps(self) -> int | None:
        """Optimisation steps the form plans (None: the data set's size is unknown)."""
        images = self.planned_images()
        if images is None:
            return None
        per_step = self.batch_size.value() * self.processes_value()
        return -(-images // max(per_step, 1)) * self.epochs.value()

    def plan_note(self) -> str:
        """One sentence when the plan is too short for the model to learn anything."""
        family, steps = self.family(), self.planned_steps()
        if family is None or steps is None or not family.useful_steps or \
                steps >= family.useful_steps:
            return ""
        images, epochs = self.planned_images() or 0, self.epochs.value()
        per_epoch = max(steps // max(epochs, 1), 1)
        wanted = -(-family.useful_steps // per_epoch)
        return (f"{images:,} images × {epochs} epoch{'s' if epochs != 1 else ''} is only "
                f"{steps:,} steps; {with_article(family.title)} needs about "
                f"{family.useful_steps:,} before its samples look like anything. Try "
                f"{wanted:,} epochs, or more images.")

    def update_plan_note(self, *_: object) -> None:
        """Show :meth:`plan_note` above Start (it never blocks Start)."""
        text = self.plan_note()
        self.plan_label.setText(text)
        self.plan_label.setVisible(bool(text))

    # --- presets, the command line and defaults ---------------------------------------------
    def refresh_presets(self) -> None:
        """List the shipped presets and the user's (one that cannot load says why)."""
        from aigc_studio.engine.presets import list_presets

        self.preset.clear()
        self.preset.addItem("Choose a preset…", None)
        try:
            presets = list_presets()
        except AigcError as exc:
            self.preset.setItemData(0, str(exc), Qt.ItemDataRole.ToolTipRole)
            return
        for preset in presets:
            label = preset.name + ("" if preset.shipped else " (yours)")
            self.preset.addItem(label, preset.name)
            tip = preset.problem or preset.description
            index = self.preset.count() - 1
            self.preset.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
            if preset.config is None:
                self.preset.model().item(index).setEnabled(False)

    def apply_preset(self, name: str) -> None:
        """Fill the form from a preset (its data set too, unless it names none)."""
        from aigc_studio.engine.presets import load_preset

        cfg = load_preset(name)
        self.set_config(cfg)
        self.preset_applied.emit(name)

    def _on_preset_activated(self, index: int) -> None:
        name = self.preset.itemData(index)
        self.preset.setCurrentIndex(0)
        if not name:
            return
        try:
            self.apply_preset(name)
        except AigcError as exc:
            self.show_error(str(exc))

    def save_preset(self, name: str, description: str = "") -> Path:
        """Save the form as the user's preset ``name`` (raises AigcError / ConfigError)."""
        from aigc_studio.engine.presets import save_preset

        path = save_preset(name, self.config(), description)
        self.refresh_presets()
        return path

    def _save_preset_dialog(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Name for these settings:")
        if not ok or not name.strip():
            return
        try:
            path = self.save_preset(name.strip())
        except (AigcError, ConfigError) as exc:
            self.show_error(str(exc))
            return
        self.show_error("")
        self.preset_saved.emit(path)

    def command(self) -> str:
        """The ``aigc-studio train`` command line that trains the form's settings."""
        from aigc_studio.engine.command import train_command

        cfg = self.config()
        text = train_command(cfg)
        n = self.processes_value()
        return f"{text} --nproc {n}" if n > 1 else text

    def copy_command(self) -> str:
        """Put :meth:`command` on the clipboard; returns it ("" when the form is invalid)."""
        try:
            text = self.command()
        except (AigcError, ConfigError) as exc:
            self.show_error(str(exc))
            return ""
        self.show_error("")
        QGuiApplication.clipboard().setText(text)
        self.command_copied.emit(text)
        return text

    def reset_to_defaults(self) -> None:
        """The chosen model's defaults in every field; the data set stays."""
        dataset = self.dataset_value()
        cfg = TrainConfig.defaults_for(self.model.currentData())
        if dataset:
            cfg.dataset = dataset
        self.set_config(cfg)

    # --- data set choice and folder preview ------------------------------------------------
    def _on_dataset_activated(self, index: int) -> None:
        if self.dataset.itemText(index) == FOLDER_ITEM:
            folder = QFileDialog.getExistingDirectory(self, "Choose a folder of images")
            if folder:
                self.set_dataset(folder)
            else:
                self.dataset.setCurrentIndex(self._last_index)
            return
        self._last_index = index
        self.set_dataset(self.dataset.itemData(index))

    @staticmethod
    def _is_folder(dataset: str) -> bool:
        """An image folder's path, not a built-in set's name."""
        return dataset not in {v for _, v in DATASETS}

    def set_dataset(self, dataset: str | Path, *, preview: bool = True) -> None:
        """Select a built-in data set by name, or an image folder by path."""
        value = str(dataset)
        index = self.dataset.findData(value)
        if index < 0:
            path = Path(value)
            folder_index = self.dataset.findText(FOLDER_ITEM)
            self.dataset.insertItem(folder_index, f"Folder: {path.name or value}", value)
            self.dataset.setItemData(folder_index, value, Qt.ItemDataRole.ToolTipRole)
            index = folder_index
        self.dataset.setCurrentIndex(index)
        self._last_index = index
        self._set_data_problem("")  # a new choice is judged afresh
        if self._is_folder(value):
            self.folder_chosen.emit(Path(value))
        if preview:
            self.start_preview(value)
        else:
            self.cancel_preview()
            self.preview_box.setVisible(False)

    def start_preview(self, dataset: str | Path) -> None:
        """Show a few images as the model will see them, read in the background: a folder is
        scanned (usable / skipped); a built-in set is loaded once PyTorch is (a torchvision
        set only when already downloaded)."""
        self.cancel_preview()
        value = str(dataset)
        folder = self._is_folder(value)
        if not folder and not self._ready:
            self._builtin_preview_due = True
            return
        self._builtin_preview_due = False
        self.preview_box.setVisible(True)
        self._show_thumbs([])
        self.preview_label.setToolTip("")
        size = int(self.image_size.currentData())
        self._preview_folder = Path(value)
        if folder:
            self.preview_label.setText(f"Scanning {Path(value).name}…")
            self._preview.start(preview_folder, Path(value), size, None)
        else:
            self.preview_label.setText(f"Loading a few {self.dataset.currentText()} images…")
            self._preview.start(preview_builtin, value, size)

    def _set_data_problem(self, text: str) -> None:
        """Remember why the chosen data cannot train ("" clears it) and gate Start on it."""
        self._data_problem = text
        self._update_start()

    def cancel_preview(self) -> None:
        """Stop a running folder scan (checked between images)."""
        self._preview.cancel(report=False)
        self._preview_folder = None
        self._builtin_preview_due = False

    def wait_for_preview(self) -> None:
        """Cancel and join the folder scan (shutdown)."""
        self._preview.wait()
        self._preview_folder = None

    def _on_preview_done(self, outcome: Outcome) -> None:
        if outcome.cancelled:
            return
        if outcome.error is not None:
            self._on_preview_failed(self._preview_folder or Path("."), outcome.error)
            return
        preview: FolderPreview = outcome.value
        if preview.message:  # a built-in set: its images and one line, no counts
            self._show_thumbs(preview.arrays)
            self.preview_label.setText(preview.message)
            return
        self._on_preview_ready(preview.folder, preview.arrays, preview.usable, preview.skipped,
                               preview.notes)

    def _show_thumbs(self, arrays: list[Any]) -> None:
        """The first images in the row of thumbnails, the rest cleared; no images hides the
        row (never a blank row under a message)."""
        for thumb, arr in zip(self.preview_images, arrays, strict=False):
            thumb.setPixmap(to_pixmap(arr))
        for thumb in self.preview_images[len(arrays):]:
            thumb.clear()
        for thumb in self.preview_images:
            thumb.setVisible(bool(arrays))

    def _on_preview_ready(self, folder: Path, arrays: list[Any], usable: int,
                          skipped: int, notes: list[str]) -> None:
        if folder != (Path(self.dataset_value()) if self.dataset_value() else None):
            return
        self._show_thumbs(arrays)
        self._folder_images[str(folder)] = usable
        self.update_plan_note()
        text = f"{usable} usable image{'s' if usable != 1 else ''}"
        text += f", {skipped} skipped" if skipped else ", none skipped"
        if usable == 0:  # nothing to train on: say so where the thumbnails would be
            text = empty_text(folder, skipped)
            self._set_data_problem(text)
        self.preview_label.setText(text)
        self.preview_label.setToolTip("\n".join(notes[:20]))

    def _on_preview_failed(self, folder: Path, message: str) -> None:
        """A folder that cannot be read (deleted, not a folder): its sentence, Start off."""
        self._show_thumbs([])
        self.preview_label.setText(message)
        if self._is_folder(str(folder)):
            self._set_data_problem(message)
