"""The metrics an evaluation reports: key, label, unit, which way is better and what each one measures.

One table read by the measuring code (keys), the aggregation, the report and the CLI summary.
"""

from __future__ import annotations

from dataclasses import dataclass

from faceforge.analysis.identity import SAME_PERSON


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    label: str
    unit: str
    better: str  # "lower" or "higher"
    kind: str  # "all", "image" or "video"
    percent: bool = False
    summary: bool = True  # shown in the summary table (all are in the per-pair table and the files)
    description: str = ""


METRICS: tuple[Metric, ...] = (
    Metric(
        "id_source",
        "ID dist. to source",
        "",
        "lower",
        "all",
        description="identity distance of the output face to the source photo "
        f"(same person < {SAME_PERSON:g})",
    ),
    Metric(
        "id_target",
        "ID dist. to target",
        "",
        "higher",
        "all",
        description="identity distance of the output face to the target face it replaced",
    ),
    Metric(
        "id_top1",
        "ID retrieval top-1",
        "%",
        "higher",
        "all",
        percent=True,
        description="the output's nearest identity in the gallery of every person is the source",
    ),
    Metric(
        "id_top5",
        "ID retrieval top-5",
        "%",
        "higher",
        "all",
        percent=True,
        description="the source is among the output's 5 nearest identities in the gallery",
    ),
    Metric(
        "pose",
        "pose error",
        "deg",
        "lower",
        "all",
        description="mean of the absolute yaw, pitch and roll differences, output vs target",
    ),
    Metric("pose_yaw", "yaw error", "deg", "lower", "all", summary=False),
    Metric("pose_pitch", "pitch error", "deg", "lower", "all", summary=False),
    Metric("pose_roll", "roll error", "deg", "lower", "all", summary=False),
    Metric(
        "expression",
        "expression error",
        "IOD",
        "lower",
        "all",
        description="mouth/eye/brow landmark distance after removing head pose, in inter-ocular distances",
    ),
    Metric("expression_mouth", "mouth error", "IOD", "lower", "all", summary=False),
    Metric("expression_eyes", "eyes error", "IOD", "lower", "all", summary=False),
    Metric("expression_brows", "brows error", "IOD", "lower", "all", summary=False),
    Metric(
        "gaze",
        "gaze error",
        "eye w.",
        "lower",
        "all",
        description="distance between the iris positions within the eye opening, in eye widths",
    ),
    Metric(
        "bg_psnr",
        "background PSNR",
        "dB",
        "higher",
        "all",
        description="PSNR outside the dilated face region (100 = untouched)",
    ),
    Metric(
        "bg_ssim",
        "background SSIM",
        "",
        "higher",
        "all",
        description="SSIM outside the dilated face region (1 = untouched)",
    ),
    Metric(
        "failed_frames",
        "failed frames",
        "%",
        "lower",
        "video",
        percent=True,
        description="frames with a target face where the output has no face there, or it was not swapped",
    ),
    Metric(
        "reverted_frames",
        "reverted frames",
        "%",
        "lower",
        "video",
        percent=True,
        description="sampled frames whose output face is closer to the target's identity than the source's",
    ),
    Metric(
        "jitter_ratio",
        "landmark jitter ratio",
        "x",
        "lower",
        "video",
        description="landmark acceleration of the output face over the target's own (1 = no added jitter)",
    ),
    Metric(
        "flicker_ratio",
        "flicker ratio",
        "x",
        "lower",
        "video",
        description="frame-to-frame face brightness change of the output over the target's own",
    ),
    Metric(
        "residual_flicker",
        "residual flicker",
        "grey",
        "lower",
        "video",
        description="frame-to-frame change of (output - target) face brightness, in grey levels",
    ),
    Metric(
        "frames_match",
        "frame count kept",
        "%",
        "higher",
        "video",
        percent=True,
        description="the output has exactly the target's frame count",
    ),
    Metric(
        "duration_diff_s",
        "duration diff.",
        "s",
        "lower",
        "video",
        summary=False,
        description="absolute difference of output and target durations",
    ),
    Metric(
        "audio_ok",
        "audio intact",
        "%",
        "higher",
        "video",
        percent=True,
        description="audio present exactly when the target has it, and of the same duration (±0.1 s)",
    ),
    Metric(
        "audio_bitexact",
        "audio bit-exact",
        "%",
        "higher",
        "video",
        percent=True,
        summary=False,
        description="the output's audio packets are byte-identical to the target's",
    ),
    Metric(
        "fps",
        "speed",
        "fps",
        "higher",
        "all",
        description="frames (or images) swapped per second, decoding and encoding included, loading not",
    ),
    Metric(
        "peak_rss_mb",
        "peak memory",
        "MB",
        "lower",
        "all",
        description="peak resident memory of the process while swapping (measurement models included)",
    ),
)
METRIC_BY_KEY = {metric.key: metric for metric in METRICS}
