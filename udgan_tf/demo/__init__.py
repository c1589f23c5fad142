"""The knobs in a browser page (``python -m udgan_tf.demo``; ``pip install 'udgan_tf[demo]'``).

``app``: the Gradio page and its handlers (``DemoPage``) and ``serve``; ``backends``: what it
draws with, a run directory or a SavedModel export; ``guard``: the middleware that keeps client
requests from naming files or URLs; ``__main__``: the command.
"""
