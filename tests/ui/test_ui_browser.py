"""The Swap tab driven in headless chromium: upload, click a face, change an option, run, download,
bad uploads and a video with audio. One server for the module; each step waits for what the page
shows (a status sentence, a new preview, a finished job), never for a fixed time."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from ui_servers import listening_addresses

from faceforge.media.images import read_image
from faceforge.media.probe import probe_video
from faceforge.media.provenance import read_tag


@pytest.fixture(scope="module")
def page(browser, ui_server, step_ms: int) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(step_ms)
    page.goto(ui_server.url)
    yield page
    context.close()


def upload(page: Page, component: str, *paths: Path) -> None:
    page.locator(f"{component} input[type=file]").set_input_files([str(p) for p in paths])


def clear(page: Page, component: str) -> None:
    """Remove a File component's upload (its clear button), so the next upload is a fresh one."""
    page.locator(f"{component} button[aria-label='Clear']").click()


def preview_src(page: Page) -> str:
    image = page.locator("#preview img")
    expect(image).to_be_visible()
    return str(image.get_attribute("src"))


def wait_new_preview(page: Page, old: str) -> str:
    """The preview's source once it differs from ``old`` (the server renders each preview to a new file)."""
    page.wait_for_function(
        "old => { const i = document.querySelector('#preview img'); return i && i.src !== old; }", arg=old
    )
    return preview_src(page)


def pixels(page: Page, src: str) -> np.ndarray:
    response = page.request.get(src)
    assert response.ok
    return np.asarray(Image.open(io.BytesIO(response.body())).convert("RGB"))


def status(page: Page):
    return page.locator("#status")


def test_default_bind_is_loopback_and_the_url_is_printed(ui_server):
    assert ui_server.url == f"http://127.0.0.1:{ui_server.port}/"  # started without --host
    assert listening_addresses(ui_server.port) == {"127.0.0.1"}


@pytest.mark.slow
def test_image_swap_from_upload_to_download(
    page: Page, ui_server, testdata: Path, screenshots: Path, tmp_path
):
    upload(page, "#sources", testdata / "face_frontal_b.jpg")
    expect(status(page)).to_contain_text("1 source photo(s) ready.")
    upload(page, "#target", testdata / "group_3faces.jpg")
    expect(status(page)).to_contain_text("Preview: 1 face(s) swapped.")
    thumbnails = page.locator("#faces button.thumbnail-item")
    expect(thumbnails).to_have_count(3)
    largest = preview_src(page)

    thumbnails.nth(2).click()  # the man in glasses on the right
    expect(page.locator("#selection")).to_contain_text("Swapping face 3.")
    chosen = wait_new_preview(page, largest)
    expect(status(page)).to_contain_text("Preview: 1 face(s) swapped.")
    before, after = pixels(page, largest), pixels(page, chosen)
    target = read_image(testdata / "group_3faces.jpg")
    assert before.shape == after.shape == target.shape
    changed_before = np.abs(before.astype(int) - target).sum(axis=2) > 30
    changed_after = np.abs(after.astype(int) - target).sum(axis=2) > 30
    columns = np.nonzero(changed_after.any(axis=0))[0]
    assert columns.min() > target.shape[1] * 0.55, "the clicked face (right) is the one swapped"
    assert not np.array_equal(changed_before, changed_after)

    page.locator("#opt-processors input[name='watermark']").check()
    marked = wait_new_preview(page, chosen)
    assert np.abs(pixels(page, marked).astype(int) - after).sum() > 0, "the watermark option shows at once"
    page.screenshot(path=str(screenshots / "swap-preview.png"), full_page=True)

    page.locator("#run").click()
    expect(status(page)).to_contain_text("Job 1 queued.")
    expect(page.locator("#jobs tr[data-job='1'] .job-state")).to_have_text("done")
    expect(page.locator("#result-image img")).to_be_visible()
    with page.expect_download() as download:
        page.locator("#download a").first.click()
    saved = tmp_path / "result.png"
    download.value.save_as(saved)
    result = read_image(saved)
    assert result.shape == target.shape
    assert np.abs(result.astype(int) - pixels(page, marked)).max() <= 1, (
        "the run writes what the preview showed"
    )
    tag = read_tag(saved)
    assert tag is not None and tag["synthetic"] is True and tag["processors"] == ["watermark"]
    page.screenshot(path=str(screenshots / "swap-done.png"), full_page=True)

    page.reload()  # the job table lives on the server: a reload shows the finished job again
    expect(page.locator("#jobs tr[data-job='1'] .job-state")).to_have_text("done")
    page.locator("#opt-processors").wait_for()


@pytest.mark.slow
def test_compare_renders_each_option_set_with_its_metrics(page: Page, testdata: Path, screenshots: Path):
    page.reload()
    upload(page, "#sources", testdata / "face_frontal_b.jpg")
    expect(status(page)).to_contain_text("1 source photo(s) ready.")
    upload(page, "#target", testdata / "face_frontal_a.jpg")
    expect(status(page)).to_contain_text("Preview: 1 face(s) swapped.")
    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-set-2 textarea").fill("compose.color=nonsense")
    page.locator("#compare-run").click()
    expect(page.locator("#compare-status")).to_contain_text("compose.color")  # the choices, in one sentence
    page.locator("#compare-set-2 textarea").fill("compose.blend=poisson")
    page.locator("#compare-run").click()
    expect(page.locator("#compare-status")).to_contain_text("Compared 3 option sets on the target image.")
    shown = []
    for column in range(3):
        expect(page.locator(f"#compare-scores-{column}")).to_contain_text("identity to source")
        expect(page.locator(f"#compare-scores-{column}")).to_contain_text("background PSNR")
        shown.append(pixels(page, str(page.locator(f"#compare-image-{column} img").get_attribute("src"))))
    assert shown[0].shape == shown[1].shape == shown[2].shape
    assert np.abs(shown[0].astype(int) - shown[1]).sum() > 0, "colour transfer off changes the face"
    assert np.abs(shown[0].astype(int) - shown[2]).sum() > 0, "Poisson blending changes the seam"
    page.screenshot(path=str(screenshots / "compare.png"), full_page=True)
    page.get_by_role("tab", name="Swap").click()


def session_folders(server) -> set[str]:
    root = server.workdir / "sessions"
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


def wait_until(condition, what: str, limit_s: float = 60.0) -> None:
    """Poll ``condition`` until it holds (the server removes folders on its own schedule)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.2)


@pytest.mark.slow
def test_a_reloaded_page_leaves_no_uploads_behind(page: Page, ui_server, testdata: Path):
    page.reload()
    before = session_folders(ui_server)
    upload(page, "#sources", testdata / "face_frontal_b.jpg")
    expect(status(page)).to_contain_text("1 source photo(s) ready.")
    mine = session_folders(ui_server) - before
    assert len(mine) == 1 and len(list((ui_server.workdir / "sessions" / next(iter(mine))).iterdir())) == 1
    page.reload()
    wait_until(lambda: not (mine & session_folders(ui_server)), "the old page's upload folder is removed")


@pytest.mark.slow
def test_bad_uploads_are_one_visible_sentence(page: Page, ui_server, tmp_path, screenshots: Path):
    page.reload()
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    upload(page, "#target", notes)
    expect(status(page)).to_contain_text("notes.txt is not an image or a video faceforge reads")
    clear(page, "#target")
    fake = tmp_path / "holiday.jpg"
    fake.write_text("a text file with an image's name")
    upload(page, "#target", fake)
    expect(status(page)).to_contain_text("Error:")
    expect(status(page)).to_contain_text("holiday.jpg")
    page.screenshot(path=str(screenshots / "bad-upload.png"), full_page=True)
    text = page.locator("body").inner_text()
    assert "Traceback" not in text and "Exception" not in text


@pytest.mark.slow
def test_video_swap_keeps_frames_and_audio(
    page: Page, ui_server, testdata: Path, screenshots: Path, tmp_path
):
    page.reload()
    upload(page, "#sources", testdata / "face_frontal_a.jpg")
    expect(status(page)).to_contain_text("1 source photo(s) ready.")
    clip = testdata / "talking_audio_3s.mp4"
    upload(page, "#target", clip)
    expect(status(page)).to_contain_text("Preview: 1 face(s) swapped.")
    expect(page.locator("#frame")).to_be_visible()
    page.locator("#run").click()
    expect(status(page)).to_contain_text("queued.")
    job = page.locator("#jobs tr.job").first  # the newest job is listed first
    expect(job.locator(".job-state")).to_have_text("done")
    expect(page.locator("#result-video video")).to_be_visible()
    page.screenshot(path=str(screenshots / "video-done.png"), full_page=True)
    with page.expect_download() as download:
        page.locator("#download a").first.click()
    saved = tmp_path / "result.mp4"
    download.value.save_as(saved)
    source, result = probe_video(clip), probe_video(saved)
    assert result.frame_count == source.frame_count
    assert result.has_audio and result.audio_codec is not None
    assert read_tag(saved) is not None


@pytest.mark.slow
def test_every_tab_opens(page: Page, screenshots: Path):
    page.reload()
    for tab, element in [
        ("Compare", "#compare-run"),
        ("Live", "#live-camera"),
        ("Facesets", "#faceset-extract"),
        ("Train", "#train-start"),
        ("Swap", "#run"),
    ]:
        page.get_by_role("tab", name=tab).click()
        expect(page.locator(element)).to_be_visible()
        page.screenshot(path=str(screenshots / f"tab-{tab.lower()}.png"))
    assert "Error" not in page.locator("body").inner_text()


@pytest.mark.slow
def test_a_swappers_own_options_show_while_it_is_chosen(page: Page, screenshots: Path):
    """The mesh swapper's max_yaw (declared on its own options, not on SwapConfig) has a control in the
    swappers.mesh group; choosing ghost shows ghost's group (its backend) and hides mesh's."""
    page.reload()
    page.get_by_text("swappers.mesh", exact=True).click()
    expect(page.locator("#opt-swappers-mesh-max-yaw")).to_be_visible()
    expect(page.locator("#opt-swappers-ghost-backend")).to_be_hidden()
    page.locator("#opt-swapper input").click()
    page.get_by_role("option", name="ghost", exact=True).click()
    page.get_by_text("swappers.ghost", exact=True).click()
    expect(page.locator("#opt-swappers-ghost-backend")).to_be_visible()
    expect(page.locator("#opt-swappers-mesh-max-yaw")).to_be_hidden()
    page.screenshot(path=str(screenshots / "swapper-options.png"))


def fake_camera_file(clip: Path, path: Path, frames: int = 30) -> Path:
    """The first ``frames`` of ``clip`` at 320x180 as Y4M, which chromium plays as its fake webcam."""
    import av
    import cv2

    from faceforge.media.video import read_frames

    with av.open(str(path), "w", format="yuv4mpegpipe") as out:
        stream = out.add_stream("wrapped_avframe", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        reader = read_frames(clip)
        for frame in reader:
            if frame.index >= frames:
                break
            small = cv2.resize(frame.image, (320, 180), interpolation=cv2.INTER_AREA)
            picture = av.VideoFrame.from_ndarray(small, format="rgb24").reformat(format="yuv420p")
            picture.pts = frame.index
            out.mux(stream.encode(picture))
        reader.close()
        out.mux(stream.encode(None))
    return path


@pytest.mark.slow
def test_live_tab_swaps_the_browser_webcam(
    playwright, ui_server, testdata: Path, tmp_path: Path, screenshots: Path, step_ms: int
):
    from ui_servers import CHROMIUM, CHROMIUM_FLAGS

    camera = fake_camera_file(testdata / "talking_audio_3s.mp4", tmp_path / "camera.y4m")
    flags = [
        *CHROMIUM_FLAGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
    ]
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=flags)
    try:
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.set_default_timeout(step_ms)
        page.goto(ui_server.url)
        upload(page, "#sources", testdata / "face_frontal_b.jpg")
        expect(status(page)).to_contain_text("1 source photo(s) ready.")
        page.get_by_role("tab", name="Live").click()
        page.locator("#live-camera").get_by_text("Click to Access Webcam").click()
        page.locator("#live-camera button[aria-label='capture photo']").click()  # starts streaming
        page.wait_for_function(
            "() => { const t = document.querySelector('#live-status')?.innerText || '';"
            " const n = parseInt(t); return n >= 5; }"
        )
        swapped = pixels(page, str(page.locator("#live-output img").get_attribute("src")))
        assert swapped.shape[:2] == (180, 320) and swapped.std() > 10
        page.screenshot(path=str(screenshots / "live.png"))
    finally:
        browser.close()
