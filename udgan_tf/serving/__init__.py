"""Clients for a udgan generator served by TensorFlow Serving (see ``serving/README.md``).

``GrpcClient`` (port 8500) and ``RestClient`` (port 8501) call the export's signatures;
``python -m udgan_tf.serving.client`` turns knob values into a PNG. Names are imported lazily so
that ``python -m udgan_tf.serving.client`` does not import the module twice.
"""

__all__ = ["GrpcClient", "RestClient", "ServingError", "build_predict_body"]


def __getattr__(name):
    if name in __all__:
        from udgan_tf.serving import client
        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
