"""The browser demo's page (``python -m udgan_tf.demo --run-dir DIR`` or ``--export DIR/<version>``).

A Gradio page (``pip install 'udgan_tf[demo]'``) served on 127.0.0.1:7860 (``--host`` /
``--port``; another host only when asked): one slider per knob dimension, labelled with
the knob's name, in [-1, 1], the image following it while it is dragged; "Random sample"
moves the sliders to a draw of the prior Unif(-1, 1)^Z; an uploaded image is read by
``udgan_tf.editing.read_image``, turned into knobs by the run's knob encoder and the sliders
jump there, so dragging them edits it; the image's download button saves it as a PNG; the
traversal strip sweeps the chosen knob over 8 values in [-1, 1], the other knobs at the
sliders' values. A bad upload (empty, not an image, too many pixels, wrong channel count,
over ``editing.MAX_FILE_BYTES``) gets a message in the page and the server goes on serving.

Nothing calls out of the machine: Gradio's analytics and version check are off, there is no
share link, the theme uses the system's fonts (the page loads nothing but from the server).
A client's file can only reach a handler as bytes Gradio received through its upload route:
``udgan_tf.demo.guard.RefuseClientPaths`` refuses any API request that names another file, or
a URL (which Gradio would download), before Gradio reads it; its file route is not let fetch
URLs either.
"""

import io
import os

import numpy as np

from udgan_tf.demo.backends import DemoError
from udgan_tf.demo.guard import RefuseClientPaths
from udgan_tf.editing import MAX_FILE_BYTES, ImageError, read_image
from udgan_tf.knobs import VALUE_RANGE
from udgan_tf.runs import png_bytes

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
#: Images in the traversal strip.
TRAVERSAL_VALUES = 8
#: Gradio and huggingface_hub settings that keep them off the network.
OFFLINE_ENVIRONMENT = {"GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_SHARE": "False", "HF_HUB_OFFLINE": "1",
                       "HF_HUB_DISABLE_TELEMETRY": "1"}
# Model images are small (16 or 64 px): shown as large as their box, without blurring.
CSS = ".pixelated img { width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated; }"


def import_gradio():
    """``gradio``, imported with ``OFFLINE_ENVIRONMENT`` set. DemoError when it is not installed."""
    os.environ.update(OFFLINE_ENVIRONMENT)
    try:
        import gradio
    except ImportError:
        raise DemoError("The demo needs Gradio: pip install 'udgan_tf[demo]' (gradio>=6,<7).") from None
    return gradio


def slider_labels(knobs):
    """One label per latent dimension: the knob's name, ``name[i]`` for the dimensions of a wider knob."""
    return [knob["name"] if knob["width"] == 1 else f"{knob['name']}[{i}]"
            for knob in knobs for i in range(knob["width"])]


def picture(image):
    """A float image ``[H, W, C]`` in [0, 1] as a PIL image, quantised as ``runs.png_bytes`` writes it."""
    from PIL import Image

    return Image.open(io.BytesIO(png_bytes(image)))


class DemoPage:
    """The page's handlers on one backend (``udgan_tf.demo.backends``); ``build()`` lays them out.

    Every handler takes the sliders' values in z order (``Z`` floats) and returns PIL images
    and slider values, so that tests call them as Gradio does.
    """

    def __init__(self, backend, traversal_values=TRAVERSAL_VALUES):
        self.gr = import_gradio()
        self.backend = backend
        self.labels = slider_labels(backend.knobs)
        self.names = [knob["name"] for knob in backend.knobs]
        self.sweep = np.linspace(*VALUE_RANGE, traversal_values, dtype=np.float32)

    def _knobs(self, values):
        """Slider values -> float32 ``[Z]``; gr.Error for a wrong count or a value that is not a number."""
        if len(values) != self.backend.latent_dim:
            raise self.gr.Error(f"Expected {self.backend.latent_dim} knob values ({', '.join(self.labels)}). "
                                f"Received: {len(values)}")
        try:
            return np.array([float(v) for v in values], dtype=np.float32)
        except (TypeError, ValueError):
            raise self.gr.Error(f"Knob values must be numbers in [-1, 1]. Received: {list(values)}") from None

    def _draw(self, draw, *args):
        try:
            return draw(*args)
        except DemoError as error:
            raise self.gr.Error(str(error)) from None

    def render(self, *values):
        """Slider values -> the image they draw (PIL, ``R x R``)."""
        return picture(self._draw(self.backend.generate, self._knobs(values)[None])[0])

    def strip(self, name, *values):
        """Knob ``name`` swept over the traversal values, the others at the sliders' -> a PIL image, tiles in a row."""
        images = self._draw(self.backend.traverse, self._knobs(values), name, self.sweep)
        return picture(np.concatenate(list(images), axis=1))

    def random(self, name):
        """A draw of Unif(-1, 1)^Z -> (image, Z slider values, strip of ``name``)."""
        knobs = np.random.default_rng().uniform(*VALUE_RANGE, self.backend.latent_dim).astype(np.float32)
        values = [float(v) for v in knobs]
        return (self.render(*values), *values, self.strip(name, *values))

    def upload(self, data, name):
        """An uploaded file's bytes -> (None: the upload box emptied for the next file, status, the image as
        read, its reconstruction, Z slider values, strip).

        A file that cannot be used gives its message as the status and leaves the rest as it was.
        """
        skipped = (self.gr.skip(),) * (3 + self.backend.latent_dim)
        if not self.backend.can_invert:
            return (None, self.backend.why_no_invert, *skipped)
        if data is None:
            return (None, "Choose an image file to upload.", *skipped)
        try:
            image = read_image(bytes(data), self.backend.image_shape[0], self.backend.image_shape[2])
            knobs = self.backend.invert(image[None])[0]
        except (ImageError, DemoError) as error:
            return (None, f"**Cannot use this file.** {error}", *skipped)
        values = [float(v) for v in np.clip(knobs, *VALUE_RANGE)]
        found = ", ".join(f"{label} = {value:+.2f}" for label, value in zip(self.labels, values))
        status = f"Recovered the knobs of your image ({found}): drag the sliders to edit it."
        return (None, status, picture(image), self.render(*values), *values, self.strip(name, *values))

    def build(self):
        """The page as ``gr.Blocks`` (not launched)."""
        gr = self.gr
        zeros = [0.0] * self.backend.latent_dim
        shape = "x".join(map(str, self.backend.image_shape))
        with gr.Blocks(title="udgan_tf: turn the knobs", analytics_enabled=False, delete_cache=(600, 3600)) as demo:
            gr.Markdown(f"## Turn the knobs of {self.backend.source}\n{len(self.names)} knobs, images {shape}. "
                        "Drag a slider: the image follows. Upload an image to edit it.")
            with gr.Row():
                with gr.Column():
                    sliders = [gr.Slider(*VALUE_RANGE, value=0.0, step=0.01, label=label, elem_id=f"knob-{i}",
                                         info=_guidance_text(knob))
                               for i, (label, knob) in enumerate(zip(self.labels, self._knob_per_dimension()))]
                    random_button = gr.Button("Random sample", elem_id="random")
                with gr.Column():
                    image = gr.Image(self.render(*zeros), label="Image", format="png", interactive=False,
                                     buttons=["download"], height=320, elem_id="image", elem_classes="pixelated")
            with gr.Row():
                knob_choice = gr.Dropdown(self.names, value=self.names[0], label="Traverse knob", scale=1,
                                          elem_id="traverse-knob")
                strip = gr.Image(self.strip(self.names[0], *zeros), format="png", interactive=False, scale=4,
                                 label=f"The knob at {len(self.sweep)} values from -1 to 1, the others at the sliders'",
                                 buttons=["download"], height=160, elem_id="strip", elem_classes="pixelated")
            with gr.Row():
                upload = gr.File(label="Upload an image to edit (PNG, JPEG, ...)", type="binary",
                                 interactive=self.backend.can_invert, elem_id="upload")
                preview = gr.Image(label="Your image, as the model reads it", format="png", interactive=False,
                                   buttons=[], height=160, elem_id="preview", elem_classes="pixelated")
            status = gr.Markdown(self.backend.why_no_invert or "", elem_id="status")

            # The image follows a drag: one request at a time and only the last pending one
            # (always_last), outside the queue, without a progress overlay.
            fast = {"trigger_mode": "always_last", "show_progress": "hidden", "queue": False}
            gr.on([slider.input for slider in sliders], self.render, inputs=sliders, outputs=image,
                  api_name="render", **fast)
            gr.on([slider.release for slider in sliders] + [knob_choice.change], self.strip,
                  inputs=[knob_choice, *sliders], outputs=strip, api_name="strip", **fast)
            random_button.click(self.random, inputs=knob_choice, outputs=[image, *sliders, strip], api_name="random",
                                **fast)
            upload.upload(self.upload, inputs=[upload, knob_choice],
                          outputs=[upload, status, preview, image, *sliders, strip], api_name="upload",
                          show_progress="minimal")
        return demo

    def _knob_per_dimension(self):
        return [knob for knob in self.backend.knobs for _ in range(knob["width"])]


def _guidance_text(knob):
    guidance = knob.get("guidance")
    if guidance is None:
        return "unguided"
    return f"guided by {guidance if isinstance(guidance, str) else guidance.get('name', guidance)}"


def system_font_theme():
    """Gradio's base theme on the system's fonts: no font file or stylesheet to fetch."""
    gr = import_gradio()
    return gr.themes.Base(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def serve(demo, host=DEFAULT_HOST, port=DEFAULT_PORT):
    """Starts ``demo`` (from ``DemoPage.build``) on ``host:port`` in a background thread. Returns its URL.

    Raises:
        OSError: the port is taken, or ``host`` is not an address of this machine.
    """
    gr = import_gradio()
    from starlette.middleware import Middleware

    guard = Middleware(RefuseClientPaths, upload_dir=gr.utils.get_upload_folder())
    demo.queue(default_concurrency_limit=2)
    demo.launch(server_name=host, server_port=port, share=False, inbrowser=False, prevent_thread_lock=True,
                quiet=True, show_error=False, max_file_size=MAX_FILE_BYTES, enable_monitoring=False,
                ssr_mode=False, pwa=False, mcp_server=False, run_history=False, footer_links=["api"],
                theme=system_font_theme(), css=CSS, app_kwargs={"middleware": [guard]})
    return demo.local_url
