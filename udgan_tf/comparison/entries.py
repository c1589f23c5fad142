"""What a comparison can run: its entries (a method and the shipped config it trains with), the
metrics of its table, and the published figures (``published.json``) printed beside ours."""

import json
import pathlib

#: compare name -> (model.method, shipped config name with {dataset}, label)
ENTRIES = {
    "udgan": ("udgan", "{dataset}_unguided", "UD-GAN"),
    "udgan_g": ("udgan", "{dataset}", "UD-GAN-G"),
    "infogan": ("infogan", "{dataset}_infogan", "InfoGAN"),
    "infogan_cr": ("infogan_cr", "{dataset}_infogan_cr", "InfoGAN-CR"),
    # InfoGAN-CR's own code's recipe, setting by setting (BENCHMARKS.md, "InfoGAN-CR reproduced").
    "infogan_cr_reference": ("infogan_cr", "{dataset}_infogan_cr_reference", "InfoGAN-CR (reference recipe)"),
    "beta_vae": ("beta_vae", "{dataset}_beta_vae", "beta-VAE"),
}
METRICS = ("beta_vae_score", "factor_vae_score", "mig")
#: Published dSprites ("2D Shapes") figures: entry -> {metric: (value, source)}.
PUBLISHED = {entry: {metric: (figure["value"], figure["source"]) for metric, figure in metrics.items()}
             for entry, metrics in json.loads((pathlib.Path(__file__).parent / "published.json").read_text()).items()
             if not entry.startswith("_")}


class CompareError(ValueError):
    """A comparison that cannot run; the message names the problem and the fix."""


def parse_entries(text):
    """``"udgan,infogan"`` -> ``["udgan", "infogan"]``, each checked against ``ENTRIES``."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in ENTRIES]
    if unknown or not names:
        raise CompareError(f"Unknown method(s) {unknown or [text]} for --methods. Available: {', '.join(ENTRIES)}.")
    return list(dict.fromkeys(names))
