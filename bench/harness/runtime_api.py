"""A local Lambda Runtime API (2018-06-01), enough for a real function process to run against it.

One stub serves one function process (as one Lambda execution environment does): the bench queues
events with `submit`, the process long-polls `GET /runtime/invocation/next`, and posts
`/runtime/invocation/{id}/response` or `/error` (or `/runtime/init/error`). Each `Invocation`
records when it was handed out and when it was answered, as the stub saw it.

Headers handed out with an event, as Lambda does: Lambda-Runtime-Aws-Request-Id,
Lambda-Runtime-Deadline-Ms, Lambda-Runtime-Invoked-Function-Arn, Lambda-Runtime-Trace-Id.
"""

import json
import queue
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A function process killed mid-connection is expected here, not an error to print.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

PREFIX = "/2018-06-01/runtime"


class Invocation:
    def __init__(self, event, timeout_s):
        self.request_id = str(uuid.uuid4())
        self.event = event
        self.timeout_s = timeout_s
        self.submitted = time.monotonic()
        self.handed_out = None
        self.answered = None
        self.status = None  # "response" | "error"
        self.body = None
        self.done = threading.Event()

    def wait(self, timeout):
        if not self.done.wait(timeout):
            raise TimeoutError(f"invocation {self.request_id} not answered within {timeout}s")
        return self

    @property
    def ok(self):
        return self.status == "response"

    def result(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


class RuntimeApi:
    def __init__(self, function_name, region="us-east-1", account="123456789012"):
        self.function_arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}"
        self._queue = queue.Queue()
        self._by_id = {}
        self._lock = threading.Lock()
        self.init_errors = []
        self.polls = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _reply(self, code, body=b"", headers=()):
                self.send_response(code)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def do_GET(self):
                if self.path != f"{PREFIX}/invocation/next":
                    return self._reply(404, b'{"errorType":"NotFound"}')
                stub.polls += 1
                inv = stub._queue.get()
                if inv is None:  # shutting down: hold the poll as Lambda does when frozen
                    time.sleep(3600)
                    return
                inv.handed_out = time.monotonic()
                deadline_ms = int((time.time() + inv.timeout_s) * 1000)
                body = json.dumps(inv.event).encode()
                self._reply(
                    200,
                    body,
                    [
                        ("Content-Type", "application/json"),
                        ("Lambda-Runtime-Aws-Request-Id", inv.request_id),
                        ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                        ("Lambda-Runtime-Invoked-Function-Arn", stub.function_arn),
                        ("Lambda-Runtime-Trace-Id", f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0"),
                    ],
                )

            def do_POST(self):
                body = self._body()
                path = self.path
                if path == f"{PREFIX}/init/error":
                    stub.init_errors.append(body)
                    return self._reply(202, b'{"status":"OK"}')
                parts = path[len(PREFIX):].strip("/").split("/")
                # invocation/{id}/response | invocation/{id}/error
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    with stub._lock:
                        inv = stub._by_id.get(parts[1])
                    if inv is None:
                        return self._reply(400, b'{"errorType":"InvalidRequestID"}')
                    inv.answered = time.monotonic()
                    inv.status = parts[2]
                    inv.body = body
                    inv.done.set()
                    return self._reply(202, b'{"status":"OK"}')
                return self._reply(404, b'{"errorType":"NotFound"}')

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def address(self):
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def submit(self, event, timeout_s=60):
        inv = Invocation(event, timeout_s)
        with self._lock:
            self._by_id[inv.request_id] = inv
        self._queue.put(inv)
        return inv

    def invoke(self, event, timeout_s=60):
        return self.submit(event, timeout_s).wait(timeout_s + 5)

    def close(self):
        self._server.shutdown()
        self._server.server_close()
