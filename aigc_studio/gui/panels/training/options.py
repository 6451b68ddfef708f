"""The form fields of a model family's own options (β of a VAE, a GAN's loss, a sampler).

A family declares its options as :class:`~aigc_studio.families.base.OptionSpec` (the same
declarations make the CLI's flags), so the form builds one field per option from them and
never names a family. Only the chosen family's options are shown, and of those only the ones
that apply to the other choices (``only_when``: the critic steps of a WGAN-GP loss); a value
the user typed is kept per family while they look at another model.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from aigc_studio.families import ModelFamily
from aigc_studio.families.base import OptionSpec

FieldWidget = QCheckBox | QComboBox | QSpinBox | QDoubleSpinBox


def _decimals(spec: OptionSpec) -> int:
    """Enough decimals to show the default and the bounds (0.999 needs 3, 0.99999 needs 5)."""
    values = [v for v in (spec.default, spec.low, spec.high) if v is not None]
    digits = [len(f"{float(v):.6f}".rstrip("0").split(".")[1]) for v in values]
    return max([2, *digits])


def make_field(spec: OptionSpec) -> FieldWidget:
    """The widget that edits one option, set to its default, with its help as tooltip."""
    widget: FieldWidget
    if spec.kind is bool:
        widget = QCheckBox()
        widget.setChecked(bool(spec.default))
    elif spec.choices:
        widget = QComboBox()
        for choice in spec.choices:
            widget.addItem(str(choice), choice)
        widget.setCurrentIndex(widget.findData(spec.default))
    elif spec.kind is int:
        widget = QSpinBox()
        widget.setRange(int(spec.low if spec.low is not None else 0),
                        int(spec.high if spec.high is not None else 2**31 - 1))
        widget.setValue(int(spec.default))
    else:
        widget = QDoubleSpinBox()
        widget.setDecimals(_decimals(spec))
        widget.setRange(float(spec.low if spec.low is not None else -1e9),
                        float(spec.high if spec.high is not None else 1e9))
        widget.setSingleStep(10 ** -min(widget.decimals(), 2))
        widget.setValue(float(spec.default))
    help_text = spec.help[:1].upper() + spec.help[1:]
    widget.setToolTip(f"{help_text} (command line: {spec.flag})")
    return widget


def field_value(widget: FieldWidget) -> Any:
    """The value a field holds, as the option's type."""
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        return widget.currentData()
    return widget.value()


def set_field_value(widget: FieldWidget, value: Any) -> None:
    """Show ``value`` in a field (a value the field cannot show is ignored)."""
    if isinstance(widget, QCheckBox):
        widget.setChecked(bool(value))
    elif isinstance(widget, QComboBox):
        index = widget.findData(value)
        if index >= 0:
            widget.setCurrentIndex(index)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        widget.setValue(value)  # type: ignore[arg-type]


def _changed_signal(widget: FieldWidget) -> Any:
    if isinstance(widget, QCheckBox):
        return widget.toggled
    if isinstance(widget, QComboBox):
        return widget.currentIndexChanged
    return widget.valueChanged


class OptionFields(QWidget):
    """One row per option of the chosen family; :meth:`values` is the run's ``extras``."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._family: ModelFamily | None = None
        self._fields: dict[tuple[str, str], FieldWidget] = {}
        self._labels: dict[tuple[str, str], QLabel] = {}
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self._label_width = 0  # the form's shared label column (set_label_width)

    @property
    def family(self) -> ModelFamily | None:
        return self._family

    def set_label_width(self, width: int) -> None:
        """Match the label column of the form this sits in (fields line up with its)."""
        self._label_width = width
        for label in self._labels.values():
            label.setMinimumWidth(width)

    def set_family(self, family: ModelFamily | None) -> None:
        """Show ``family``'s options (a field keeps its value while another family shows)."""
        while self.form.rowCount():
            taken = self.form.takeRow(0)
            for item in (taken.labelItem, taken.fieldItem):
                if item is not None and item.widget() is not None:
                    item.widget().setParent(self)  # kept for when this family returns
                    item.widget().hide()
        self._family = family
        for spec in family.options if family else ():
            key = (family.name, spec.name)
            if key not in self._fields:
                self._fields[key] = make_field(spec)
                self._labels[key] = QLabel(spec.label)
                self._labels[key].setMinimumWidth(self._label_width)
                self._labels[key].setToolTip(self._fields[key].toolTip())
                _changed_signal(self._fields[key]).connect(self._on_changed)
            self.form.addRow(self._labels[key], self._fields[key])
            self._fields[key].show()
            self._labels[key].show()
        self._update_visible()

    def field(self, name: str) -> FieldWidget | None:
        """The chosen family's field for option ``name`` (None when it has none)."""
        if self._family is None:
            return None
        return self._fields.get((self._family.name, name))

    def visible_names(self) -> list[str]:
        """The options shown now (the chosen family's that apply to the other choices)."""
        return [spec.name for spec in self._specs() if self._applies(spec)]

    def values(self) -> dict[str, Any]:
        """The options that apply and differ from their defaults, by name: the run's
        ``extras``, exactly as the command line's flags would make them."""
        current = self._current()
        return {spec.name: current[spec.name] for spec in self._specs()
                if self._applies(spec) and current[spec.name] != spec.default}

    def set_values(self, extras: dict[str, Any]) -> None:
        """Show a run's ``extras``; options it does not name go back to their defaults."""
        for spec in self._specs():
            widget = self._fields[(self._family.name, spec.name)]  # type: ignore[union-attr]
            set_field_value(widget, extras.get(spec.name, spec.default))
        self._update_visible()

    def set_enabled(self, enabled: bool) -> None:
        """Lock or unlock every field (a run is training)."""
        for widget in self._fields.values():
            widget.setEnabled(enabled)

    def _specs(self) -> tuple[OptionSpec, ...]:
        return self._family.options if self._family else ()

    def _current(self) -> dict[str, Any]:
        """Every field of the chosen family, applicable or not (for ``only_when``)."""
        return {spec.name: field_value(self._fields[(self._family.name, spec.name)])
                for spec in self._specs() if self._family}

    def _applies(self, spec: OptionSpec) -> bool:
        return self._family is not None and self._family.records(spec, self._current())

    def _update_visible(self) -> None:
        for row, spec in enumerate(self._specs()):
            self.form.setRowVisible(row, self._applies(spec))
        self.setVisible(bool(self._specs()))

    def _on_changed(self, *_: object) -> None:
        self._update_visible()
        self.changed.emit()
