"""udgan_tf.demo on a tiny trained run: the page's handlers, bad uploads, the refusal of paths a client
names, the export backend, the command line's errors, and the page in a real browser (Playwright
driving Debian's Chromium)."""

import contextlib
import fcntl
import functools
import io
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse

import httpx
import numpy as np
import pytest
from PIL import Image

from udgan_tf.editing import encoder_training
from udgan_tf.demo import __main__ as demo_command
from udgan_tf.demo import app as demo_lib
from udgan_tf.demo import guard as demo_guard
from udgan_tf.demo.app import DemoPage
from udgan_tf.demo.guard import RefuseClientPaths, is_inside, uploaded_paths
from udgan_tf.demo.backends import DemoError, ExportBackend, RunBackend, open_backend
from udgan_tf.editing import MAX_FILE_BYTES, read_image
from udgan_tf.runs import png_bytes

REPO = pathlib.Path(__file__).resolve().parents[1]
NAMES = ["free_1", "free_2", "x"]
BROWSER = "/usr/bin/chromium"
# Every test that uses the tiny run is marked slow: training it and its encoder takes about a minute.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A 200-step dSprites run at 16x16 with a 300-step knob encoder, trained once per session:
    pytest-xdist's workers share it through a lock in the session's base directory."""
    from udgan_tf import config as config_lib, train as train_lib

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    run_dir = shared / "demo_tiny_run"
    with open(shared / "demo_tiny_run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (run_dir / "trained").exists():
            shutil.rmtree(run_dir, ignore_errors=True)
            config = config_lib.resolve_config({
                "dataset": {"name": "dsprites"},
                "model": {"resolution": 16, "filters": 8, "seed": 1,
                          "knobs": [{"name": "free", "count": 2}, {"name": "x", "guidance": "center_of_mass_x"}]},
                "training": {"steps": 200, "batch_size": 8, "log_every": 50, "checkpoint_every": 100,
                             "backup_every_steps": 100, "image_every": 1000, "traversal_values": 3}})
            train_lib.train(config, run_dir, verbose=0)
            encoder_training.train_encoder(run_dir, steps=300, log_every=50, backup_every=100, filters=8, verbose=0)
            (run_dir / "trained").touch()
    return run_dir


@pytest.fixture(scope="module")
def backend(tiny_run):
    return RunBackend(tiny_run)


@pytest.fixture(scope="module")
def page(backend):
    return DemoPage(backend)


@pytest.fixture(scope="module")
def run_without_encoder(tiny_run, tmp_path_factory):
    copy = tmp_path_factory.mktemp("no_encoder") / "run"
    shutil.copytree(tiny_run, copy, ignore=shutil.ignore_patterns("inversion"))
    return copy


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(page):
    """The page served in this process on a free port: (url, page)."""
    demo = page.build()
    url = demo_lib.serve(demo, port=free_port())
    yield url.rstrip("/"), page
    demo.close()


def generated_png(backend, knobs):
    """PNG bytes of the model's own image of ``knobs`` ([Z])."""
    return png_bytes(backend.generate(np.asarray([knobs], np.float32))[0])


def png_of(array, mode=None):
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return buffer.getvalue()


@functools.cache
def bad_file(name):
    """(bytes, what the message says) of a file that the page refuses."""
    return {
        "empty": lambda: (b"", "The file is empty"),
        "not_an_image": lambda: (b"knob,value\nx,0.5\n", "not an image"),
        "too_many_pixels": lambda: (png_of(np.zeros((4000, 4000), np.uint8)), "4000x4000 pixels"),
        "colour_for_grayscale": lambda: (png_of(np.zeros((16, 16, 3), np.uint8)), "colour (3 channels)"),
        "over_the_size_limit": lambda: (b"\x89PNG" + b"\0" * (MAX_FILE_BYTES + 1), "the limit is 10 MiB"),
    }[name]()


BAD_FILES = ["empty", "not_an_image", "too_many_pixels", "colour_for_grayscale", "over_the_size_limit"]


# ---------------------------------------------------------------- the handlers


def test_one_slider_label_per_knob_dimension():
    knobs = [{"name": "x", "width": 1}, {"name": "colour", "width": 2}]
    assert demo_lib.slider_labels(knobs) == ["x", "colour[0]", "colour[1]"]


@pytest.mark.slow
def test_one_slider_per_knob_named_after_it_in_minus_one_to_one(page):
    import gradio as gr

    demo = page.build()
    sliders = [block for block in demo.blocks.values() if isinstance(block, gr.Slider)]
    assert [s.label for s in sliders] == NAMES
    assert {(s.minimum, s.maximum) for s in sliders} == {(-1.0, 1.0)}
    dropdown = next(block for block in demo.blocks.values() if isinstance(block, gr.Dropdown))
    assert [choice[0] for choice in dropdown.choices] == NAMES


@pytest.mark.slow
def test_render_and_strip_draw_what_the_backend_draws(page, backend):
    values = [0.3, -0.4, 0.9]
    image = page.render(*values)
    assert np.array_equal(np.asarray(image), np.asarray(Image.open(io.BytesIO(generated_png(backend, values)))))
    strip = np.asarray(page.strip("x", *values))
    assert strip.shape == (16, 16 * 8)
    swept = backend.traverse(np.array(values, np.float32), "x", np.linspace(-1, 1, 8))
    for i, tile in enumerate(swept):
        assert np.array_equal(strip[:, 16 * i:16 * (i + 1)], np.asarray(Image.open(io.BytesIO(png_bytes(tile)))))
    assert not np.array_equal(strip[:, :16], strip[:, -16:])   # x = -1 and x = 1 draw different images


@pytest.mark.slow
def test_random_sample_moves_the_sliders_to_the_knobs_it_draws(page, backend):
    image, *values, strip = page.random("x")
    assert len(values) == 3 and all(-1 <= v <= 1 for v in values)
    assert np.array_equal(np.asarray(image), np.asarray(page.render(*values)))
    assert np.array_equal(np.asarray(strip), np.asarray(page.strip("x", *values)))
    assert page.random("x")[1:4] != values


@pytest.mark.slow
def test_bad_slider_values_are_refused_with_a_message(page):
    import gradio as gr

    with pytest.raises(gr.Error, match="finite numbers in"):
        page.render(float("nan"), 0.0, 0.0)
    with pytest.raises(gr.Error, match="Expected 3 knob values"):
        page.render(0.0, 0.0)
    with pytest.raises(gr.Error, match="Unknown knob 'size'"):
        page.strip("size", 0.0, 0.0, 0.0)


@pytest.mark.slow
def test_upload_moves_the_sliders_to_the_inverted_knobs(page, backend):
    data = generated_png(backend, [0.5, -0.5, 0.25])
    cleared, status, preview, image, *values, strip = page.upload(data, "x")
    expected = backend.editor.invert(read_image(data, 16, 1)[None])[0]
    assert values == [float(v) for v in expected]
    assert cleared is None and status.startswith("Recovered the knobs of your image")
    assert np.array_equal(np.asarray(preview), np.asarray(Image.open(io.BytesIO(data))))
    assert np.array_equal(np.asarray(image), np.asarray(page.render(*values)))
    assert np.array_equal(np.asarray(strip), np.asarray(page.strip("x", *values)))


@pytest.mark.slow
@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_upload_gives_its_message_and_changes_nothing_else(page, name):
    import gradio as gr

    data, message = bad_file(name)
    cleared, status, *rest = page.upload(data, "x")
    assert cleared is None and status.startswith("**Cannot use this file.**") and message in status, status
    assert len(rest) == 3 + 3 and all(value == gr.skip() for value in rest)


@pytest.mark.slow
def test_a_run_without_knob_encoder_still_slides_and_says_how_to_train_one(run_without_encoder):
    page = DemoPage(RunBackend(run_without_encoder))
    assert page.backend.can_invert is False
    assert page.render(0.0, 0.5, -0.5).size == (16, 16)
    _, status, *_ = page.upload(bad_file("colour_for_grayscale")[0], "x")
    assert f"python -m udgan_tf.inversion --run-dir {run_without_encoder}" in status
    import gradio as gr

    demo = page.build()
    upload = next(block for block in demo.blocks.values() if isinstance(block, gr.File))
    markdown = [block.value for block in demo.blocks.values() if isinstance(block, gr.Markdown)]
    assert upload.interactive is False and any("python -m udgan_tf.inversion" in text for text in markdown)


@pytest.mark.slow
def test_the_export_backend_draws_inverts_and_traverses_like_the_run(tiny_run, backend, tmp_path):
    from udgan_tf.serving.export import export_run

    exported = ExportBackend(export_run(tiny_run, tmp_path, "udgan"))
    assert exported.knobs == backend.knobs and exported.image_shape == (16, 16, 1) and exported.can_invert
    knobs = np.array([[0.3, -0.4, 0.9], [-1.0, 1.0, 0.0]], np.float32)
    np.testing.assert_allclose(exported.generate(knobs), backend.generate(knobs), atol=1e-5)
    np.testing.assert_allclose(exported.traverse(knobs[0], "x", [-1.0, 1.0]),
                               backend.traverse(knobs[0], "x", [-1.0, 1.0]), atol=1e-5)
    images = backend.generate(knobs)
    np.testing.assert_allclose(exported.invert(images), backend.invert(images), atol=1e-5)
    with pytest.raises(DemoError, match="Unknown knob 'size'"):
        exported.traverse(knobs[0], "size", [0.0])
    with pytest.raises(DemoError, match=r"finite numbers in \[-1, 1\]"):
        exported.generate([[0.0, 2.0, 0.0]])
    page = DemoPage(exported)
    assert page.upload(generated_png(backend, [0.1, 0.2, 0.3]), "x")[1].startswith("Recovered")


# ---------------------------------------------------------------- no path a client names is opened


def test_fetches_a_url_spots_the_file_route_asked_for_a_url():
    assert demo_guard.fetches_a_url("/gradio_api/file=https://example.com/x.png")
    assert demo_guard.fetches_a_url("/gradio_api/file/HTTP://example.com/x.png")
    assert not demo_guard.fetches_a_url("/gradio_api/file=/tmp/gradio/abc/image.png")
    assert not demo_guard.fetches_a_url("/gradio_api/run/render")


def test_uploaded_paths_finds_every_file_reference_of_a_request():
    body = {"data": [0.5, {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}},
                     [{"nested": {"path": "https://example.com/x.png"}}]], "session_hash": "abc"}
    assert sorted(uploaded_paths(body)) == ["/etc/passwd", "https://example.com/x.png"]
    assert uploaded_paths({"data": [0.5, "path"]}) == []


def test_is_inside_resolves_dot_dot_and_symbolic_links(tmp_path):
    uploads = tmp_path / "uploads"
    (uploads / "abc").mkdir(parents=True)
    (uploads / "abc" / "image.png").write_bytes(b"png")
    (uploads / "abc" / "out").symlink_to("/etc/passwd")
    assert is_inside(str(uploads / "abc" / "image.png"), str(uploads))
    assert not is_inside(str(uploads / ".." / "secret"), str(uploads))
    assert not is_inside(str(uploads / "abc" / "out"), str(uploads))
    assert not is_inside("/etc/passwd", str(uploads))
    assert not is_inside("relative/image.png", str(uploads))
    assert not is_inside("https://example.com/image.png", str(uploads))
    assert not is_inside(str(uploads) + "\0/x", str(uploads))


class Watch:
    """Records, through a Python audit hook, every file this process opens and every host it resolves
    or connects to while ``watching()``: the Gradio server runs in this process's threads."""

    def __init__(self):
        self.opened, self.hosts, self.active = [], [], False
        sys.addaudithook(self._hook)

    def _hook(self, event, args):
        if not self.active:
            return
        if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            self.opened.append(os.fsdecode(args[0]))
        elif event == "socket.getaddrinfo":
            self.hosts.append(str(args[0]))
        elif event == "socket.connect" and isinstance(args[1], tuple):
            self.hosts.append(str(args[1][0]))

    @contextlib.contextmanager
    def watching(self):
        self.opened.clear(), self.hosts.clear()
        self.active = True
        try:
            yield self
        finally:
            self.active = False


@pytest.fixture(scope="module")
def watch():
    return Watch()


def call_api(url, api_name, data):
    """Gradio's two-step HTTP API: POST /gradio_api/call/NAME, then read the event stream. Returns
    (status of the POST, the text of the POST's answer and of the stream)."""
    with httpx.Client(timeout=30, trust_env=False) as client:
        posted = client.post(f"{url}/gradio_api/call/{api_name}", json={"data": data})
        if posted.status_code != 200:
            return posted.status_code, posted.text
        streamed = client.get(f"{url}/gradio_api/call/{api_name}/{posted.json()['event_id']}")
        return posted.status_code, posted.text + streamed.text


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/etc/passwd", "SECRET", "UPLOADS/../../etc/passwd", "https://example.com/x.png"])
def test_a_crafted_request_naming_a_file_is_refused_without_opening_it(server, watch, tmp_path, path):
    import gradio as gr

    url, _ = server
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_of(np.full((16, 16), 255, np.uint8)) + b"top-secret")
    path = path.replace("SECRET", str(secret)).replace("UPLOADS", gr.utils.get_upload_folder())
    file_data = {"path": path, "orig_name": "x.png", "meta": {"_type": "gradio.FileData"}}
    with watch.watching():
        status, text = call_api(url, "upload", [file_data, "x"])
        with httpx.Client(timeout=30, trust_env=False) as client:   # nor is it served by Gradio's file routes
            served = [client.get(f"{url}/gradio_api/{route}{urllib.parse.quote(path)}") for route in ("file=", "file/")]
    assert status == 400 and "was not uploaded to this page" in text, text
    assert "root:" not in text and "top-secret" not in text
    assert all(answer.status_code in (403, 404) for answer in served), [answer.text for answer in served]
    assert not [answer for answer in served if "root:" in answer.text or "top-secret" in answer.text]
    resolved = os.path.realpath(path) if "://" not in path else path
    assert not [p for p in watch.opened if p in (path, resolved)], watch.opened
    assert not [host for host in watch.hosts if host not in ("127.0.0.1", "localhost", "::1")], watch.hosts


@pytest.mark.slow
def test_the_api_upload_route_takes_an_image_and_refuses_one_over_the_limit(server, backend):
    url, _ = server
    data = generated_png(backend, [0.5, -0.5, 0.25])
    with httpx.Client(timeout=30, trust_env=False) as client:
        uploaded = client.post(f"{url}/gradio_api/upload", files={"files": ("knobs.png", data, "image/png")})
        too_large = client.post(f"{url}/gradio_api/upload",
                                files={"files": ("big.png", b"\0" * (MAX_FILE_BYTES + 1), "image/png")})
    assert uploaded.status_code == 200, uploaded.text
    assert too_large.status_code == 413, too_large.text
    status, text = call_api(url, "upload", [{"path": uploaded.json()[0], "meta": {"_type": "gradio.FileData"}}, "x"])
    assert status == 200 and "Recovered the knobs of your image" in text, text
    expected = backend.editor.invert(read_image(data, 16, 1)[None])[0]
    data_line = next(line for line in text.splitlines() if line.startswith("data: [null"))
    assert json.loads(data_line[len("data: "):])[4:7] == pytest.approx([float(v) for v in expected])


@pytest.mark.slow
def test_a_json_request_over_the_limit_is_refused(server):
    url, _ = server
    with httpx.Client(timeout=30, trust_env=False) as client:
        answer = client.post(f"{url}/gradio_api/call/render", content=b"[" + b"0," * demo_guard.MAX_REQUEST_BYTES + b"0]",
                             headers={"content-type": "application/json"})
    assert answer.status_code == 413


def test_the_guard_passes_a_request_with_uploaded_paths_on_unchanged(tmp_path):
    import asyncio

    seen = []

    async def app(scope, receive, send):
        message = await receive()
        seen.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    body = json.dumps({"data": [{"path": str(tmp_path / "a.png"), "meta": {"_type": "gradio.FileData"}}]}).encode()
    chunks = [{"type": "http.request", "body": body[:10], "more_body": True},
              {"type": "http.request", "body": body[10:], "more_body": False}]
    sent = []

    async def receive():
        return chunks.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/gradio_api/queue/join",
             "headers": [(b"content-type", b"application/json")]}
    asyncio.run(RefuseClientPaths(app, upload_dir=str(tmp_path))(scope, receive, send))
    assert seen == [body] and sent[0]["status"] == 200


# ---------------------------------------------------------------- the command line


def run_main(argv, capsys):
    code = demo_command.main(argv)
    return code, capsys.readouterr().err


def test_the_command_line_takes_exactly_one_model(capsys):
    with pytest.raises(SystemExit) as exit_info:
        demo_command.main([])
    assert exit_info.value.code == 2
    assert "one of the arguments --run-dir --export is required" in capsys.readouterr().err
    with pytest.raises(DemoError, match="exactly one of --run-dir"):
        open_backend("runs/a", "export/udgan/1")


def test_a_directory_that_is_not_a_run_is_an_error(tmp_path, capsys):
    code, err = run_main(["--run-dir", str(tmp_path)], capsys)
    assert code == 2 and "is not a run directory: config.yaml is missing" in err


@pytest.mark.slow
def test_a_run_without_checkpoint_is_an_error(tiny_run, tmp_path, capsys):
    shutil.copy(tiny_run / "config.yaml", tmp_path / "config.yaml")
    code, err = run_main(["--run-dir", str(tmp_path)], capsys)
    assert code == 2 and "has no checkpoint" in err and "python -m udgan_tf.train" in err


def test_a_bad_export_path_is_an_error_that_names_a_version(tmp_path, capsys):
    code, err = run_main(["--export", str(tmp_path / "missing")], capsys)
    assert code == 2 and "does not exist" in err and "--export export/udgan/1" in err
    for version in ("1", "3"):
        (tmp_path / "udgan" / version).mkdir(parents=True)
        (tmp_path / "udgan" / version / "saved_model.pb").write_bytes(b"")
    code, err = run_main(["--export", str(tmp_path / "udgan")], capsys)
    assert code == 2 and "holds versions 1, 3" in err and f"--export {tmp_path / 'udgan' / '3'}" in err
    (tmp_path / "udgan" / "3" / "assets.extra").mkdir()
    (tmp_path / "udgan" / "3" / "assets.extra" / "knobs.json").write_text(
        json.dumps({"knobs": [{"name": "x", "width": 1}], "image_shape": [16, 16, 1]}))
    code, err = run_main(["--export", str(tmp_path / "udgan" / "3")], capsys)
    assert code == 2 and "Cannot load the SavedModel" in err


@pytest.mark.slow
def test_the_command_serves_the_page_on_127_0_0_1(run_without_encoder):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "udgan_tf.demo", "--run-dir", str(run_without_encoder),
                                "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, cwd=REPO)
    try:
        line = process.stdout.readline()
        assert line.startswith(f"Serving run {run_without_encoder} at http://127.0.0.1:{port}/"), (
            line + process.stderr.read() if process.poll() is not None else line)
        with httpx.Client(timeout=30, trust_env=False) as client:
            assert client.get(f"http://127.0.0.1:{port}/").status_code == 200
        # Served on the loopback address only: not on this machine's other addresses (where it has any).
        others = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), port, socket.AF_INET)
                  if not info[4][0].startswith("127.")}
        for address in others:
            with socket.socket() as sock:
                sock.settimeout(5)
                assert sock.connect_ex((address, port)) != 0, f"the page answers on {address}"
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert "note: This run has no knob encoder" in err and "python -m udgan_tf.inversion --run-dir" in err


# ---------------------------------------------------------------- the page in a browser


def no_browser(message):
    """Skips the test, or fails it when UDGAN_TF_REQUIRE_BROWSER=1 (CI installs the browser)."""
    if os.environ.get("UDGAN_TF_REQUIRE_BROWSER") == "1":
        pytest.fail(message + ", and UDGAN_TF_REQUIRE_BROWSER=1")
    pytest.skip(message)


def launch_browser(playwright):
    """Debian's Chromium through Playwright; no_browser when it is missing."""
    if not os.path.exists(BROWSER):
        no_browser(f"no browser at {BROWSER} (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=BROWSER, args=["--no-sandbox"])


def wait_for(condition, timeout=20.0, what="the page"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_the_page_in_a_browser(server, backend, tmp_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        no_browser("Playwright is not installed (pip install -e '.[test]')")

    url, _ = server
    requests = []
    good = tmp_path / "knobs.png"
    good.write_bytes(generated_png(backend, [0.5, -0.5, 0.25]))
    expected = backend.editor.invert(read_image(good.read_bytes(), 16, 1)[None])[0]
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            # Every request is recorded; any not for the server is aborted (there is no internet here anyway).
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
                       else route.abort())
            page.on("request", lambda request: requests.append(request.url))
            page.goto(url)
            page.wait_for_selector("#image img")
            assert [page.inner_text(f"#knob-{i} [data-testid=block-info]") for i in range(3)] == NAMES

            def image_bytes():
                return page.request.get(page.get_attribute("#image img", "src")).body()

            before, strip_before = image_bytes(), page.get_attribute("#strip img", "src")
            # Drag slider x to the right: the image follows while the mouse button is down.
            box = page.locator("#knob-2 input[type=range]").bounding_box()
            y = box["y"] + box["height"] / 2
            page.mouse.move(box["x"] + box["width"] / 2, y)
            page.mouse.down()
            for step in range(1, 11):
                page.mouse.move(box["x"] + box["width"] * (0.5 + 0.045 * step), y)
                page.wait_for_timeout(20)
            wait_for(lambda: image_bytes() != before, what="the image to follow the drag")
            page.mouse.up()
            assert float(page.input_value("#knob-2 input[type=range]")) > 0.5
            wait_for(lambda: page.get_attribute("#strip img", "src") != strip_before, what="the strip after release")

            # Upload the model's own image: the sliders jump to its inverted knobs (to the slider's 0.01 step).
            page.set_input_files("#upload input[type=file]", str(good))
            wait_for(lambda: "Recovered the knobs" in page.inner_text("#status"), what="the upload's status")
            shown = [float(page.input_value(f"#knob-{i} input[type=number]")) for i in range(3)]
            assert shown == pytest.approx(expected, abs=0.0051), (shown, expected)
            assert image_bytes()[:8] == b"\x89PNG\r\n\x1a\n"     # what the image's download button saves

            # A file that is not an image: a message in the page, and the page still works.
            page.set_input_files("#upload input[type=file]", str(bad))
            wait_for(lambda: "not an image" in page.inner_text("#status"), what="the bad upload's message")
            before = image_bytes()
            page.click("#random")
            wait_for(lambda: image_bytes() != before, what="a random sample")
        finally:
            browser.close()
    assert requests and all(request.startswith(url + "/") for request in requests), \
        sorted({request for request in requests if not request.startswith(url + "/")})
