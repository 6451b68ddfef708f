"""Help dialogs: "How a GAN learns" (with live values) and About."""

from __future__ import annotations

import math
import platform
from collections.abc import Mapping

import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from aigc_studio import __version__, families

_GAN_TEXT = """
<h2>How a GAN learns</h2>
<p>Two networks play a game. The <b>generator</b> G turns random noise <i>z</i> into an image.
The <b>discriminator</b> D looks at an image and outputs the probability that it is real.
D learns to tell real images <i>x</i> from fakes G(<i>z</i>); G learns to fool D.</p>
<h3>Discriminator loss</h3>
<p style="font-size:14pt">L<sub>D</sub> = &minus;[ log D(x) + log(1 &minus; D(G(z))) ]</p>
<p>D wants D(x) near 1 (real looks real) and D(G(z)) near 0 (fakes look fake).</p>
<h3>Generator loss</h3>
<p style="font-size:14pt">L<sub>G</sub> = &minus;log D(G(z))</p>
<p>G wants D(G(z)) near 1. This "non-saturating" form gives G strong gradients early on,
when D easily spots its fakes.</p>
<h3>With this run's latest values</h3>
{live}
<h3>Reading the plots</h3>
<ul>
<li>If D(x) and D(G(z)) both drift towards <b>0.5</b>, D can no longer tell real from fake:
the game is balanced.</li>
<li>If L<sub>D</sub> falls to ~0 while L<sub>G</sub> climbs, D is winning and G gets little
useful signal: try a lower D learning rate.</li>
<li>If the sample grid shows the same image everywhere, the generator has
<b>collapsed</b> onto one mode.</li>
</ul>
<p>The autoencoder instead minimises the mean squared error between each image and its
reconstruction: L = 1/n &Sigma; ||x<sub>i</sub> &minus; x&#770;<sub>i</sub>||&sup2;.</p>
"""


def _safe_log(p: float) -> float:
    return math.log(min(max(p, 1e-12), 1.0))


def live_values_html(values: Mapping[str, float]) -> str:
    """The two formulas with the newest D(x), D(G(z)) and losses plugged in."""
    if "d_real" not in values or "d_fake" not in values:
        return ("<p><i>Start training a DCGAN to see the formulas with live values "
                "plugged in.</i></p>")
    dx, dgz = values["d_real"], values["d_fake"]
    ld = -(_safe_log(dx) + _safe_log(1.0 - dgz))
    lg = -_safe_log(dgz)
    html = (
        f"<p style='font-size:12pt'>D(x) = {dx:.3f}, D(G(z)) = {dgz:.3f}</p>"
        f"<p style='font-size:12pt'>L<sub>D</sub> &asymp; &minus;[log {dx:.3f} + "
        f"log(1 &minus; {dgz:.3f})] = <b>{ld:.3f}</b></p>"
        f"<p style='font-size:12pt'>L<sub>G</sub> &asymp; &minus;log {dgz:.3f} = "
        f"<b>{lg:.3f}</b></p>"
    )
    if "loss_d" in values and "loss_g" in values:
        html += (
            f"<p>The trainer reports L<sub>D</sub> = {values['loss_d']:.3f} and "
            f"L<sub>G</sub> = {values['loss_g']:.3f}. They differ a little from the numbers "
            "above because the loss averages log D over the batch, while the plugged-in "
            "values are batch means of D. (The generator's D(G(z)) is also measured on a "
            "fresh pass after D's update.)</p>"
        )
    return html


class GanHelpDialog(QDialog):
    """Explains the GAN losses, with the current run's values plugged in."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("How a GAN learns")
        self.resize(620, 640)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.update_values({})

    def update_values(self, values: Mapping[str, float]) -> None:
        """Re-render with the newest metric values."""
        scroll = self.text.verticalScrollBar().value()
        self.text.setHtml(_GAN_TEXT.replace("{live}", live_values_html(values)))
        self.text.verticalScrollBar().setValue(scroll)


def about_html(torch_version: str | None, devices: list[str], device_note: str) -> str:
    """Versions and the device found, for Help > About."""
    import pyqtgraph

    torch_text = torch_version or "not loaded yet"
    return (
        f"<h3>AIGC Studio {__version__}</h3>"
        "<p>Train and explore generative image models "
        f"({', '.join(f.title for f in families.all_families())}) on your own machine.</p>"
        f"<p>Python {platform.python_version()} · Qt {qVersion()} · "
        f"PySide6 {PySide6.__version__} · pyqtgraph {pyqtgraph.__version__} · "
        f"PyTorch {torch_text}</p>"
        f"<p>Devices: {', '.join(devices) or 'unknown yet'}"
        f"{'<br>' + device_note if device_note else ''}</p>"
        f"<p>{platform.platform()}</p>"
    )
