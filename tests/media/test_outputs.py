"""Output rules: never over an input, never over an existing file without --overwrite, one writer at a
time per output (a second process is refused with a sentence naming the holder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from faceforge.errors import OutputError
from faceforge.outputs import OutputLock, check_output, lock_path


def test_an_output_naming_an_input_is_refused_even_with_overwrite(tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "media" / "clip.mp4"
    source.parent.mkdir()
    source.write_bytes(b"original")
    (tmp_path / "link.mp4").symlink_to(source)
    os.link(source, tmp_path / "hard.mp4")
    monkeypatch.chdir(tmp_path / "media")
    for output in (
        source,
        Path("clip.mp4"),
        Path("../media/./clip.mp4"),
        tmp_path / "link.mp4",
        tmp_path / "hard.mp4",
    ):
        for overwrite in (False, True):
            with pytest.raises(OutputError, match=r"is the input .* would destroy the original"):
                check_output(output, [source], overwrite=overwrite)
    with pytest.raises(OutputError, match="is the input"):
        check_output(Path("."), [tmp_path / "media"], overwrite=True)  # a folder run into its own input
    assert source.read_bytes() == b"original"


def test_an_existing_output_is_kept_unless_overwrite(tmp_path: Path) -> None:
    source, output = tmp_path / "a.jpg", tmp_path / "out.jpg"
    source.write_bytes(b"a")
    assert check_output(output, [source]) == output  # nothing there yet
    output.write_bytes(b"earlier result")
    with pytest.raises(OutputError, match=r"already exists and was kept; pass --overwrite \(-y\)"):
        check_output(output, [source])
    assert check_output(output, [source], overwrite=True) == output
    assert check_output(tmp_path, [source]) == tmp_path  # an existing folder is the caller's business
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputError, match="broken symbolic link"):
        check_output(tmp_path / "dangling", [source], overwrite=True)
    assert output.read_bytes() == b"earlier result"


_HOLD = """
import sys
from pathlib import Path
from faceforge.outputs import OutputLock
with OutputLock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_a_second_writer_of_one_output_is_refused_naming_the_holder(tmp_path: Path) -> None:
    output = tmp_path / "result.mp4"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(output)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"  # observable state: the other process holds it
        with pytest.raises(OutputError) as refused:
            OutputLock(output).acquire()
        text = str(refused.value)
        assert f"The output {output} is being written by another faceforge process (pid {holder.pid}" in text
        assert "wait for it to finish, or choose another output path." in text
    finally:
        holder.communicate("\n", timeout=60)
    assert holder.returncode == 0
    assert not lock_path(output).exists()  # the holder removed its lock file
    with OutputLock(output) as lock:  # free once released
        assert lock.held and lock_path(output).exists()
    assert not lock_path(output).exists() and not output.exists()


def test_a_lock_left_by_a_killed_holder_is_free(tmp_path: Path) -> None:
    output = tmp_path / "result.jpg"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(output)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait(timeout=60)
    assert lock_path(output).exists()  # SIGKILL left the file, but not the lock
    with OutputLock(output):
        pass
    assert not lock_path(output).exists()


def test_lock_names_fit_and_the_folder_is_created(tmp_path: Path) -> None:
    long_name = "x" * 250 + ".mp4"
    assert len(lock_path(tmp_path / long_name).name.encode()) <= 255
    with OutputLock(tmp_path / long_name):
        pass
    with OutputLock(tmp_path / "new" / "out.jpg"):
        assert (tmp_path / "new").is_dir()
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OutputError, match="Cannot write"):
        OutputLock(tmp_path / "file" / "out.jpg").acquire()
