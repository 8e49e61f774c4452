"""An HTTP proxy in front of one moto server: counts AWS calls by service and operation and can
add a fixed delay to every call (a stand-in for the network round trip to a real AWS endpoint).

The functions get AWS_ENDPOINT_URL=<this proxy>. Service: the SigV4 credential scope of the
Authorization header (`Credential=AKID/date/region/SERVICE/aws4_request`). Operation: the
X-Amz-Target header's suffix (JSON protocols: DynamoDB, Secrets Manager) or `Action=` in the query
string or the form body (query protocols: EC2, SNS, IAM).
"""

import collections
import http.client
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A function process killed mid-connection is expected here, not an error to print.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

_SCOPE = re.compile(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/aws4_request")
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


def operation_of(headers, path, body):
    service = "?"
    m = _SCOPE.search(headers.get("Authorization") or "")
    if m:
        service = m.group(1)
    target = headers.get("X-Amz-Target")
    if target:
        return service, target.rsplit(".", 1)[-1]
    query = urllib.parse.urlsplit(path).query
    for source in (query, body.decode("utf-8", "replace") if body else ""):
        for k, v in urllib.parse.parse_qsl(source, keep_blank_values=True):
            if k == "Action":
                return service, v
    return service, "?"


class AwsProxy:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.delay_s = 0.0
        self._counts = collections.Counter()
        self._lock = threading.Lock()
        self._local = threading.local()
        self.in_flight = 0
        self.max_in_flight = 0
        # Every Nth EC2 call is answered RequestLimitExceeded (HTTP 503) without reaching moto,
        # as EC2 throttles: 0 = never.
        self.throttle_every = 0
        self._ec2_calls = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                service, op = operation_of(self.headers, self.path, body)
                key = f"{service}:{op}"
                with proxy._lock:
                    proxy._counts[key] += 1
                    throttle = False
                    if service == "ec2" and proxy.throttle_every:
                        proxy._ec2_calls += 1
                        throttle = proxy._ec2_calls % proxy.throttle_every == 0
                        if throttle:
                            proxy._counts["throttled:" + key] += 1
                if throttle:
                    data = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                            b"<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
                            b"</Error></Errors><RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>")
                    self.send_response_only(503, "Service Unavailable")
                    self.send_header("Content-Type", "text/xml;charset=UTF-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                with proxy._lock:
                    proxy.in_flight += 1
                    proxy.max_in_flight = max(proxy.max_in_flight, proxy.in_flight)
                try:
                    if proxy.delay_s > 0:
                        time.sleep(proxy.delay_s)
                    status, reason, headers, data = proxy._upstream(
                        self.command, self.path, dict(self.headers.items()), body
                    )
                finally:
                    with proxy._lock:
                        proxy.in_flight -= 1
                self.send_response_only(status, reason)
                for k, v in headers:
                    if k.lower() not in _HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _upstream(self, method, path, headers, body):
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=300)
                self._local.conn = conn
            try:
                headers = {k: v for k, v in headers.items() if k.lower() not in _HOP}
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                return resp.status, resp.reason, resp.getheaders(), data
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self):
        with self._lock:
            self._counts.clear()
            self.max_in_flight = self.in_flight

    def counts(self):
        with self._lock:
            return dict(sorted(self._counts.items()))

    def total(self):
        """Calls that reached moto (throttled answers not counted)."""
        with self._lock:
            return sum(v for k, v in self._counts.items() if not k.startswith("throttled:"))

    def throttled(self):
        with self._lock:
            return sum(v for k, v in self._counts.items() if k.startswith("throttled:"))

    def close(self):
        self._server.shutdown()
        self._server.server_close()
