"""The rows of a faceset index as Python objects, and the stable key every crop's file name ends with."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FACES_DIR = "faces"
KEY_PATTERN = re.compile(r"(\d{4,}_\d{6,}_\d{2,})$")


def f32(array: np.ndarray | None) -> bytes | None:
    return None if array is None else np.ascontiguousarray(array, dtype="<f4").tobytes()


def f64(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype="<f8").tobytes()


@dataclass(slots=True)
class FaceRow:
    """One face of a faceset, as stored. Arrays: landmarks ``(478, 3)`` float32 in source-frame pixels,
    matrix ``(2, 3)`` float64 source frame → crop, embedding ``(128,)`` float32, mask ``(N, 2)`` float32
    polygon in crop pixels."""

    key: str
    file: str
    source_id: int
    frame: int
    face_index: int
    time: float | None
    box: np.ndarray
    score: float
    face_size: float
    landmarks: np.ndarray
    matrix: np.ndarray
    embedding: np.ndarray | None
    mask: np.ndarray
    sharpness: float
    yaw: float
    pitch: float
    roll: float
    brightness: float
    colour_a: float
    colour_b: float
    identity_frame: int | None = None  # the frame (same source, same track) the embedding was computed on
    group_id: int | None = None
    id: int | None = None

    def values(self) -> tuple:
        return (
            self.key,
            self.file,
            self.source_id,
            self.frame,
            self.face_index,
            self.time,
            *(float(v) for v in self.box),
            self.score,
            self.face_size,
            f32(self.landmarks),
            f64(self.matrix),
            f32(self.embedding),
            self.identity_frame,
            f32(self.mask),
            self.sharpness,
            self.yaw,
            self.pitch,
            self.roll,
            self.brightness,
            self.colour_a,
            self.colour_b,
            self.group_id,
        )

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> FaceRow:
        return cls(
            id=row["id"],
            key=row["key"],
            file=row["file"],
            source_id=row["source_id"],
            frame=row["frame"],
            face_index=row["face_index"],
            time=row["time"],
            box=np.array([row["x0"], row["y0"], row["x1"], row["y1"]], dtype=np.float32),
            score=row["score"],
            face_size=row["face_size"],
            landmarks=np.frombuffer(row["landmarks"], dtype="<f4").reshape(-1, 3),
            matrix=np.frombuffer(row["matrix"], dtype="<f8").reshape(2, 3),
            embedding=None if row["embedding"] is None else np.frombuffer(row["embedding"], dtype="<f4"),
            identity_frame=row["identity_frame"],
            mask=np.frombuffer(row["mask"], dtype="<f4").reshape(-1, 2),
            sharpness=row["sharpness"],
            yaw=row["yaw"],
            pitch=row["pitch"],
            roll=row["roll"],
            brightness=row["brightness"],
            colour_a=row["colour_a"],
            colour_b=row["colour_b"],
            group_id=row["group_id"],
        )


@dataclass(slots=True)
class SourceRow:
    id: int
    path: str
    name: str
    kind: str
    size_bytes: int
    mtime_ns: int
    frame_count: int | None
    options: dict
    next_frame: int
    done: bool


def face_key(source_id: int, frame: int, face_index: int) -> str:
    return f"{source_id:04d}_{frame:06d}_{face_index:02d}"


def key_of(path: Path | str) -> str | None:
    """The stable key at the end of a crop's file name (any prefix a sort added is ignored)."""
    match = KEY_PATTERN.search(Path(path).stem)
    return match.group(1) if match else None


def crop_path(root: Path, file: str) -> Path | None:
    """Where the crop ``file`` (as an index row or a journal names it) is, or None when that place is not
    inside ``root/faces`` once links are followed: an index is data, and data must not steer a move,
    rename or read to a file outside its faceset."""
    relative = Path(file)
    if relative.is_absolute() or ".." in relative.parts or relative.parts[:1] != (FACES_DIR,):
        return None
    inside = (root / FACES_DIR).resolve()
    if not inside.is_relative_to(root.resolve()):
        return None
    path = root / relative
    return path if path.resolve().is_relative_to(inside) else None
