"""Which source photo goes into which target: pairs read from a CSV file or formed from two folders.

Both are untrusted input (a user or the UI hands them in), so the number of pairs is limited and a file
that is not a text CSV is refused with one sentence naming it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from faceforge.errors import InputError
from faceforge.media.images import is_image_path
from faceforge.media.limits import DEFAULT_MAX_PAIRS
from faceforge.media.video import is_video_path


@dataclass(frozen=True, slots=True)
class Pair:
    source: Path
    target: Path

    @property
    def kind(self) -> str:
        return "video" if is_video_path(self.target) else "image"

    @property
    def name(self) -> str:
        return f"{self.source.name} → {self.target.name}"


def _too_many(where: str, limit: int) -> InputError:
    return InputError(f"{where} has more than {limit:,} pairs, the limit (--max-pairs).")


def read_pairs_csv(path: Path, max_pairs: int = DEFAULT_MAX_PAIRS) -> list[Pair]:
    """Pairs from a CSV with a header naming ``source`` and ``target`` columns; relative paths are
    resolved against the CSV's folder. At most ``max_pairs`` rows are read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"The pairs file {path} is not a text CSV file (it is not UTF-8).") from exc
    except OSError as exc:
        raise InputError(f"Cannot read the pairs file {path}: {exc.strerror or exc}.") from exc
    if "\0" in text:
        raise InputError(f"The pairs file {path} is not a text CSV file (it holds NUL bytes).")
    reader = csv.DictReader(io.StringIO(text))
    try:
        columns = {name.strip().lower(): name for name in reader.fieldnames or []}
        if "source" not in columns or "target" not in columns:
            raise InputError(f"The pairs file {path} needs a header row with 'source' and 'target' columns.")
        pairs: list[Pair] = []
        for row in reader:
            line = reader.line_num
            source = (row.get(columns["source"]) or "").strip()
            target = (row.get(columns["target"]) or "").strip()
            if not source and not target:
                continue
            if not source or not target:
                raise InputError(
                    f"The pairs file {path}, line {line}: both a source and a target are needed."
                )
            if len(pairs) == max_pairs:
                raise _too_many(f"The pairs file {path}", max_pairs)
            pairs.append(Pair(_resolve(path.parent, source), _resolve(path.parent, target)))
    except csv.Error as exc:
        raise InputError(
            f"The pairs file {path}, line {reader.line_num}: it is not valid CSV ({exc})."
        ) from exc
    if not pairs:
        raise InputError(f"The pairs file {path} lists no pairs.")
    return pairs


def _resolve(folder: Path, name: str) -> Path:
    candidate = Path(name).expanduser()
    return candidate if candidate.is_absolute() else folder / candidate


def _media_in(folder: Path, videos: bool) -> list[Path]:
    if not folder.is_dir():
        raise InputError(f"The folder {folder} does not exist.")
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and (is_image_path(p) or (videos and is_video_path(p)))
    )


def pairs_from_folders(sources: Path, targets: Path, max_pairs: int = DEFAULT_MAX_PAIRS) -> list[Pair]:
    """Every source photo with every target image or video (the same file excluded; pairs showing the
    same person are dropped later, once identities are known)."""
    source_files = _media_in(Path(sources), videos=False)
    target_files = _media_in(Path(targets), videos=True)
    if not source_files:
        raise InputError(f"The folder {sources} holds no source photos.")
    if not target_files:
        raise InputError(f"The folder {targets} holds no target images or videos.")
    pairs = [Pair(s, t) for s in source_files for t in target_files if s.resolve() != t.resolve()]
    if len(pairs) > max_pairs:
        raise _too_many(f"The folders {sources} and {targets} give {len(pairs):,} pairs, which", max_pairs)
    return pairs
