"""The Facesets tab without a browser: a real extraction of two people with progress, identity groups
shown as cards, and keep/remove of groups through the faceset functions the CLI uses."""

from __future__ import annotations

import time
from pathlib import Path

from faceforge.facesets.store import FacesetStore
from faceforge.ui.facesets_tab import FacesetsTab, group_cards


class Click:
    """What a click on a gallery item hands the handler (the value part of ``gr.SelectData``)."""

    def __init__(self, caption: str) -> None:
        self.value = {"caption": caption}


def _finished(tab: FacesetsTab, faceset: Path, limit_s: float = 240.0) -> tuple[str, str]:
    """Poll the tab's refresh until the extraction reports its end sentence."""
    deadline = time.monotonic() + limit_s
    while True:
        bar, message = tab.on_refresh(str(faceset))
        if isinstance(message, str):
            return bar, message
        assert time.monotonic() < deadline, "the extraction did not finish"
        time.sleep(0.2)


def test_extract_group_keep_and_remove(testdata: Path, tmp_path: Path):
    tab = FacesetsTab()
    faceset = tmp_path / "faceset"
    assert "Give at least one input" in tab.on_extract("", str(faceset))
    photos = "\n".join(str(testdata / name) for name in ("face_frontal_a.jpg", "face_frontal_b.jpg"))
    assert tab.on_extract(photos, str(faceset)).startswith("Extracting into ")
    bar, message = _finished(tab, faceset)
    assert message == "Extracted 2 face(s) from 2 source(s)." and 'value="100"' in bar

    said, gallery, chosen, _ = tab.on_group(str(faceset))
    assert said == "2 group(s): sizes [1, 1]." and chosen == []
    cards = group_cards(faceset)
    assert [caption for _, caption in gallery] == [f"group {c.number}: {c.size} faces" for c in cards]
    assert [c.number for c in cards] == [1, 2] and cards[0].thumbnail.ndim == 3

    assert tab.on_keep(str(faceset), [])[0] == "**Error:** Click the groups to keep or remove first."
    chosen, selection = tab.on_choose([], Click("group 2: 1 faces"))
    assert chosen == [2] and selection == "Chosen: group 2"
    assert tab.on_choose(chosen, Click("group 2: 1 faces"))[0] == []  # a second click unchooses
    said, gallery, chosen, _ = tab.on_keep(str(faceset), [2])
    assert said == "Removed 1 face(s) (moved to the faceset's removed/ folder)." and len(gallery) == 1
    with FacesetStore.open(faceset) as store:
        assert store.count() == 1
    said, gallery, _, _ = tab.on_remove(str(faceset), [2])
    assert said.startswith("Removed 1 face(s)") and gallery == []
    assert len(list((faceset / "removed").iterdir())) == 2
