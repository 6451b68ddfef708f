"""Help > How this model learns: each family's objective with its formulas and the run's
latest values plugged in (plain Python and HTML: the help opens before torch loads).

A family names its help function in its declaration (``ModelFamily.learn_help``); the window
calls it with the newest plotted values and the run's options, so the help of a WGAN-GP run
explains the critic and that of a VAE the KL term, never another model's losses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

Values = Mapping[str, float]
Options = Mapping[str, Any]
HelpFn = Callable[[Values, Options], str]

BIG = "style='font-size:13pt'"
LIVE = "style='font-size:12pt'"


def _log(p: float) -> float:
    return math.log(min(max(p, 1e-12), 1.0))


def _waiting(model: str) -> str:
    return f"<p><i>Train {model} (or open one of its runs) to see these with live values.</i></p>"


def _page(title: str, body: str, live: str) -> str:
    return f"<h2>{title}</h2>{body}<h3>With this run's latest values</h3>{live}"


# ------------------------------------------------------------------------------- GANs
_GAN_INTRO = """
<p>Two networks play a game. The <b>generator</b> G turns random noise <i>z</i> into an image.
The <b>discriminator</b> D looks at an image and scores how real it looks. D learns to tell
real images <i>x</i> from fakes G(<i>z</i>); G learns to fool D.</p>
"""

_GAN_LOSSES = {
    "bce": """
<h3>Discriminator loss (binary cross-entropy)</h3>
<p {big}>L<sub>D</sub> = &minus;[ log D(x) + log(1 &minus; D(G(z))) ]</p>
<p>D outputs a probability; it wants D(x) near 1 and D(G(z)) near 0.</p>
<h3>Generator loss (non-saturating)</h3>
<p {big}>L<sub>G</sub> = &minus;log D(G(z))</p>
<p>G wants D(G(z)) near 1. This form gives G strong gradients early on, when D easily spots
its fakes.</p>""",
    "hinge": """
<h3>Discriminator loss (hinge)</h3>
<p {big}>L<sub>D</sub> = E[max(0, 1 &minus; D(x))] + E[max(0, 1 + D(G(z)))]</p>
<p>D outputs a score, not a probability: a real image scored above 1 and a fake below &minus;1
cost nothing, so D stops pushing on images it already tells apart. Spectral normalisation
of every D layer keeps D smooth (Miyato et al. 2018); the plots show
&sigma;(D(x)) and &sigma;(D(G(z))).</p>
<h3>Generator loss</h3>
<p {big}>L<sub>G</sub> = &minus;E[D(G(z))]</p>
<p>Adam starts here with &beta;<sub>1</sub> = 0 and &beta;<sub>2</sub> = 0.9, as in the
spectral-norm paper: on the bundled digits, with DCGAN's &beta;<sub>1</sub> = 0.5 only about
half the samples read as a digit, with these over 80 %.</p>""",
    "wgan-gp": """
<h3>Critic loss (Wasserstein with gradient penalty)</h3>
<p {big}>L<sub>D</sub> = E[D(G(z))] &minus; E[D(x)] +
&lambda;&middot;E[(&#8214;&nabla;D(x&#770;)&#8214; &minus; 1)&sup2;],&nbsp; &lambda; = 10</p>
<p>D is a <b>critic</b>: E[D(x)] &minus; E[D(G(z))] estimates how far apart the real and
generated images are (the Wasserstein distance), if D's gradients have norm 1. The penalty,
on points x&#770; between real and fake images, keeps them there (Gulrajani et al. 2017). The
critic trains <i>n</i><sub>critic</sub> times per generator step.</p>
<h3>Generator loss</h3>
<p {big}>L<sub>G</sub> = &minus;E[D(G(z))]</p>""",
}


def _gan_live(values: Values, loss: str) -> str:
    if loss == "wgan-gp":
        if "wasserstein" not in values:
            return _waiting("a WGAN-GP DCGAN")
        w, gp = values["wasserstein"], values.get("penalty", float("nan"))
        text = (f"<p {LIVE}>E[D(x)] &minus; E[D(G(z))] = <b>{w:.3f}</b> (falls towards 0 as G "
                f"catches up)</p><p {LIVE}>penalty E[(&#8214;&nabla;D&#8214; &minus; 1)&sup2;] = "
                f"<b>{gp:.4f}</b> (small: the critic keeps gradients of norm 1)</p>")
        if "loss_d" in values:
            text += (f"<p>The trainer reports L<sub>D</sub> = {values['loss_d']:.3f} = "
                     f"&minus;{w:.3f} + 10 &times; {gp:.4f} "
                     f"&asymp; {-w + 10 * gp:.3f}, averaged over the critic's steps.</p>")
        return text
    if "d_real" not in values or "d_fake" not in values:
        return _waiting("a DCGAN")
    dx, dgz = values["d_real"], values["d_fake"]
    if loss == "hinge":
        return (f"<p {LIVE}>&sigma;(D(x)) = {dx:.3f}, &sigma;(D(G(z))) = {dgz:.3f}: both near "
                f"0.5 means D can no longer tell them apart.</p>"
                + (f"<p>The trainer reports L<sub>D</sub> = {values['loss_d']:.3f} and "
                   f"L<sub>G</sub> = {values['loss_g']:.3f}.</p>" if "loss_g" in values else ""))
    ld, lg = -(_log(dx) + _log(1.0 - dgz)), -_log(dgz)
    html = (f"<p {LIVE}>D(x) = {dx:.3f}, D(G(z)) = {dgz:.3f}</p>"
            f"<p {LIVE}>&minus;[log {dx:.3f} + log(1 &minus; {dgz:.3f})] = <b>{ld:.3f}</b></p>"
            f"<p {LIVE}>&minus;log {dgz:.3f} = <b>{lg:.3f}</b></p>")
    if "loss_d" in values and "loss_g" in values:
        html += (
            f"<p>The trainer reports L<sub>D</sub> = {values['loss_d']:.3f} and "
            f"L<sub>G</sub> = {values['loss_g']:.3f}, not the numbers above, for two reasons. "
            "(1) It averages the loss of each image, &minus;log D, while the formulas above "
            "take the log of the batch's mean D; the mean of &minus;log is never smaller than "
            "&minus;log of the mean (Jensen's inequality), and much larger when D is sure "
            "about some images and unsure about others. (2) L<sub>G</sub> is measured after "
            "D's update on the same fakes, so D has just learned to spot them: its D(G(z)) "
            "is lower than the D(G(z)) plotted, which is measured before that update. Both "
            "make the trainer's L<sub>G</sub> the larger one.</p>")
    return html


def gan_help(values: Values, options: Options) -> str:
    """A DCGAN with the run's loss (bce, hinge or wgan-gp) and, if set, its classes."""
    loss = str(options.get("loss", "bce"))
    body = _GAN_INTRO + _GAN_LOSSES.get(loss, _GAN_LOSSES["bce"]).format(big=BIG)
    if options.get("conditional"):
        body += ("<h3>Class-conditional</h3><p>G gets the class <i>y</i> as a learned embedding "
                 "beside the noise, G(z, y); D sees the class as one-hot planes beside the "
                 "image, D(x, y). D rejects a good 7 drawn when a 3 was asked for, so G learns "
                 "to draw the class it is given.</p>")
    body += ("<h3>Reading the plots</h3><ul><li>In a healthy game neither side wins for long: "
             "the curves wobble around each other.</li><li>If L<sub>D</sub> falls to ~0 while "
             "L<sub>G</sub> climbs, D is winning and G gets little signal: lower D's learning "
             "rate.</li><li>If the grid shows the same image everywhere, the generator has "
             "<b>collapsed</b> onto one mode.</li></ul>")
    return _page("How a GAN learns", body, _gan_live(values, loss))


# ------------------------------------------------------------------------ autoencoders
def autoencoder_help(values: Values, options: Options) -> str:
    """The reconstruction error an autoencoder minimises."""
    body = (f"<p>An <b>encoder</b> squeezes each image <i>x</i> into a short code <i>z</i>; a "
            f"<b>decoder</b> rebuilds the image x&#770; from it. Both learn together to make "
            f"the rebuilt image match the original:</p>"
            f"<p {BIG}>L = 1/n &Sigma;<sub>i</sub> &#8214;x<sub>i</sub> &minus; "
            f"x&#770;<sub>i</sub>&#8214;&sup2;</p><p>The code is all the decoder gets, so it "
            f"has to keep what matters about the image. Nothing makes random codes decode to "
            f"images: an autoencoder reconstructs, it does not sample.</p>")
    live = (f"<p {LIVE}>mean squared error per pixel = <b>{values['loss_recon']:.5f}</b> "
            f"(about {math.sqrt(max(values['loss_recon'], 0.0)) / 2:.1%} of the pixel range on "
            f"average)</p>" if "loss_recon" in values else _waiting("an autoencoder"))
    return _page("How an autoencoder learns", body, live)


def vae_help(values: Values, options: Options) -> str:
    """Reconstruction + β·KL, with the run's β."""
    beta = float(options.get("beta", 1.0))
    body = (f"<p>The encoder maps an image to a Gaussian in the latent space (a mean &mu; and "
            f"a spread &sigma;); a code is drawn from it, z = &mu; + &sigma;&middot;&epsilon;, "
            f"and the decoder rebuilds the image from z. The loss has two terms:</p>"
            f"<p {BIG}>L = &#8214;x &minus; x&#770;&#8214;&sup2; + &beta;&middot;KL(q(z|x) "
            f"&#8214; N(0, I))</p><p>The reconstruction term keeps the images; the KL term "
            f"pulls every image's Gaussian towards the standard normal, so the whole latent "
            f"space is filled with codes that decode to plausible images: random z from "
            f"N(0, I) become new images, and the latent map has no holes. &beta; = {beta:g} "
            f"in this run: a larger &beta; gives a smoother map and blurrier images.</p>"
            f"<p>KL = &frac12; &Sigma;<sub>j</sub> (&mu;<sub>j</sub>&sup2; + "
            f"&sigma;<sub>j</sub>&sup2; &minus; log &sigma;<sub>j</sub>&sup2; &minus; 1)</p>")
    if "loss_recon" in values and "loss_kl" in values:
        recon, kl = values["loss_recon"], values["loss_kl"]
        live = (f"<p {LIVE}>reconstruction = <b>{recon:.2f}</b> (squared error summed over the "
                f"image), KL = <b>{kl:.2f}</b> nats</p><p {LIVE}>L = {recon:.2f} + {beta:g} "
                f"&times; {kl:.2f} = <b>{recon + beta * kl:.2f}</b></p>")
    else:
        live = _waiting("a VAE")
    return _page("How a VAE learns", body, live)


# ---------------------------------------------------------------------------- diffusion
TRAIN_STEPS = 1000
_S = 0.008  # the cosine schedule's offset (Nichol & Dhariwal 2021)


def alpha_bar(t: int, steps: int = TRAIN_STEPS) -> float:
    """ᾱ_t of the cosine schedule: the share of the image's variance left at step t."""
    def f(u: float) -> float:
        return math.cos((u / steps + _S) / (1 + _S) * math.pi / 2) ** 2

    return f(t) / f(0)


def diffusion_help(values: Values, options: Options) -> str:
    """Forward noising, the denoising objective and guidance, with the run's settings."""
    prediction = str(options.get("prediction", "eps"))
    guidance = float(options.get("guidance", 2.0))
    conditional = bool(options.get("conditional", True))
    target = ("the noise &epsilon;" if prediction == "eps"
              else "v = &radic;&#257;<sub>t</sub>&middot;&epsilon; &minus; "
                   "&radic;(1&minus;&#257;<sub>t</sub>)&middot;x<sub>0</sub>")
    body = (
        f"<p>A diffusion model learns to <b>remove noise</b>. Training takes a real image "
        f"x<sub>0</sub>, picks a random step t of 1000 and a random noise image &epsilon;, and "
        f"mixes them (<b>forward noising</b>):</p>"
        f"<p {BIG}>x<sub>t</sub> = &radic;&#257;<sub>t</sub>&middot;x<sub>0</sub> + "
        f"&radic;(1 &minus; &#257;<sub>t</sub>)&middot;&epsilon;</p>"
        f"<p>&#257;<sub>t</sub> falls from 1 (the image) to 0 (pure noise) on a cosine "
        f"schedule. A UNet sees x<sub>t</sub> and t and predicts {target}; the loss is the "
        f"squared error of that prediction (the <b>denoising objective</b>):</p>"
        f"<p {BIG}>L = E<sub>x<sub>0</sub>, t, &epsilon;</sub> &#8214;&epsilon; &minus; "
        f"&epsilon;<sub>&theta;</sub>(x<sub>t</sub>, t)&#8214;&sup2;</p>"
        f"<p>To draw an image, start from pure noise and let the UNet remove a little noise at "
        f"a time. DDIM and DPM-Solver++ take 10&ndash;50 large steps instead of 1000 small "
        f"ones; the Denoising tab plays that path.</p>")
    if conditional:
        body += (
            f"<h3>Classifier-free guidance</h3><p>The UNet also learns the class <i>y</i>, and "
            f"sees no class for a tenth of the images, so it learns both "
            f"&epsilon;<sub>&theta;</sub>(x<sub>t</sub>, t, y) and "
            f"&epsilon;<sub>&theta;</sub>(x<sub>t</sub>, t). Sampling mixes them:</p>"
            f"<p {BIG}>&epsilon;&#771; = &epsilon;<sub>&theta;</sub>(x<sub>t</sub>, t) + w&middot;"
            f"(&epsilon;<sub>&theta;</sub>(x<sub>t</sub>, t, y) &minus; "
            f"&epsilon;<sub>&theta;</sub>(x<sub>t</sub>, t))</p><p>w = 1 is the plain class "
            f"model; larger w exaggerates what makes a 3 a 3 (clearer digits, less variety). "
            f"This run samples with w = {guidance:g}.</p>")
    rows = "".join(
        f"<tr><td>t = {t}</td><td>&radic;&#257; = {math.sqrt(alpha_bar(t)):.2f}</td>"
        f"<td>&radic;(1&minus;&#257;) = {math.sqrt(1 - alpha_bar(t)):.2f}</td></tr>"
        for t in (100, 250, 500, 750, 900))
    schedule = (f"<p>How much image and noise x<sub>t</sub> holds:</p><table cellpadding=4>"
                f"{rows}</table>")
    if "loss" in values:
        live = (f"<p {LIVE}>denoising loss L = <b>{values['loss']:.4f}</b> (predicting zero "
                f"would score 1.0, the variance of &epsilon;)</p>{schedule}")
    else:
        live = _waiting("a diffusion model") + schedule
    return _page("How a diffusion model learns", body, live)
