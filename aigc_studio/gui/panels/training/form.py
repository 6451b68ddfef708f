"""The training panel: data set, model and optimiser choices, and Start / Pause / Stop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from aigc_studio import families
from aigc_studio.core.folder_preview import FolderPreview, preview_folder
from aigc_studio.engine.config import ConfigError, TrainConfig
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
FOLDER_ITEM = "Image folder…"
SETTINGS_KEYS = (
    "model", "dataset", "epochs", "batch_size", "image_size", "latent_dim", "width",
    "lr_g", "lr_d", "beta1", "beta2", "device", "seed", "limit", "fast", "precision",
)
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

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._preview = TaskRunner(self)
        self._preview.finished.connect(self._on_preview_done)
        self._preview_folder: Path | None = None
        self._last_index = 0
        self.training = False

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
        model_box = QGroupBox("Model")
        model_form = QFormLayout(model_box)
        model_form.addRow("Model", self.model)
        model_form.addRow("Image size", self.image_size)
        model_form.addRow("Latent size", self.latent_dim)
        model_form.addRow("Width", self.width)

        # --- training ---
        self.epochs = _spin(1, 100_000, 20, "How many passes over the data set.")
        self.batch_size = _spin(2, 65_536, 64, "Images per optimisation step. Lower it if the "
                                "GPU runs out of memory.", step=16)
        self.lr_g = _dspin(0.00001, 1.0, 2e-4, 5, 0.00005, "Adam learning rate of the generator "
                           "(the only one of a one-network model). Can be changed while training.")
        self.lr_d = _dspin(0.00001, 1.0, 2e-4, 5, 0.00005, "Adam learning rate of the "
                           "discriminator. Can be changed while training.")
        self.apply_lr = QPushButton("Apply")
        self.apply_lr.setToolTip("Use the new learning rates from the next step on (logged in "
                                 "the run).")
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
        lr_row = QHBoxLayout()
        lr_row.addWidget(self.lr_g, 1)
        lr_row.addWidget(self.apply_lr)
        self.lr_d_label = QLabel("LR discriminator")
        betas = QHBoxLayout()
        betas.addWidget(self.beta1)
        betas.addWidget(self.beta2)
        train_box = QGroupBox("Training")
        train_form = QFormLayout(train_box)
        train_form.addRow("Epochs", self.epochs)
        train_form.addRow("Batch size", self.batch_size)
        self.lr_g_label = QLabel("LR generator")
        train_form.addRow(self.lr_g_label, lr_row)
        train_form.addRow(self.lr_d_label, self.lr_d)
        train_form.addRow("Adam betas", betas)
        train_form.addRow("Device", self.device)
        train_form.addRow("Speed", self.fast)
        train_form.addRow("Precision", self.precision)
        train_form.addRow("Seed", self.seed)

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

        layout = QVBoxLayout(self)
        layout.addWidget(data_box)
        layout.addWidget(model_box)
        layout.addWidget(train_box)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        layout.addStretch(1)
        for combo in (self.dataset, self.model, self.image_size, self.device, self.precision):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(8)
        self._inputs: list[QWidget] = [
            self.dataset, self.limit, self.model, self.image_size, self.latent_dim, self.width,
            self.epochs, self.batch_size, self.beta1, self.beta2, self.device, self.seed,
            self.fast, self.precision,
        ]
        self._on_model_changed()

    # --- config ----------------------------------------------------------------------------
    def dataset_value(self) -> str | None:
        """The data set name or image-folder path selected (None: nothing chosen yet)."""
        return self.dataset.currentData()

    def config(self) -> TrainConfig:
        """The form as a validated :class:`TrainConfig` (raises ConfigError)."""
        dataset = self.dataset_value()
        if not dataset:
            raise ConfigError("Choose a data set or an image folder first.")
        cfg = TrainConfig(
            model=self.model.currentData(),
            dataset=dataset,
            epochs=self.epochs.value(),
            batch_size=self.batch_size.value(),
            image_size=int(self.image_size.currentData()),
            latent_dim=self.latent_dim.value(),
            width=self.width.value(),
            lr_g=self.lr_g.value(),
            lr_d=self.lr_d.value(),
            beta1=self.beta1.value(),
            beta2=self.beta2.value(),
            device=self.device.currentData() or "auto",
            seed=self.seed.value(),
            limit=self.limit.value(),
            fast=self.fast.isChecked(),
            precision=self.precision.currentData() or "auto",
        )
        return cfg.validate()

    def set_config(self, cfg: TrainConfig) -> None:
        """Show a configuration in the form (e.g. of an opened run)."""
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

    def values(self) -> dict[str, Any]:
        """Form values for QSettings."""
        return {
            "model": self.model.currentData(), "dataset": self.dataset_value() or "digits",
            "epochs": self.epochs.value(), "batch_size": self.batch_size.value(),
            "image_size": self.image_size.currentData(), "latent_dim": self.latent_dim.value(),
            "width": self.width.value(), "lr_g": self.lr_g.value(), "lr_d": self.lr_d.value(),
            "beta1": self.beta1.value(), "beta2": self.beta2.value(),
            "device": self.device.currentData(), "seed": self.seed.value(),
            "limit": self.limit.value(), "fast": self.fast.isChecked(),
            "precision": self.precision.currentData(),
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
        """Enable Start once PyTorch has loaded."""
        self.start_button.setText(text)
        self.start_button.setEnabled(ready and not self.training)

    def set_training(self, training: bool, *, paused: bool = False, stopping: bool = False
                     ) -> None:
        """Lock the form while a run trains; only learning rates stay editable."""
        self.training = training
        for widget in self._inputs:
            widget.setEnabled(not training)
        self.precision.setEnabled(not training and self.fast.isChecked())
        self.start_button.setEnabled(not training)
        self.start_button.setText("Training…" if training else "Start training")
        self.pause_button.setEnabled(training and not stopping)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.stop_button.setEnabled(training and not stopping)
        self.stop_button.setText("Stopping…" if stopping else "Stop")
        self.apply_lr.setEnabled(training and not stopping)

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
        self.preview_box.setVisible(False)

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
        is_folder = value not in {v for _, v in DATASETS}
        if is_folder:
            self.folder_chosen.emit(Path(value))
            if preview:
                self.start_preview(Path(value))
            else:
                self.preview_box.setVisible(False)
        else:
            self.preview_box.setVisible(False)

    def start_preview(self, folder: Path) -> None:
        """Scan the folder in the background and show a few prepared images."""
        self.cancel_preview()
        self.preview_box.setVisible(True)
        for thumb in self.preview_images:
            thumb.clear()
        self.preview_label.setText(f"Scanning {folder.name}…")
        self._preview_folder = Path(folder)
        self._preview.start(preview_folder, Path(folder), int(self.image_size.currentData()),
                            None)

    def cancel_preview(self) -> None:
        """Stop a running folder scan (checked between images)."""
        self._preview.cancel(report=False)
        self._preview_folder = None

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
        self._on_preview_ready(preview.folder, preview.arrays, preview.usable, preview.skipped,
                               preview.notes)

    def _on_preview_ready(self, folder: Path, arrays: list[Any], usable: int,
                          skipped: int, notes: list[str]) -> None:
        if folder != (Path(self.dataset_value()) if self.dataset_value() else None):
            return
        for thumb, arr in zip(self.preview_images, arrays, strict=False):
            thumb.setPixmap(to_pixmap(arr))
        for thumb in self.preview_images[len(arrays):]:
            thumb.clear()
        text = f"{usable} usable image{'s' if usable != 1 else ''}"
        text += f", {skipped} skipped" if skipped else ", none skipped"
        if usable == 0:
            text = f"No usable images in {folder.name} ({skipped} skipped)."
        self.preview_label.setText(text)
        self.preview_label.setToolTip("\n".join(notes[:20]))

    def _on_preview_failed(self, folder: Path, message: str) -> None:
        self.preview_label.setText(message)
