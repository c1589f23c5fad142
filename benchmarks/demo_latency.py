"""The browser demo's latency: a slider change to the new image on screen, and many clients at once.

    python benchmarks/demo_latency.py --run-dir runs/dsprites [--changes 100] [--clients 20] [--seconds 60]
        [--out demo_latency.json] [--screenshot page.png --upload sprite.png]

Starts ``python -m udgan_tf.demo --run-dir DIR`` on a free 127.0.0.1 port (a process of its own,
as a user runs it), then measures

(a) in the browser: headless Chromium (Playwright on Debian's ``/usr/bin/chromium``) sets the
    first slider to ``--changes`` values one after the other, each by the ``input`` event a drag
    fires, and times from that event to the image element's new ``src`` (and to the new image's
    ``load``): p50 and p95. Successive values are at least 0.25 apart; a change that leaves the
    image as it was (no new ``src`` within 5 s) is counted as ``unchanged`` and left out;
(b) ``--clients`` threads, each sending slider updates in a loop for ``--seconds`` through
    Gradio's HTTP API: ``POST /gradio_api/run/render`` (the endpoint the sliders call) with
    random knob values, then ``GET`` of the image URL it answers (as the page fetches it). One
    update is both requests; reported: updates, errors, updates/s, p50, p95 and p99.

Prints one JSON line and writes it to ``--out``.
"""

import argparse
import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
BROWSER = "/usr/bin/chromium"

# Sets slider 0 to `value` by an input event, resolves [ms to the new src, ms to its load] or null after 5 s.
CHANGE_JS = """async (value) => {
  const input = document.querySelector('#knob-0 input[type=range]');
  const root = document.querySelector('#image');
  const before = root.querySelector('img')?.src;
  return await new Promise((resolve) => {
    let start, changed;
    const timer = setTimeout(() => { observer.disconnect(); resolve(null); }, 5000);
    const observer = new MutationObserver(() => {
      const image = root.querySelector('img');
      if (!image || image.src === before || changed) return;
      changed = performance.now() - start;
      observer.disconnect();
      const done = () => { clearTimeout(timer); resolve([changed, performance.now() - start]); };
      if (image.complete && image.naturalWidth) done(); else image.addEventListener('load', done, {once: true});
    });
    observer.observe(root, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
    input.value = value;
    start = performance.now();
    input.dispatchEvent(new Event('input', {bubbles: true}));
  });
}"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_demo(run_dir):
    """``python -m udgan_tf.demo`` on a free port. Returns (process, URL without the trailing slash)."""
    process = subprocess.Popen([sys.executable, "-m", "udgan_tf.demo", "--run-dir", str(run_dir), "--port",
                                str(free_port())], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    line = process.stdout.readline()
    if not line.startswith("Serving"):
        process.wait(timeout=60)
        raise SystemExit(f"the demo did not start (exit {process.returncode}): {line}")
    return process, line.split(" at ")[1].split()[0].rstrip("/")


def percentiles(milliseconds):
    values = np.asarray(milliseconds, float)
    if not len(values):
        return {}
    return {f"p{q}_ms": round(float(np.percentile(values, q)), 2) for q in (50, 95, 99)}


def browser_latency(url, changes, seed=0, screenshot=None, upload=None):
    """(a): ``changes`` slider changes in Chromium; the milliseconds to the new src and to its load.
    Then, with ``screenshot``, the page after uploading ``upload`` (when given) as a PNG."""
    from playwright.sync_api import sync_playwright

    rng = np.random.default_rng(seed)
    to_src, to_load, unchanged, value = [], [], 0, 0.0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=BROWSER, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_selector("#image img")
            for _ in range(changes + 1):                  # the first change warms the page up
                while True:
                    new = round(float(rng.uniform(-1, 1)), 2)
                    if abs(new - value) >= 0.25:
                        break
                value = new
                timing = page.evaluate(CHANGE_JS, str(value))
                if timing is None:
                    unchanged += 1
                else:
                    to_src.append(timing[0])
                    to_load.append(timing[1])
            if screenshot:
                if upload:
                    page.set_input_files("#upload input[type=file]", str(upload))
                    page.wait_for_function("document.querySelector('#status').innerText.includes('Recovered')",
                                           timeout=60000)
                    page.wait_for_timeout(1000)          # the sliders and the strip settle
                page.set_viewport_size({"width": 1280, "height": 900})
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    to_src, to_load = to_src[1:], to_load[1:]
    return {"changes": changes, "unchanged": unchanged, "to_src": percentiles(to_src), "to_load": percentiles(to_load)}


def concurrent_load(url, latent_dim, clients, seconds):
    """(b): ``clients`` threads sending updates for ``seconds``; latencies of the successful ones, errors."""
    import httpx

    deadline = time.monotonic() + seconds
    latencies, errors, lock = [], [], threading.Lock()

    def client(index):
        rng = np.random.default_rng(index)
        with httpx.Client(timeout=30, trust_env=False) as http:
            while time.monotonic() < deadline:
                values = [round(float(v), 3) for v in rng.uniform(-1, 1, latent_dim)]
                start = time.perf_counter()
                try:
                    answer = http.post(f"{url}/gradio_api/run/render", json={"data": values})
                    answer.raise_for_status()
                    http.get(answer.json()["data"][0]["url"]).raise_for_status()
                except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as error:
                    with lock:
                        errors.append(f"{type(error).__name__}: {error}"[:200])
                    continue
                with lock:
                    latencies.append(1e3 * (time.perf_counter() - start))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    return {"clients": clients, "seconds": seconds, "updates": len(latencies), "errors": len(errors),
            "first_errors": sorted(set(errors))[:3], "updates_per_s": round(len(latencies) / elapsed, 1),
            **percentiles(latencies)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", required=True, help="a run directory written by udgan_tf.train")
    parser.add_argument("--changes", type=int, default=100, help="slider changes in the browser (default 100)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent API clients (default 20)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the clients send (default 60)")
    parser.add_argument("--out", help="write the JSON line to this file too")
    parser.add_argument("--screenshot", help="save a picture of the page (after --upload) to this PNG")
    parser.add_argument("--upload", help="an image file to upload before the screenshot")
    args = parser.parse_args(argv)
    import httpx

    process, url = start_demo(args.run_dir)
    try:
        info = httpx.get(f"{url}/gradio_api/info", trust_env=False, timeout=30).json()
        latent_dim = len(info["named_endpoints"]["/render"]["parameters"])     # one slider per knob dimension
        result = {"run_dir": str(args.run_dir), "knob_dimensions": latent_dim,
                  "slider_to_image": browser_latency(url, args.changes, screenshot=args.screenshot,
                                                     upload=args.upload),
                  "concurrent": concurrent_load(url, latent_dim, args.clients, args.seconds)}
    finally:
        process.terminate()
        process.wait(timeout=30)
    line = json.dumps(result)
    print(line)
    if args.out:
        pathlib.Path(args.out).write_text(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
