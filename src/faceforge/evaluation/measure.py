"""Measuring one output against its target and source: identity, geometry, background, video stability,
frame count and audio, plus the thumbnails the report shows. Every configuration is measured the same way,
with the evaluation's own analyser (never the swapper's)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import cv2
import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.evaluation import metrics as m
from faceforge.evaluation.inputs import Gallery, InputAnalyses, PhotoAnalysis, VideoAnalysis, match_face
from faceforge.evaluation.pairs import Pair
from faceforge.media.images import jpeg_data_uri
from faceforge.media.video import probe_video, read_frames

UNCHANGED_GREY = 1.5  # mean |output - target| in the face (grey levels) below which a frame was not swapped

Row = dict[str, object]


def thumbnail(image: np.ndarray, box: np.ndarray | None, height: int = 160) -> str:
    """A JPEG data URI of the face (with some context) or, without a box, of the whole image."""
    if box is not None:
        x0, y0, x1, y1 = (float(v) for v in box)
        side = max(x1 - x0, y1 - y0) * 1.5
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        h, w = image.shape[:2]
        left, top = max(int(cx - side / 2), 0), max(int(cy - side / 2), 0)
        right, bottom = min(int(cx + side / 2), w), min(int(cy + side / 2), h)
        if right > left and bottom > top:
            image = image[top:bottom, left:right]
    scale = height / image.shape[0]
    size = (max(1, round(image.shape[1] * scale)), height)
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return jpeg_data_uri(small)


def _grey_diff(a: np.ndarray, b: np.ndarray, landmarks: np.ndarray) -> float:
    region = m.face_region(a.shape, [landmarks], dilate=0.0, extra_px=0)
    if not region.any():
        return float("nan")
    ga = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gb = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(ga - gb)[region].mean())


def audio_fingerprint(path: Path) -> tuple[float, str] | None:
    """(duration in seconds, sha256 of every audio packet's bytes) of the first audio stream, or None."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        digest = hashlib.sha256()
        end = 0.0
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            digest.update(bytes(packet))
            if packet.pts is not None and packet.time_base is not None:
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
        return end, digest.hexdigest()


def geometry(output: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Pose, expression and gaze errors of the output's landmarks against the target's."""
    yaw, pitch, roll = m.pose_error(output, target)
    expression = m.expression_error(output, target)
    return {
        "pose": float(np.mean([yaw, pitch, roll])),
        "pose_yaw": float(yaw),
        "pose_pitch": float(pitch),
        "pose_roll": float(roll),
        "expression": expression["total"],
        "expression_mouth": expression["mouth"],
        "expression_eyes": expression["eyes"],
        "expression_brows": expression["brows"],
        "gaze": m.gaze_error(output, target),
    }


class Measurer:
    """Scores outputs with the evaluation's analyser and the shared input analyses."""

    def __init__(self, analyser: FaceAnalyser, inputs: InputAnalyses, dilate: float) -> None:
        self.analyser = analyser
        self.inputs = inputs
        self.dilate = dilate

    def identity(
        self,
        row: Row,
        embedding: np.ndarray,
        pair: Pair,
        gallery: Gallery,
        target_embedding: np.ndarray | None,
    ) -> tuple[float, float, m.Retrieval]:
        """Distances of the output's identity to the source and the target, and its gallery retrieval."""
        distance = self.analyser.identity.distance
        source = self.inputs.photo(pair.source).main
        if source is None or source.embedding is None:
            raise ValueError(f"The source {pair.source} has no identity descriptor to measure against.")
        if target_embedding is None:
            raise ValueError(f"The target {pair.target} has no identity descriptor to measure against.")
        d_source, d_target = m.identity_distances(embedding, source.embedding, target_embedding, distance)
        retrieval = m.identity_retrieval(embedding, gallery.matrix, gallery.person_of[pair.source], distance)
        row["nearest"] = gallery.labels[retrieval.nearest]
        return d_source, d_target, retrieval

    def image(
        self, row: Row, pair: Pair, output: np.ndarray, target: PhotoAnalysis, gallery: Gallery
    ) -> bool:
        """Fill ``row`` with the image output's scores; False when the output has no face where the
        target's was (the caller marks the pair failed)."""
        if target.main is None:
            return False
        face = match_face(self.analyser.faces(output), target.main.box)
        if face is None:
            return False
        embedded = self.analyser.embed(output, [face])[0]
        if embedded.embedding is None:
            return False
        d_source, d_target, retrieval = self.identity(
            row, embedded.embedding, pair, gallery, target.main.embedding
        )
        row.update(
            id_source=d_source,
            id_target=d_target,
            id_top1=float(retrieval.top1),
            id_top5=float(retrieval.top5),
            **geometry(embedded.landmarks, target.main.landmarks),
        )
        row["bg_psnr"], row["bg_ssim"] = m.background_scores(
            target.image, output, [f.landmarks for f in target.faces], self.dilate
        )
        return True

    def video(
        self,
        row: Row,
        pair: Pair,
        target: VideoAnalysis,
        source: PhotoAnalysis,
        output_path: Path,
        gallery: Gallery,
    ) -> dict[str, str]:
        """Fill ``row`` with the video output's scores; the thumbnails of its worst sampled frame."""
        analyser = self.analyser
        info = probe_video(output_path)
        face_frames = failed = sampled = reverted = 0
        out_landmarks: list[np.ndarray | None] = []
        out_means: list[float | None] = []
        per_frame: dict[str, list[float]] = {}
        identity: dict[str, list[float]] = {"id_source": [], "id_target": [], "id_top1": [], "id_top5": []}
        background: dict[str, list[float]] = {"bg_psnr": [], "bg_ssim": []}
        worst: tuple[float, np.ndarray, np.ndarray, np.ndarray] | None = None
        frames = 0
        for target_frame, output_frame in zip(
            read_frames(pair.target), read_frames(output_path), strict=False
        ):
            frames += 1
            i = target_frame.index
            tface = target.faces[i] if i < len(target.faces) else None
            if tface is None:
                out_landmarks.append(None)
                out_means.append(None)
                continue
            face_frames += 1
            out_means.append(m.region_mean(output_frame.image, tface.landmarks))
            face = match_face(analyser.faces(output_frame.image), tface.box)
            unchanged = _grey_diff(output_frame.image, target_frame.image, tface.landmarks) < UNCHANGED_GREY
            if face is None or unchanged:
                failed += 1
                out_landmarks.append(None)
                continue
            out_landmarks.append(face.landmarks)
            for key, value in geometry(face.landmarks, tface.landmarks).items():
                per_frame.setdefault(key, []).append(value)
            embedded = (
                analyser.embed(output_frame.image, [face])[0].embedding if i in target.embeddings else None
            )
            if embedded is not None:
                sampled += 1
                d_source, d_target, retrieval = self.identity(
                    row, embedded, pair, gallery, target.embeddings[i]
                )
                reverted += m.is_reverted(d_source, d_target)
                identity["id_source"].append(d_source)
                identity["id_target"].append(d_target)
                identity["id_top1"].append(float(retrieval.top1))
                identity["id_top5"].append(float(retrieval.top5))
                psnr, ssim = m.background_scores(
                    target_frame.image, output_frame.image, [tface.landmarks], self.dilate
                )
                background["bg_psnr"].append(psnr)
                background["bg_ssim"].append(ssim)
                if worst is None or d_source > worst[0]:
                    worst = (d_source, target_frame.image, output_frame.image, tface.box)
        for key, values in {**per_frame, **identity, **background}.items():
            row[key] = float(np.nanmean(values)) if values else float("nan")
        if not identity["id_top1"]:  # no sampled frame had a usable output face: a retrieval miss
            row["id_top1"] = row["id_top5"] = 0.0
        row["frames"] = frames
        row["target_face_frames"] = face_frames
        row["failed_frames"] = failed / face_frames if face_frames else float("nan")
        row["reverted_frames"] = reverted / sampled if sampled else float("nan")
        output_jitter = m.landmark_jitter(out_landmarks)
        row["jitter"] = output_jitter
        row["jitter_ratio"] = m.ratio(output_jitter, target.jitter)
        row["flicker_ratio"] = m.ratio(m.flicker(out_means), target.flicker)
        row["residual_flicker"] = m.residual_flicker(out_means, target.means)
        row["frames_match"] = float(
            info.frame_count == target.info.frame_count and frames == len(target.faces)
        )
        row["duration_diff_s"] = abs(info.duration - target.info.duration)
        _measure_audio(row, pair.target, output_path)
        if face_frames and failed == face_frames:
            row["status"] = "failed"
            row["note"] = "no frame of the output has a swapped face where the target's is"
        elif sampled and reverted == sampled:
            row["status"] = "failed"
            row["note"] = "every sampled output face is closer to the target's identity than the source's"
        thumbs: dict[str, str] = {}
        if source.main is not None:
            thumbs["source"] = thumbnail(source.image, source.main.box)
        if worst is not None:
            thumbs["target"] = thumbnail(worst[1], worst[3])
            thumbs["output"] = thumbnail(worst[2], worst[3])
        return thumbs


def _measure_audio(row: Row, target: Path, output: Path) -> None:
    want, got = audio_fingerprint(target), audio_fingerprint(output)
    if want is None or got is None:
        row["audio_ok"] = float(want is None and got is None)
        row["audio_bitexact"] = row["audio_ok"]
    else:
        row["audio_ok"] = float(abs(want[0] - got[0]) <= 0.1)
        row["audio_bitexact"] = float(want[1] == got[1])
