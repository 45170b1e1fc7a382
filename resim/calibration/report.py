"""``report.html`` of a calibration: a self-contained page (figures inline).

The page is a Jinja2 template in ``templates/`` with autoescaping on, so a
series, key or file name can never inject markup. Its figures are also left
as PNG files in ``plots/`` for slides and documents.
"""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, FileSystemLoader, select_autoescape
from matplotlib.figure import Figure

from ..experiment.store import atomic_write, write_text
from .figures import fan_figure, png, posterior_figure, stockout_figure
from .particle import ParticleModel
from .posterior import Posterior
from .predictive import Predictive

TEMPLATES = Path(__file__).parent / "templates"
REPORT_FILE = "report.html"
PLOTS = "plots"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "series"


def _save(out: Path, name: str, data: bytes) -> str:
    (out / PLOTS).mkdir(exist_ok=True)

    def w(tmp: str) -> None:
        Path(tmp).write_bytes(data)

    atomic_write(out / PLOTS / name, w)
    return base64.b64encode(data).decode("ascii")


def figures(out: Path, model: ParticleModel, post: Posterior, pred: Predictive | None) -> dict[str, Any]:
    """Draw every figure, save it under plots/, and return them for the page."""
    posterior_png = _save(out, "calibration-posterior.png", png(posterior_figure(post)))
    fans = []
    if pred is not None:
        fitted_until = _fitted_until(model)
        for name, periods in pred.grid.items():
            for fig in _series_figures(model, pred, name, periods, fitted_until):
                fans.append({"name": name, "png": _save(out, f"calibration-{_slug(name)}.png", png(fig))})
    return {"posterior_png": posterior_png, "fans": fans}


def _fitted_until(model: ParticleModel) -> date | None:
    """The last date the fit simulated, or None when it simulated the whole horizon (no line to draw)."""
    start = model.scenario.scenario.start_date
    fitted_until = start + timedelta(days=model.horizon_days)
    return None if fitted_until >= start + timedelta(days=model.scenario.scenario.horizon) else fitted_until


def _series_figures(model: ParticleModel, pred: Predictive, name: str, periods: Any,
                    fitted_until: date | None) -> list[Figure]:
    """The predictive figures of one observed series: a fan over the horizon,
    or for first-stockout days a histogram per observed row."""
    series = next(t.series for t in model.targets if t.series.name == name)
    if series.kind == "stockout_day":
        return [stockout_figure(t, pred.at_targets[t.label].to_numpy(dtype=float))
                for t in model.targets if t.series.name == name]
    return [fan_figure(series, periods, pred.curves.get(name, np.empty((0, 0))), model.targets, fitted_until)]


def render(summary: dict[str, Any], figs: dict[str, Any]) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("calibration_report.html.j2").render(s=summary, **figs)


def write_report(out: Path, summary: dict[str, Any], model: ParticleModel, post: Posterior,
                 pred: Predictive | None) -> Path:
    """Write report.html (and plots/calibration-*.png) into ``out``."""
    html = render(summary, figures(out, model, post, pred))
    write_text(out / REPORT_FILE, html)
    return out / REPORT_FILE
