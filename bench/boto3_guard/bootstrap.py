"""A minimal Python Lambda runtime loop, as awslambdaric does it: import the handler module (the
cold start: boto3 import and module-level clients), then poll `invocation/next`, call
`lambda_handler(event, context)`, post the result to `/response` or the error to `/error`.
An import failure is posted to `/init/error`. Standard library only.
"""

import http.client
import json
import os
import sys
import time
import traceback

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
BASE = "/2018-06-01/runtime"


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error_body(e):
    return json.dumps({"errorMessage": str(e), "errorType": type(e).__name__,
                       "stackTrace": traceback.format_tb(e.__traceback__)}).encode()


def main():
    host, port = API.split(":")
    conn = http.client.HTTPConnection(host, int(port))

    def post(path, body, headers=None):
        conn.request("POST", BASE + path, body=body,
                     headers={"Content-Type": "application/json", **(headers or {})})
        conn.getresponse().read()

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import handler  # noqa: the cold start
    except Exception as e:  # reported as Lambda does, then exit
        post("/init/error", _error_body(e), {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
        sys.exit(1)

    import logging
    logging.basicConfig(stream=sys.stdout, format="%(asctime)s %(levelname)s %(message)s", force=False)

    while True:
        conn.request("GET", BASE + "/invocation/next")
        resp = conn.getresponse()
        event = json.loads(resp.read() or b"null")
        headers = dict(resp.getheaders())
        ctx = Context(headers)
        rid = ctx.aws_request_id
        try:
            result = handler.lambda_handler(event, ctx)
            post(f"/invocation/{rid}/response", json.dumps(result, default=str).encode())
        except Exception as e:
            post(f"/invocation/{rid}/error", _error_body(e),
                 {"Lambda-Runtime-Function-Error-Type": "Unhandled"})


if __name__ == "__main__":
    main()
