"""The swap option controls, generated from the option declarations (never a hand-written list).

Every option of :func:`faceforge.config.swap_declarations` (the swap CLI's single source: the options
declared with :func:`faceforge.options.option` on :class:`~faceforge.config.SwapConfig`'s dataclasses, then
each registered swapper's own under ``swappers.NAME.``) becomes one control, typed by its declaration:
choices (fixed, ``Literal`` or a registry's names) become a dropdown or, for a list option, a checkbox
group; a bounded number a slider; a number a number box; a flag a checkbox; anything else a text box. The
swapper is chosen from the swapper registry; a swapper's own controls are shown only while it is chosen
and only they apply to the run. Values come back through :func:`faceforge.options.coerce_value`, so the
UI checks them exactly as a config file is checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_origin

import gradio as gr

from faceforge.config import SWAPPER_PREFIX, SwapConfig, configured, swap_declarations
from faceforge.options import DeclaredOption, coerce_value, plain
from faceforge.swappers.registry import swapper_names

SWAPPER_KEY = "swapper"

#: The kinds of control :func:`option_control` makes (each has the ``change`` event the preview follows).
Control = gr.Textbox | gr.CheckboxGroup | gr.Dropdown | gr.Checkbox | gr.Slider | gr.Number


def swap_options() -> list[DeclaredOption]:
    """The declared options of a swap run, in declaration order (each swapper's own last)."""
    return swap_declarations()


def owning_swapper(key: str) -> str | None:
    """The swapper whose own option ``key`` is (``swappers.mesh.max_yaw`` -> ``mesh``), else None."""
    if not key.startswith(SWAPPER_PREFIX):
        return None
    return key[len(SWAPPER_PREFIX) :].partition(".")[0]


def applies(key: str, swapper: str | None) -> bool:
    """Whether option ``key`` takes part in a run of ``swapper``: another swapper's own options do not."""
    owner = owning_swapper(key)
    return owner is None or owner == swapper


def elem_id(key: str) -> str:
    """The HTML id of an option's control (``opt-video-crf``), for tests and styling."""
    return "opt-" + key.replace(".", "-").replace("_", "-")


def _label(opt: DeclaredOption) -> str:
    return opt.key


def option_control(opt: DeclaredOption) -> Control:
    """One Gradio control for ``opt``, its default selected and its help as the hint."""
    choices = opt.choices()
    common: dict[str, Any] = {"label": _label(opt), "info": opt.spec.help, "elem_id": elem_id(opt.key)}
    kind = opt.value_type
    default = plain(opt.default)
    if get_origin(kind) is tuple:
        if choices is not None:
            return gr.CheckboxGroup(choices=list(choices), value=list(default), **common)
        return gr.Textbox(value=",".join(str(v) for v in default), **common)
    if choices is not None:
        return gr.Dropdown(choices=list(choices), value=None if default is None else str(default), **common)
    if kind is bool:
        return gr.Checkbox(value=bool(default), **common)
    if kind in (int, float):
        step = 1 if kind is int else None
        if opt.spec.min is not None and opt.spec.max is not None:
            return gr.Slider(opt.spec.min, opt.spec.max, value=default, step=step or 0.01, **common)
        return gr.Number(
            value=default,
            minimum=opt.spec.min,
            maximum=opt.spec.max,
            precision=0 if kind is int else None,
            **common,
        )
    return gr.Textbox(value="" if default is None else str(default), **common)


def control_value(opt: DeclaredOption, raw: Any) -> Any:
    """A control's value as the option's type, checked like a config-file value."""
    if raw is None or (isinstance(raw, str) and not raw.strip() and opt.optional):
        return coerce_value(opt, None) if opt.optional else coerce_value(opt, opt.default)
    if opt.value_type is int and isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if get_origin(opt.value_type) is tuple and isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    return coerce_value(opt, raw)


@dataclass(frozen=True, slots=True)
class OptionControls:
    """The generated controls, in the order their values arrive in an event handler."""

    options: tuple[DeclaredOption, ...]
    swapper: gr.Dropdown
    components: tuple[Control, ...]
    #: The accordion of each swapper's own options, by swapper name (shown while that swapper is chosen).
    swapper_groups: Mapping[str, gr.Accordion]

    @property
    def inputs(self) -> list[Control]:
        return [self.swapper, *self.components]

    def config(self, values: Sequence[Any], base: SwapConfig | None = None) -> SwapConfig:
        """The :class:`SwapConfig` the controls show (``values`` in the order of :attr:`inputs`)."""
        base = base or SwapConfig()
        swapper, *rest = values
        chosen = base.swapper if swapper is None else str(swapper)
        settings = {
            opt.key: control_value(opt, raw)
            for opt, raw in zip(self.options, rest, strict=True)
            if applies(opt.key, chosen)
        }
        settings[SWAPPER_KEY] = chosen
        return configured(base, settings)

    def settings(self, values: Sequence[Any]) -> dict[str, Any]:
        """The controls' values by dotted key, as plain JSON values (for the job table); of the
        swappers' own options only the chosen swapper's."""
        swapper, *rest = values
        found = {
            opt.key: plain(control_value(opt, raw))
            for opt, raw in zip(self.options, rest, strict=True)
            if applies(opt.key, swapper)
        }
        return {SWAPPER_KEY: swapper, **found}


def config_from_settings(settings: dict[str, Any]) -> SwapConfig:
    """A :class:`SwapConfig` from :meth:`OptionControls.settings` (a stored job), checked again."""
    by_key = {opt.key: opt for opt in swap_options()}
    values = {key: coerce_value(by_key[key], value) for key, value in settings.items() if key in by_key}
    if settings.get(SWAPPER_KEY):
        values[SWAPPER_KEY] = str(settings[SWAPPER_KEY])
    return configured(SwapConfig(), values)


def build_controls() -> OptionControls:
    """The controls inside the current Blocks context, grouped by the first part of their key."""
    options = tuple(opt for opt in swap_options() if opt.key != SWAPPER_KEY)
    names = swapper_names()
    default = SwapConfig().swapper
    swapper = gr.Dropdown(
        choices=names,
        value=default if default in names else None,
        label=SWAPPER_KEY,
        info="Swapper (from the swapper registry).",
        elem_id=elem_id(SWAPPER_KEY),
    )
    components: list[Control] = []
    groups: dict[str, list[DeclaredOption]] = {}
    for opt in options:
        groups.setdefault(_group(opt.key), []).append(opt)
    swapper_groups: dict[str, gr.Accordion] = {}
    for group, members in groups.items():
        owner = owning_swapper(members[0].key)
        visible = owner is None or owner == swapper.value
        with gr.Accordion(group, open=group in ("general", "compose"), visible=visible) as accordion:
            components.extend(option_control(opt) for opt in members)
        if owner is not None:
            swapper_groups[owner] = accordion
    by_option = dict(zip([o for ms in groups.values() for o in ms], components, strict=True))
    if swapper_groups:
        owners = list(swapper_groups)
        swapper.change(
            lambda chosen: [gr.update(visible=owner == chosen) for owner in owners],
            swapper,
            list(swapper_groups.values()),
        )
    return OptionControls(options, swapper, tuple(by_option[opt] for opt in options), swapper_groups)


def _group(key: str) -> str:
    """The accordion an option is shown in: its first key part, ``swappers.NAME`` for a swapper's own."""
    owner = owning_swapper(key)
    if owner is not None:
        return f"{SWAPPER_PREFIX}{owner}"
    return key.split(".", 1)[0] if "." in key else "general"
