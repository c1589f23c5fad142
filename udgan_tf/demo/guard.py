"""The demo's guard: an ASGI middleware in front of Gradio that refuses what a client must not
make the server open or fetch (``RefuseClientPaths``).

Gradio's API takes file references (FileData ``{"path": ...}``) from the client: a path it
would open, or a URL it would download; its file route (``/gradio_api/file=...``) fetches URLs
too. The demo reads uploads only as the bytes Gradio received on its upload route.
"""

import json
import os

#: The largest JSON request body (slider values and file references are a few hundred bytes).
MAX_REQUEST_BYTES = 1024 * 1024


def uploaded_paths(payload):
    """Every ``"path"`` string in a decoded JSON payload: where Gradio's FileData name a file."""
    stack, paths = [payload], []
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("path"), str):
                paths.append(item["path"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return paths


def is_inside(path, folder):
    """True when ``path`` (symbolic links resolved) is inside ``folder``; False for a URL."""
    if "://" in path:
        return False
    try:
        real = os.path.realpath(path)
    except (ValueError, OSError):
        return False
    return os.path.commonpath([real, os.path.realpath(folder)]) == os.path.realpath(folder)


def fetches_a_url(path):
    """True for a request path that asks Gradio's file route to fetch a URL (``/gradio_api/file=https://...``)."""
    for route in ("/file=", "/file/"):
        if route in path and path.split(route, 1)[1].lower().startswith(("http:", "https:")):
            return True
    return False


class RefuseClientPaths:
    """ASGI middleware in front of Gradio, which opens or downloads what a client names.

    Refused before Gradio sees them: a JSON request that names a file outside Gradio's upload
    folder (``/etc/passwd``, ``../``, a symbolic link out) or a URL (400: Gradio would download
    it), a JSON body over ``max_body_bytes`` (413), and a request of Gradio's file route for a
    URL (403: Gradio would fetch it). The upload route itself (multipart) passes: Gradio stores
    what it receives there, up to ``max_file_size``, and hands the handler those bytes.
    """

    def __init__(self, app, upload_dir, max_body_bytes=MAX_REQUEST_BYTES):
        self.app, self.upload_dir, self.max_body_bytes = app, upload_dir, max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if fetches_a_url(scope["path"]):
            return await _refuse(send, 403, "Refused: this page fetches no URL for a client.")
        headers = dict(scope.get("headers") or [])
        if scope["method"] != "POST" or headers.get(b"content-type", b"").startswith(b"multipart/form-data"):
            return await self.app(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_body_bytes:
                return await _refuse(send, 413, f"The request is over {self.max_body_bytes} bytes.")
        body = b"".join(chunks)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None          # not JSON: Gradio answers it
        refused = [path for path in uploaded_paths(payload) if not is_inside(path, self.upload_dir)]
        if refused:
            return await _refuse(send, 400, f"Refused: the request names the file {refused[0]!r}, which was not "
                                            "uploaded to this page. Send the image through the page's upload "
                                            "(or POST it to /gradio_api/upload) and pass the path that returns.")
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _refuse(send, status, message):
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
