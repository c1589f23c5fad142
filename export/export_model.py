"""Entry point: export a trained run for TF Serving (the logic is ``udgan_tf.export``).

    python export/export_model.py --run-dir runs/dsprites --export-base exports --model-name udgan

is the same as ``python -m udgan_tf.export ...``; see export/README.md.
"""

import sys

from udgan_tf.export import main

if __name__ == "__main__":
    sys.exit(main())
