"""The serving contract's names: the export's signatures and their input and output keys.

Written by ``udgan_tf.export``, called by ``udgan_tf.serving.client`` and imitated by the test
stand-ins (``tests/serving_fakes.py``); all three import the names from here. Shapes and meanings
are documented in ``export/README.md``. No TensorFlow import, so any client can use it.
"""

# Signatures.
SERVING_DEFAULT = "serving_default"    # knobs -> images
GENERATE_BY_KNOB = "generate_by_knob"  # one input per knob, named after it -> images
GENERATE_PNG = "generate_png"          # knobs -> png_bytes
TRAVERSE = "traverse"                  # knobs [Z], knob, values -> images
EMBED = "embed"                        # images -> one output per knob, named after it
SIGNATURES = (SERVING_DEFAULT, GENERATE_BY_KNOB, GENERATE_PNG, TRAVERSE, EMBED)
# With a knob encoder (python -m udgan_tf.inversion) the export also has:
INVERT = "invert"                      # images -> knobs, reconstruction
EDIT = "edit"                          # images and one input per knob, named after it (a value to add) -> images
EDITING_SIGNATURES = (INVERT, EDIT)

# Input and output keys.
KNOBS = "knobs"          # float32 [batch, Z], the whole latent vector (traverse: [Z])
KNOB = "knob"            # string [], the name of the knob traverse sweeps
VALUES = "values"        # float32 [K], the values traverse gives it
IMAGES = "images"        # float32 [batch, H, W, C] in [0, 1]
PNG_BYTES = "png_bytes"  # string [batch]; the _bytes suffix makes TF Serving's REST API send base64
RECONSTRUCTION = "reconstruction"  # float32 [batch, H, W, C]: G(invert(images))
