"""Curating a faceset: group and sort its faces, drop near-duplicates, remove or keep, and clean up.

Every change goes to the index and the files together. Files are moved, never deleted: ``remove``,
``keep`` and ``--dedupe`` move crops into ``FACESET/removed/`` (empty it when satisfied); ``group``
moves crops into ``faces/group_NNN/`` folders and ``sort`` prefixes their names with their rank, so a
file browser shows what the index knows. A crop's name always ends with its stable key, so if a run is
killed between a move and its index update, ``clean`` finds the file again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceforge.analysis.identity import SAME_PERSON
from faceforge.errors import InputError, OptionError
from faceforge.facesets.renames import plan_rename, rename_crops
from faceforge.facesets.rows import FACES_DIR, FaceRow, key_of
from faceforge.facesets.store import REMOVED_DIR, FacesetStore
from faceforge.media.atomic import TEMP_PREFIX
from faceforge.media.images import is_image_path
from faceforge.progress import Progress

SORT_KEYS = ("identity", "reference", "yaw", "pitch", "sharpness", "brightness", "colour", "source")
GROUP_KEYS = ("identity", "yaw", "pitch")
DEFAULT_GROUP_THRESHOLD = SAME_PERSON  # average-linkage identity distance at which clusters stop merging


def _embeddings(faces: Sequence[FaceRow]) -> np.ndarray:
    missing = [f.key for f in faces if f.embedding is None]
    if missing:
        raise InputError(f"{len(missing)} faces have no identity embedding (first: {missing[0]}).")
    return np.stack([f.embedding for f in faces if f.embedding is not None]).astype(np.float64)


def identity_clusters(embeddings: np.ndarray, threshold: float = DEFAULT_GROUP_THRESHOLD) -> np.ndarray:
    """Cluster labels 0.. (0 the largest cluster) from average-linkage agglomerative clustering on
    Euclidean identity distances, cut at ``threshold``."""
    if len(embeddings) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(embeddings) == 1:
        return np.zeros(1, dtype=np.int64)
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(embeddings, method="average", metric="euclidean")
    raw = fcluster(tree, t=threshold, criterion="distance")
    sizes = {label: int((raw == label).sum()) for label in np.unique(raw)}
    # Largest first; ties by first appearance, so the numbering is stable.
    first = {label: int(np.argmax(raw == label)) for label in sizes}
    order = sorted(sizes, key=lambda label: (-sizes[label], first[label]))
    remap = {label: rank for rank, label in enumerate(order)}
    return np.array([remap[label] for label in raw], dtype=np.int64)


# -- moving files and rows together ----------------------------------------------------------------------


def _move(store: FacesetStore, face: FaceRow, source: Path, target: Path) -> None:
    """Move a face's file from ``source`` (checked with ``path_of``) to ``target`` (inside the faceset) and
    record its new place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.exists():
        os.replace(source, target)
    face.file = store.relative(target)
    store.db.execute("UPDATE faces SET file = ? WHERE id = ?", (face.file, face.id))


def remove_faces(store: FacesetStore, faces: Sequence[FaceRow], progress: Progress | None = None) -> int:
    """Move the faces' files to ``removed/`` and drop their rows; returns how many were removed."""
    paths = [store.path_of(face) for face in faces]  # every row is checked before anything moves
    trash = store.root / REMOVED_DIR
    trash.mkdir(exist_ok=True)
    for done, (face, path) in enumerate(zip(faces, paths, strict=True), 1):
        with store.transaction() as db:
            if path.exists():
                os.replace(path, trash / path.name)
            db.execute("DELETE FROM faces WHERE id = ?", (face.id,))
        if progress is not None:
            progress(done, len(faces))
    _remove_empty_folders(store.root / FACES_DIR)
    return len(faces)


def select_faces(
    store: FacesetStore,
    groups: Sequence[int] = (),
    names: Sequence[str] = (),
    sources: Sequence[str] = (),
) -> list[FaceRow]:
    """Faces in any of ``groups`` (numbers), named by file or key in ``names``, or from ``sources``
    (a source's file name or path)."""
    wanted_keys = {key_of(n) or n for n in names}
    chosen = []
    source_ids = {s.id for s in store.sources() if s.name in sources or s.path in sources}
    known_groups = _group_numbers(store)
    unknown = [g for g in groups if g not in known_groups]
    if unknown:
        raise OptionError(f"No group {unknown[0]} in this faceset; run 'faceforge faces stats' to list them.")
    group_ids = {known_groups[g] for g in groups}
    for face in store.faces():
        if face.key in wanted_keys or face.group_id in group_ids or face.source_id in source_ids:
            chosen.append(face)
    found = {f.key for f in chosen}
    missing = [n for n in wanted_keys if n not in found]
    if missing:
        raise OptionError(
            f"{len(missing)} of the listed faces are not in this faceset (first: {missing[0]})."
        )
    missing_sources = [s for s in sources if not any(s in (r.name, r.path) for r in store.sources())]
    if missing_sources:
        raise OptionError(f"No source named {missing_sources[0]} in this faceset.")
    return chosen


def _group_numbers(store: FacesetStore) -> dict[int, int]:
    """Group number as users see it (the number in ``group_NNN``) -> group id."""
    out = {}
    for gid, name in store.groups().items():
        try:
            out[int(name.rsplit("_", 1)[-1])] = gid
        except ValueError:
            continue
    return out


# -- grouping and sorting --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupReport:
    groups: list[int]  # sizes, group 1 first
    method: str


def group_faces(
    store: FacesetStore,
    by: str = "identity",
    threshold: float = DEFAULT_GROUP_THRESHOLD,
    bin_degrees: float = 15.0,
    folders: bool = True,
    progress: Progress | None = None,
) -> GroupReport:
    """Assign every face a group (replacing earlier groups): identity clusters, or yaw/pitch bins.
    With ``folders``, crops move into ``faces/group_NNN/`` (group 1 the largest)."""
    if by not in GROUP_KEYS:
        raise OptionError(f"Cannot group by '{by}'; choose one of: {', '.join(GROUP_KEYS)}.")
    faces = store.faces()
    paths = [store.path_of(face) for face in faces]  # every row is checked before anything moves
    if by == "identity":
        labels = identity_clusters(_embeddings(faces), threshold)
    else:
        angle = np.array([getattr(f, by) for f in faces])
        bins = np.floor(angle / bin_degrees).astype(np.int64)
        values = sorted(set(bins.tolist()))
        labels = np.array([values.index(b) for b in bins], dtype=np.int64)
    count = int(labels.max()) + 1 if len(labels) else 0
    width = max(3, len(str(count)))
    names = [f"group_{i + 1:0{width}d}" for i in range(count)]
    with store.transaction() as db:
        db.execute("UPDATE faces SET group_id = NULL")
        db.execute("DELETE FROM groups")
        ids = []
        for name in names:
            cursor = db.execute("INSERT INTO groups (name, method) VALUES (?, ?)", (name, by))
            ids.append(cursor.lastrowid)
        db.executemany(
            "UPDATE faces SET group_id = ? WHERE id = ?",
            [(ids[label], face.id) for face, label in zip(faces, labels, strict=True)],
        )
    if folders:
        for done, (face, path, label) in enumerate(zip(faces, paths, labels, strict=True), 1):
            target = store.root / FACES_DIR / names[label] / path.name
            if path != target:
                with store.transaction():
                    _move(store, face, path, target)
            if progress is not None:
                progress(done, len(faces))
        _remove_empty_folders(store.root / FACES_DIR)
    sizes = [int((labels == i).sum()) for i in range(count)]
    return GroupReport(groups=sizes, method=by)


def sort_order(faces: Sequence[FaceRow], by: str, reference: np.ndarray | None = None) -> list[FaceRow]:
    """The faces in ``by`` order: identity (similar faces side by side), reference (most similar first),
    yaw, pitch (ascending), sharpness (sharpest first), brightness (darkest first), colour (by hue),
    source (source, frame)."""
    if by not in SORT_KEYS:
        raise OptionError(f"Cannot sort by '{by}'; choose one of: {', '.join(SORT_KEYS)}.")
    faces = list(faces)
    if len(faces) < 2:
        return faces
    if by == "identity":
        from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering

        vectors = _embeddings(faces)
        tree = linkage(vectors, method="average", metric="euclidean")
        if len(faces) <= 2000:
            from scipy.spatial.distance import pdist

            tree = optimal_leaf_ordering(tree, pdist(vectors))
        return [faces[i] for i in leaves_list(tree)]
    if by == "reference":
        if reference is None:
            raise OptionError("Sorting by reference needs --reference PHOTO.")
        distance = np.linalg.norm(_embeddings(faces) - reference[None], axis=1)
        return [faces[i] for i in np.argsort(distance, kind="stable")]
    keys = {
        "yaw": lambda f: f.yaw,
        "pitch": lambda f: f.pitch,
        "sharpness": lambda f: -f.sharpness,
        "brightness": lambda f: f.brightness,
        "colour": lambda f: float(np.arctan2(f.colour_b, f.colour_a)),
        "source": lambda f: (f.source_id, f.frame, f.face_index),
    }
    return sorted(faces, key=keys[by])


def sort_faces(
    store: FacesetStore,
    by: str,
    reference: np.ndarray | None = None,
    progress: Progress | None = None,
) -> int:
    """Rename every crop to ``RRRRR_KEY.ext`` (its rank in ``by`` order), in the folder it is in, as one
    all-or-nothing step (:mod:`.renames`). Refused, with nothing renamed, when a crop is missing or a new
    name is taken by a file the index does not know."""
    ordered = sort_order(store.faces(), by, reference)
    width = max(5, len(str(len(ordered))))
    renames, missing = [], []
    for rank, face in enumerate(ordered):
        current = store.path_of(face)
        target = current.with_name(f"{rank:0{width}d}_{face.key}{current.suffix}")
        if target == current:
            continue
        if not current.is_file():
            missing.append(face.file)
        elif target.exists():
            raise InputError(
                f"Cannot sort: {target} exists and is not a crop the index knows by that name; move it out "
                "of the faceset (or run `faceforge faces clean`) and sort again. Nothing was renamed."
            )
        renames.append(plan_rename(face.id, face.file, store.relative(target)))  # type: ignore[arg-type]
    if missing:
        raise InputError(
            f"Cannot sort: {len(missing)} crops of the index are missing (first: {missing[0]}); run "
            "`faceforge faces clean` and sort again. Nothing was renamed."
        )
    rename_crops(store.root, store.db, renames, progress)
    return len(ordered)


# -- near-duplicates -------------------------------------------------------------------------------------


def _thumbnail(path: Path) -> np.ndarray | None:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        return None
    small = cv2.resize(image, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    return (small - small.mean()) / (small.std() + 1.0)


def find_duplicates(
    store: FacesetStore,
    pixel_threshold: float = 0.12,
    identity_threshold: float = 0.3,
    window: int = 8,
    progress: Progress | None = None,
) -> list[FaceRow]:
    """Near-identical faces: within one source, in frame order, a face whose identity is within
    ``identity_threshold`` of one of the last ``window`` kept faces and whose contrast-normalised 32-px
    thumbnail differs from it by less than ``pixel_threshold`` (mean absolute difference) is a duplicate.
    The first of each run of duplicates is kept."""
    faces = store.faces()
    duplicates: list[FaceRow] = []
    kept: dict[int, list[tuple[FaceRow, np.ndarray]]] = {}
    for done, face in enumerate(faces, 1):
        thumb = _thumbnail(store.path_of(face))
        if thumb is None:
            continue
        recent = kept.setdefault(face.source_id, [])
        is_duplicate = False
        for other, other_thumb in recent[-window:]:
            if (
                face.embedding is not None
                and other.embedding is not None
                and float(np.linalg.norm(face.embedding - other.embedding)) > identity_threshold
            ):
                continue
            if float(np.abs(thumb - other_thumb).mean()) < pixel_threshold:
                is_duplicate = True
                break
        if is_duplicate:
            duplicates.append(face)
        else:
            recent.append((face, thumb))
            del recent[:-window]
        if progress is not None:
            progress(done, len(faces))
    return duplicates


# -- clean -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CleanReport:
    rows_removed: int  # files gone: their rows were dropped
    rows_moved: int  # files found under another name or folder: the index now points there
    orphans: list[str]  # crop files the index does not know (relative paths)
    orphans_removed: int


def _remove_empty_folders(root: Path) -> None:
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        try:
            folder.rmdir()
        except OSError:
            continue


def clean_faceset(store: FacesetStore, remove_orphans: bool = False) -> CleanReport:
    """Bring the index in line with the files: rows whose crop is gone are dropped, crops moved or renamed
    by hand are found again by the key at the end of their name, crops the index does not know are
    reported (and moved to ``removed/`` with ``remove_orphans``)."""
    faces_dir = store.root / FACES_DIR
    on_disk: dict[str, Path] = {}
    orphans: list[Path] = []
    for path in sorted(faces_dir.rglob("*")):
        if not path.is_file():
            continue
        if path.name.startswith(TEMP_PREFIX):
            path.unlink(missing_ok=True)
            continue
        key = key_of(path) if is_image_path(path) else None
        if key is None or key in on_disk:
            orphans.append(path)
        else:
            on_disk[key] = path
    removed = moved = 0
    known = set()
    with store.transaction() as db:
        for face in store.faces():
            known.add(face.key)
            found = on_disk.get(face.key)
            if found is None:
                db.execute("DELETE FROM faces WHERE id = ?", (face.id,))
                removed += 1
            elif store.relative(found) != face.file:
                db.execute("UPDATE faces SET file = ? WHERE id = ?", (store.relative(found), face.id))
                moved += 1
    orphans += [p for k, p in on_disk.items() if k not in known]
    orphan_names = sorted(store.relative(p) for p in orphans)
    if remove_orphans and orphans:
        trash = store.root / REMOVED_DIR
        trash.mkdir(exist_ok=True)
        for path in orphans:
            os.replace(path, trash / path.name)
    _remove_empty_folders(faces_dir)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return CleanReport(removed, moved, orphan_names, len(orphans) if remove_orphans else 0)
