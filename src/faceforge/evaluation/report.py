"""The evaluation's files: ``metrics.json`` and ``metrics.csv`` for machines, ``report.html`` for people.

The HTML page is self-contained (inline CSS, plots as inline SVG, thumbnails as data URIs), so it can
be mailed, attached to an issue or opened from disk without a server.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from faceforge.evaluation.metric_table import METRIC_BY_KEY, METRICS, Metric
from faceforge.evaluation.runner import EvaluationResult

_ROW_KEYS = ("pair", "name", "kind", "status", "note", "source", "target", "output", "nearest")
_EXTRA_KEYS = ("frames", "target_face_frames", "seconds", "jitter")


def _clean(value: object) -> object:
    """JSON-safe: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(result: EvaluationResult) -> dict[str, object]:
    return _clean(
        {
            "meta": result.meta,
            "metrics": {
                m.key: {
                    "label": m.label,
                    "unit": m.unit,
                    "better": m.better,
                    "applies_to": m.kind,
                    "description": m.description,
                }
                for m in METRICS
            },
            "gallery": result.gallery.labels,
            "skipped": [{"name": p.name, "reason": reason} for p, reason in result.skipped],
            "configurations": [
                {
                    **r.configuration.describe(),
                    "setup_s": r.setup_s,
                    "aggregate": r.aggregate,
                    "pairs": r.rows,
                }
                for r in result.results
            ],
        }
    )  # type: ignore[return-value]


def _columns(result: EvaluationResult) -> list[str]:
    present = {key for r in result.results for row in r.rows for key in row}
    ordered = [*_ROW_KEYS, *(m.key for m in METRICS), *_EXTRA_KEYS]
    rest = sorted(present - set(ordered))
    return [key for key in ordered if key in present] + rest


def to_csv(result: EvaluationResult) -> str:
    columns = _columns(result)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["configuration", *columns])
    for r in result.results:
        for row in r.rows:
            cells = []
            for key in columns:
                value = _clean(row.get(key))
                cells.append("" if value is None else (f"{value:.6g}" if isinstance(value, float) else value))
            writer.writerow([r.configuration.name, *cells])
    return buffer.getvalue()


# --- HTML ------------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1280px;
 color:#1d232a;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #dde2e7}
.meta{color:#5a6570}table{border-collapse:collapse;margin:8px 0}
th,td{padding:4px 8px;border-bottom:1px solid #e6e9ec;text-align:right;white-space:nowrap}
th{background:#f4f6f8;font-weight:600;vertical-align:bottom}
td.l,th.l{text-align:left}td.best{background:#d8f3dc;font-weight:700}
td.failed{color:#b42318}.arrow{color:#7a8590;font-weight:400}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:12px}
.plot{border:1px solid #e6e9ec;border-radius:6px;padding:6px}.plot svg{width:100%;height:auto}
.worst{display:flex;flex-wrap:wrap;gap:16px}.case{border:1px solid #e6e9ec;border-radius:6px;padding:8px}
.case img{height:128px;margin-right:4px;border-radius:3px}.case .cap{font-size:12px;color:#5a6570}
.scroll{overflow-x:auto}dl dt{font-weight:600}dl dd{margin:0 0 6px 16px;color:#444}
"""


def _fmt(metric: Metric | None, value: object) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, str):
        return value
    if not isinstance(value, int | float):
        return html.escape(str(value))
    number = float(value)
    if metric is not None and metric.percent:
        return f"{100 * number:.0f}%"
    if metric is not None and metric.key == "peak_rss_mb":
        return f"{number:.0f}"
    if abs(number) >= 100:
        return f"{number:.0f}"
    if abs(number) >= 10:
        return f"{number:.1f}"
    if abs(number) >= 1:
        return f"{number:.2f}"
    return f"{number:.3f}"


def _header(metric: Metric) -> str:
    arrow = "↓" if metric.better == "lower" else "↑"
    unit = f" ({metric.unit})" if metric.unit and not metric.percent else ""
    title = html.escape(metric.description or metric.label, quote=True)
    return f'<th title="{title}">{html.escape(metric.label)}{unit} <span class="arrow">{arrow}</span></th>'


def _shown(result: EvaluationResult, metric: Metric) -> bool:
    return any(math.isfinite(r.aggregate.get(metric.key, math.nan)) for r in result.results)


def _summary(result: EvaluationResult) -> str:
    metrics = [m for m in METRICS if m.summary and _shown(result, m)]
    best: dict[str, float] = {}
    for metric in metrics:
        values = [r.aggregate[metric.key] for r in result.results if math.isfinite(r.aggregate[metric.key])]
        if len(result.results) > 1 and values:
            best[metric.key] = min(values) if metric.better == "lower" else max(values)
    head = "".join(_header(m) for m in metrics)
    rows = []
    for r in result.results:
        cells = []
        for metric in metrics:
            value = r.aggregate[metric.key]
            mark = ' class="best"' if metric.key in best and math.isclose(value, best[metric.key]) else ""
            cells.append(f"<td{mark}>{_fmt(metric, value)}</td>")
        agg = r.aggregate
        status = f"{agg['pairs_ok']:.0f} ok"
        if agg["pairs_failed"]:
            status += f", {agg['pairs_failed']:.0f} failed"
        if agg["pairs_error"]:
            status += f", {agg['pairs_error']:.0f} error"
        rows.append(
            f'<tr><td class="l">{html.escape(r.configuration.name)}</td><td class="l">{status}</td>'
            f"<td>{r.setup_s:.1f}</td>{''.join(cells)}</tr>"
        )
    return (
        '<div class="scroll"><table><tr><th class="l">configuration</th><th class="l">pairs</th>'
        f"<th>setup (s)</th>{head}</tr>{''.join(rows)}</table></div>"
    )


def _plot(result: EvaluationResult, metric: Metric) -> str:
    """Per-pair values (dots) and the mean (bar) of one metric for every configuration, as inline SVG."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    names = [r.configuration.name for r in result.results]
    scale = 100.0 if metric.percent else 1.0
    figure = Figure(figsize=(5.2, 0.55 + 0.42 * len(names)), dpi=100)
    FigureCanvasSVG(figure)
    axes = figure.add_subplot()
    for y, r in enumerate(result.results):
        values = [
            float(v) * scale
            for row in r.rows
            if isinstance(v := row.get(metric.key), int | float) and math.isfinite(float(v))
        ]
        mean = r.aggregate.get(metric.key, math.nan)
        if math.isfinite(mean):
            axes.barh(y, mean * scale, height=0.6, color="#9cc3e6", zorder=1)
        if values:
            jitter = np.linspace(-0.18, 0.18, len(values)) if len(values) > 1 else [0.0]
            axes.scatter(values, y + np.asarray(jitter), s=12, color="#1f4e79", zorder=2)
    axes.set_yticks(range(len(names)), [n if len(n) <= 38 else n[:36] + "…" for n in names], fontsize=8)
    axes.invert_yaxis()
    unit = "%" if metric.percent else metric.unit
    better = "lower is better" if metric.better == "lower" else "higher is better"
    axes.set_title(f"{metric.label}{f' ({unit})' if unit else ''}: {better}", fontsize=9, loc="left")
    axes.tick_params(axis="x", labelsize=8)
    axes.grid(axis="x", color="#e6e9ec", zorder=0)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    buffer = io.StringIO()
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "faceforge"}):
        figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg[svg.index("<svg") :], flags=re.DOTALL)
    return re.sub(r'\s+xmlns:(dc|cc|rdf)="[^"]*"', "", svg)


def _worst(result: EvaluationResult, count: int) -> str:
    parts = []
    for index, r in enumerate(result.results):

        def badness(row: dict[str, object]) -> tuple[int, float]:
            status = {"failed": 2, "error": 1}.get(str(row.get("status")), 0)
            value = row.get("id_source")
            return status, float(value) if isinstance(value, int | float) and math.isfinite(value) else 0.0

        rows = sorted(r.rows, key=badness, reverse=True)[:count]
        cases = []
        for row in rows:
            thumbs = r.thumbnails.get(int(row["pair"]) - 1, {})  # type: ignore[call-overload]
            images = "".join(
                f'<img src="{thumbs[k]}" alt="{k}" title="{k}">'
                for k in ("source", "target", "output")
                if k in thumbs
            )
            facts = [f"status {row['status']}"] + [
                f"{METRIC_BY_KEY[k].label} {_fmt(METRIC_BY_KEY[k], row.get(k))}"
                for k in ("id_source", "id_top1", "pose", "expression", "gaze", "failed_frames")
                if k in row
            ]
            note = f"<br>{html.escape(str(row['note']))}" if row.get("note") else ""
            cases.append(
                f'<div class="case"><b>{html.escape(str(row["name"]))}</b><br>{images}'
                f'<div class="cap">source · target · output — {html.escape("; ".join(facts))}{note}</div>'
                "</div>"
            )
        parts.append(
            f"<h3>{index + 1}. {html.escape(r.configuration.name)}</h3>"
            f'<div class="worst">{"".join(cases)}</div>'
        )
    return "".join(parts)


def _details(result: EvaluationResult) -> str:
    keys = [m for m in METRICS if any(m.key in row for r in result.results for row in r.rows)]
    parts = []
    for r in result.results:
        head = "".join(_header(m) for m in keys)
        rows = []
        for row in r.rows:
            status = html.escape(str(row["status"]))
            klass = ' class="l failed"' if row["status"] != "ok" else ' class="l"'
            cells = "".join(f"<td>{_fmt(m, row.get(m.key))}</td>" for m in keys)
            rows.append(
                f'<tr><td class="l">{html.escape(str(row["name"]))}</td><td class="l">{row["kind"]}</td>'
                f'<td{klass} title="{html.escape(str(row.get("note", "")), quote=True)}">{status}</td>'
                f"{cells}</tr>"
            )
        parts.append(
            f"<details><summary>{html.escape(r.configuration.name)}: {len(r.rows)} pairs</summary>"
            f'<div class="scroll"><table><tr><th class="l">pair</th><th class="l">kind</th>'
            f'<th class="l">status</th>{head}</tr>{"".join(rows)}</table></div></details>'
        )
    return "".join(parts)


def to_html(result: EvaluationResult, worst: int = 4) -> str:
    meta = result.meta
    configs = "".join(
        f"<li><b>{html.escape(r.configuration.name)}</b>: "
        f"swapper {html.escape(r.configuration.config.swapper)}"
        + (
            ", " + ", ".join(html.escape(f"{k}={v}") for k, v in r.configuration.options)
            if r.configuration.options
            else ", defaults"
        )
        + "</li>"
        for r in result.results
    )
    shown = [m for m in METRICS if _shown(result, m)]
    plots = "".join(f'<div class="plot">{_plot(result, m)}</div>' for m in shown if m.summary)
    glossary = "".join(
        f"<dt>{html.escape(m.label)} <code>{m.key}</code></dt><dd>{html.escape(m.description or m.label)}; "
        f"{m.better} is better{'; videos only' if m.kind == 'video' else ''}.</dd>"
        for m in METRICS
    )
    skipped = (
        "<h2>Skipped pairs</h2><ul>"
        + "".join(f"<li>{html.escape(p.name)}: {html.escape(reason)}</li>" for p, reason in result.skipped)
        + "</ul>"
        if result.skipped
        else ""
    )
    kinds = {p.kind for p in result.pairs}
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>faceforge evaluation</title><style>{_CSS}</style></head><body>
<h1>faceforge evaluation</h1>
<p class="meta">{len(result.pairs)} pairs ({", ".join(sorted(kinds))}) ×
{len(result.results)} configurations · identity backend {html.escape(str(meta["identity_backend"]))}
(same person below {meta["identity_threshold"]}),
retrieval gallery of {meta["gallery_size"]} people · faceforge {html.escape(str(meta["faceforge_version"]))} ·
{html.escape(str(meta["created"]))}</p>
<p class="meta">Every output is synthetic media made for evaluation. The swapped images and videos are in
<code>outputs/</code> next to this page; the numbers are in <code>metrics.json</code> and
<code>metrics.csv</code>.</p>
<h2>Configurations</h2><ol>{configs}</ol>
<h2>Summary</h2>
<p class="meta">Means over pairs (videos: over frames first). Best value per column in green; hover a
header for its definition. Speed counts the swap only (decoding and encoding included, loading not).</p>
{_summary(result)}
<h2>Per-metric plots</h2><p class="meta">Dots are pairs, bars the mean.</p><div class="plots">{plots}</div>
<h2>Worst pairs</h2><p class="meta">Per configuration, failed pairs first, then by identity distance to the
source; for videos the sampled frame farthest from the source is shown.</p>{_worst(result, worst)}
<h2>All pairs</h2>{_details(result)}
{skipped}
<h2>Metrics</h2><dl>{glossary}</dl>
<p class="meta">Limits of these metrics (stand-in models, what they miss) are described in faceforge's
docs/quality.md.</p>
</body></html>
"""


def write_report(result: EvaluationResult, folder: Path, worst: int = 4) -> list[Path]:
    """Write the three report files into ``folder``; returns their paths."""
    folder = Path(folder)
    files = {
        "metrics.json": json.dumps(to_json(result), indent=2, ensure_ascii=False, allow_nan=False),
        "metrics.csv": to_csv(result),
        "report.html": to_html(result, worst),
    }
    paths = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def summary_rows(result: EvaluationResult, keys: Sequence[str]) -> list[list[str]]:
    """The aggregate of each configuration for ``keys``, formatted as the report shows it (for the CLI)."""
    return [
        [r.configuration.name, *(_fmt(METRIC_BY_KEY.get(k), r.aggregate.get(k)) for k in keys)]
        for r in result.results
    ]
