"""A demo in the browser: ``python -m udgan_tf.demo --run-dir DIR`` (or ``--export DIR/<version>``).

The page is ``udgan_tf.demo.app``'s (one slider per knob dimension, random samples, an uploaded
image turned into knobs, a traversal strip); it draws with ``udgan_tf.demo.backends``.
"""

import argparse
import sys

from udgan_tf import exit_codes
from udgan_tf.demo.app import DEFAULT_HOST, DEFAULT_PORT, DemoPage, import_gradio, serve
from udgan_tf.demo.backends import DemoError, open_backend
from udgan_tf.runs import RunDirectoryError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m udgan_tf.demo", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run-dir", help="a run directory written by udgan_tf.train")
    source.add_argument("--export", metavar="DIR/<version>", help="a version directory written by udgan_tf.export")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to serve on (default {DEFAULT_HOST}: this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        import_gradio()
        backend = open_backend(args.run_dir, args.export)
        demo = DemoPage(backend).build()
    except (DemoError, RunDirectoryError) as error:
        return exit_codes.report(error)
    if backend.why_no_invert:
        print(f"note: {backend.why_no_invert}", file=sys.stderr)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: serving on {args.host}: other machines that reach it can use the page (it has no login).",
              file=sys.stderr)
    try:
        url = serve(demo, args.host, args.port)
    except OSError as error:
        return exit_codes.report(error, f"error: cannot serve on {args.host}:{args.port} ({error}). Pass another "
                                        "--port, or a --host that is an address of this machine.")
    print(f"Serving {backend.source} at {url} (Ctrl-C stops it)", flush=True)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
