"""Merging per-input shard facesets into the job's faceset: the driver is its only writer.

Each extract task writes one input's faces into a shard faceset of its own (any worker, any machine that
sees the folder). The driver then copies a shard's source, crops and rows into the job's faceset through
the faceset store's API, renumbering the source and its face keys, in the inputs' order, so the merged
faceset's sources and crop names are the ones a one-machine ``faces extract`` of the same inputs gives.

A merge is safe to repeat: the crops are copied under their final names before the one transaction that
inserts the rows and marks the source done, and a source already done in the faceset is left alone.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from faceforge.errors import InputError
from faceforge.facesets.rows import FACES_DIR, face_key
from faceforge.facesets.store import FacesetStore
from faceforge.media.atomic import atomic_output


def shard_info(shard: Path) -> dict[str, str]:
    with FacesetStore.open(shard) as part:
        return part.info


def merge_shard(store: FacesetStore, shard: Path) -> int:
    """Copy every source of ``shard`` not yet done in ``store`` into it; the faces added."""
    added = 0
    with FacesetStore.open(shard) as part:
        clash = [key for key, value in part.info.items() if store.info.get(key) != value]
        if clash:
            raise InputError(
                f"The faceset {store.root} was made with other settings ({', '.join(sorted(clash))}) than "
                "this extraction; extract into a new faceset."
            )
        for source in part.sources():
            existing = store.source(source.path)
            if existing is not None and existing.done:
                continue
            if existing is None:
                existing = store.add_source(
                    path=source.path,
                    name=source.name,
                    kind=source.kind,
                    size_bytes=source.size_bytes,
                    mtime_ns=source.mtime_ns,
                    frame_count=source.frame_count,
                    options=source.options,
                )
            rows = []
            for face in part.faces("source_id = ?", (source.id,)):
                key = face_key(existing.id, face.frame, face.face_index)
                file = f"{FACES_DIR}/{key}{Path(face.file).suffix}"
                with atomic_output(store.root / file) as temp:
                    shutil.copyfile(part.path_of(face), temp)
                rows.append(replace(face, key=key, file=file, source_id=existing.id, id=None))
            store.commit_faces([(existing.id, rows, source.next_frame, source.done)])
            added += len(rows)
    return added
