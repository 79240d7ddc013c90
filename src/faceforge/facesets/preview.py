"""Judging a faceset at a glance: statistics, a self-contained HTML sheet and PNG contact sheets."""

from __future__ import annotations

import base64
import html
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from faceforge.analysis.identity import SAME_PERSON
from faceforge.facesets.curate import identity_clusters
from faceforge.facesets.rows import FaceRow
from faceforge.facesets.store import FacesetStore
from faceforge.media.atomic import atomic_output
from faceforge.media.images import write_image
from faceforge.progress import Progress

YAW_RANGE = (-60.0, 60.0)
PITCH_RANGE = (-45.0, 45.0)
CELL_DEGREES = 15.0
PURITY_SAMPLE = 3000  # identity purity is computed on at most this many faces (clustering is quadratic)


@dataclass(frozen=True, slots=True)
class FacesetStats:
    faces: int
    sources: int
    sources_unfinished: int
    groups: dict[str, int]  # group name -> faces ("(none)" for ungrouped)
    yaw_range: tuple[float, float]
    pitch_range: tuple[float, float]
    pose_coverage: float  # share of the 15° yaw×pitch cells (±60° yaw, ±45° pitch) holding a face
    sharpness_median: float
    sharpness_p10: float
    identity_purity: float  # share of faces within the identity threshold of the main person
    main_identity_faces: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def pose_grid(faces: list[FaceRow]) -> np.ndarray:
    """Faces per (pitch, yaw) cell, rows from high pitch (chin up) to low, columns from -yaw to +yaw."""
    yaw_edges = np.arange(YAW_RANGE[0], YAW_RANGE[1] + 1e-6, CELL_DEGREES)
    pitch_edges = np.arange(PITCH_RANGE[0], PITCH_RANGE[1] + 1e-6, CELL_DEGREES)
    yaw = np.clip([f.yaw for f in faces], YAW_RANGE[0], YAW_RANGE[1] - 1e-3)
    pitch = np.clip([f.pitch for f in faces], PITCH_RANGE[0], PITCH_RANGE[1] - 1e-3)
    grid, _, _ = np.histogram2d(pitch, yaw, bins=[pitch_edges, yaw_edges])
    return grid[::-1].astype(np.int64)


def identity_purity(faces: list[FaceRow], threshold: float = SAME_PERSON) -> tuple[float, int]:
    """Share of faces within ``threshold`` of the main person (the mean embedding of the largest identity
    cluster), and that cluster's size. On large facesets an evenly spaced sample is used."""
    with_vectors = [f for f in faces if f.embedding is not None]
    if not with_vectors:
        return 0.0, 0
    step = max(1, len(with_vectors) // PURITY_SAMPLE)
    sample = np.stack([f.embedding for f in with_vectors[::step] if f.embedding is not None]).astype(
        np.float64
    )
    labels = identity_clusters(sample)
    centre = sample[labels == 0].mean(axis=0)
    distance = np.linalg.norm(sample - centre, axis=1)
    return float((distance < threshold).mean()), int((labels == 0).sum()) * step


def faceset_stats(store: FacesetStore) -> FacesetStats:
    faces = store.faces()
    names = store.groups()
    groups: dict[str, int] = {}
    for face in faces:
        name = names.get(face.group_id, "(none)") if face.group_id is not None else "(none)"
        groups[name] = groups.get(name, 0) + 1
    sources = store.sources()
    yaw = [f.yaw for f in faces] or [0.0]
    pitch = [f.pitch for f in faces] or [0.0]
    sharp = np.array([f.sharpness for f in faces] or [0.0])
    grid = pose_grid(faces) if faces else np.zeros((1, 1))
    purity, main = identity_purity(faces)
    return FacesetStats(
        faces=len(faces),
        sources=len(sources),
        sources_unfinished=sum(not s.done for s in sources),
        groups=dict(sorted(groups.items())),
        yaw_range=(round(min(yaw), 1), round(max(yaw), 1)),
        pitch_range=(round(min(pitch), 1), round(max(pitch), 1)),
        pose_coverage=round(float((grid > 0).mean()), 3) if faces else 0.0,
        sharpness_median=round(float(np.median(sharp)), 2),
        sharpness_p10=round(float(np.percentile(sharp, 10)), 2),
        identity_purity=round(purity, 3),
        main_identity_faces=main,
    )


# -- pictures --------------------------------------------------------------------------------------------


def _thumb(store: FacesetStore, face: FaceRow, size: int) -> np.ndarray:
    image = cv2.imread(str(store.path_of(face)), cv2.IMREAD_COLOR)
    if image is None:  # deleted by hand since: a grey tile says so
        return np.full((size, size, 3), 96, np.uint8)
    return cv2.cvtColor(cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)


def _grouped(store: FacesetStore) -> list[tuple[str, list[FaceRow]]]:
    names = store.groups()
    buckets: dict[str, list[FaceRow]] = {}
    for face in store.faces():
        buckets.setdefault(
            names.get(face.group_id, "ungrouped") if face.group_id else "ungrouped", []
        ).append(face)
    return sorted(buckets.items(), key=lambda item: (item[0] == "ungrouped", item[0]))


def contact_sheet(
    store: FacesetStore,
    output: Path,
    thumb: int = 96,
    columns: int = 16,
    per_group: int = 64,
    progress: Progress | None = None,
) -> int:
    """A PNG/JPEG grid of thumbnails: one band per group (its name and count on a label row), at most
    ``per_group`` faces each. Returns the number of faces drawn."""
    bands = []
    grouped = _grouped(store)
    total = sum(min(len(f), per_group) for _, f in grouped)
    done = 0
    for name, faces in grouped:
        label = np.full((24, columns * thumb, 3), 32, np.uint8)
        cv2.putText(
            label, f"{name}: {len(faces)} faces", (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255,) * 3, 1
        )
        shown = faces[:per_group]
        rows = -(-len(shown) // columns)
        grid = np.full((rows * thumb, columns * thumb, 3), 16, np.uint8)
        for i, face in enumerate(shown):
            r, c = divmod(i, columns)
            grid[r * thumb : (r + 1) * thumb, c * thumb : (c + 1) * thumb] = _thumb(store, face, thumb)
            done += 1
            if progress is not None:
                progress(done, total)
        bands += [label, grid]
    sheet = np.concatenate(bands) if bands else np.full((24, columns * thumb, 3), 32, np.uint8)
    write_image(output, sheet, tag=None)
    return done


def _data_uri(image: np.ndarray) -> str:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {image.shape[1]}x{image.shape[0]} thumbnail as JPEG.")
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode("ascii")


def _text(x: float, y: float, text: str, size: int = 10, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>{text}</text>'


def _rect(x: float, y: float, w: float, h: float, fill: str, extra: str = "", inner: str = "") -> str:
    box = f'x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}"'
    return f'<rect {box} fill="{fill}"{extra}>{inner}</rect>'


def _pose_svg(grid: np.ndarray) -> str:
    cell = 36
    rows, cols = grid.shape
    peak = max(int(grid.max()), 1)
    size = f'width="{cols * cell + 60}" height="{rows * cell + 50}"'
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" {size}>']
    for r in range(rows):
        for c in range(cols):
            n = int(grid[r, c])
            shade = 245 - int(200 * n / peak)
            fill = f"rgb({shade},{shade},255)" if n else "#fafafa"
            x, y = 50 + c * cell, 10 + r * cell
            parts.append(_rect(x, y, cell - 2, cell - 2, fill, ' stroke="#ccc"'))
            if n:
                parts.append(_text(x + cell / 2 - 1, y + cell / 2 + 4, str(n), 11))
    for c in range(cols + 1):
        parts.append(_text(50 + c * cell - 1, rows * cell + 26, f"{YAW_RANGE[0] + c * CELL_DEGREES:g}"))
    for r in range(rows + 1):
        parts.append(_text(44, 10 + r * cell + 4, f"{PITCH_RANGE[1] - r * CELL_DEGREES:g}", anchor="end"))
    middle = 10 + rows * cell / 2
    parts.append(_text(50 + cols * cell / 2, rows * cell + 44, "yaw (°)", 12))
    parts.append(_text(12, middle, "pitch (°)", 12, extra=f' transform="rotate(-90 12 {middle})"'))
    parts.append("</svg>")
    return "".join(parts)


def _histogram_svg(values: np.ndarray, bins: int = 20) -> str:
    width, height = 420, 160
    if len(values) == 0:
        return "<p>no faces</p>"
    top = max(float(np.percentile(values, 99)), 1.0)
    counts, edges = np.histogram(np.clip(values, 0, top), bins=bins, range=(0, top))
    peak = max(int(counts.max()), 1)
    bar = width / bins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 20}" height="{height + 40}">']
    for i, n in enumerate(counts):
        h = height * n / peak
        tip = f"<title>{edges[i]:.1f}-{edges[i + 1]:.1f}: {n}</title>"
        parts.append(_rect(10 + i * bar, 10 + height - h, bar - 2, h, "#5b8def", inner=tip))
    for i in (0, bins // 2, bins):
        parts.append(_text(10 + i * bar, height + 26, f"{edges[i]:.0f}"))
    parts.append(_text(10 + width / 2, height + 38, "sharpness", 12))
    parts.append("</svg>")
    return "".join(parts)


def html_sheet(
    store: FacesetStore, output: Path, thumb: int = 80, per_group: int = 48, progress: Progress | None = None
) -> int:
    """A self-contained HTML page (thumbnails inlined): summary, groups with counts and faces, the yaw ×
    pitch coverage plot and the sharpness histogram. Returns the number of thumbnails."""
    stats = faceset_stats(store)
    faces = store.faces()
    grouped = _grouped(store)
    total = sum(min(len(f), per_group) for _, f in grouped)
    done = 0
    sections = []
    for name, members in grouped:
        imgs = []
        for face in sorted(members, key=lambda f: -f.sharpness)[:per_group]:
            title = html.escape(
                f"{face.file}  yaw {face.yaw:.0f} pitch {face.pitch:.0f} sharp {face.sharpness:.1f}"
            )
            imgs.append(f'<img src="{_data_uri(_thumb(store, face, thumb))}" title="{title}">')
            done += 1
            if progress is not None:
                progress(done, total)
        more = f"<p>… and {len(members) - per_group} more</p>" if len(members) > per_group else ""
        sections.append(
            f"<section><h3>{html.escape(name)} <small>{len(members)} faces</small></h3>"
            f'<div class="faces">{"".join(imgs)}</div>{more}</section>'
        )
    rows = "".join(
        f"<tr><th>{html.escape(k.replace('_', ' '))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in stats.as_dict().items()
        if k != "groups"
    )
    pose = _pose_svg(pose_grid(faces) if faces else np.zeros((6, 8)))
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>faceset {html.escape(store.root.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; }} th, td {{ text-align: left; padding: 2px 12px 2px 0; }}
.faces img {{ width: {thumb}px; height: {thumb}px; margin: 1px; }}
.plots {{ display: flex; gap: 3em; flex-wrap: wrap; align-items: flex-start; }}
small {{ color: #666; font-weight: normal; }}
</style></head><body>
<h1>Faceset {html.escape(store.root.name)} <small>{stats.faces} faces, {len(grouped)} groups</small></h1>
<table>{rows}</table>
<div class="plots"><div><h2>Pose coverage</h2>{pose}</div>
<div><h2>Sharpness</h2>{_histogram_svg(np.array([f.sharpness for f in faces]))}</div></div>
<h2>Groups</h2>
{"".join(sections)}
</body></html>
"""
    with atomic_output(output) as temp:
        temp.write_text(page, encoding="utf-8")
    return done
