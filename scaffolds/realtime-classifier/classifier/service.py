"""The scoring service: `python -m classifier.service --model model/model.joblib --port 8080`.

Standard library only (http.server), so the service adds no dependency to the model's:
  GET  /health   200 {"status": "ok", "model": "<file>"} once the model is loaded
  POST /predict  {"instances": [{"alcohol": 13.2, ...}, ...]}
                 -> {"predictions": ["class_0", ...], "probabilities": [{"class_0": 0.97, ...}, ...]}
A request that is not JSON, too large, or misses a feature is answered 400 with
{"error": "..."} naming what is wrong.
"""

import argparse
import json
import os
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import joblib

from classifier.features import vector

MAX_BODY = 1 << 20  # 1 MiB: a request larger than this is refused, not read


class BadRequest(Exception):
    pass


def predict(model, body):
    """The predict route's answer for a parsed JSON body."""
    if not isinstance(body, dict) or not isinstance(body.get("instances"), list) or not body["instances"]:
        raise BadRequest('the body must be {"instances": [{feature: value, ...}, ...]}')
    rows = []
    for index, record in enumerate(body["instances"]):
        if not isinstance(record, dict):
            raise BadRequest(f"instances[{index}] is not an object")
        try:
            rows.append(vector(record))
        except ValueError as error:
            raise BadRequest(f"instances[{index}]: {error}") from None
    classes = [str(label) for label in model.classes_]
    return {
        "predictions": [str(label) for label in model.predict(rows)],
        "probabilities": [
            {label: round(float(p), 6) for label, p in zip(classes, row)} for row in model.predict_proba(rows)
        ],
    }


def handler_for(model, model_path):
    class Handler(BaseHTTPRequestHandler):
        server_version = "classifier"

        def answer(self, status, content):
            data = json.dumps(content).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/health":
                self.answer(HTTPStatus.OK, {"status": "ok", "model": os.path.basename(model_path)})
            else:
                self.answer(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}; try /health or POST /predict"})

        def do_POST(self):
            if self.path != "/predict":
                self.answer(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}; try POST /predict"})
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            if length <= 0 or length > MAX_BODY:
                self.answer(HTTPStatus.BAD_REQUEST, {"error": f"the body must be 1 byte to {MAX_BODY} bytes of JSON"})
                return
            try:
                body = json.loads(self.rfile.read(length))
                self.answer(HTTPStatus.OK, predict(model, body))
            except json.JSONDecodeError as error:
                self.answer(HTTPStatus.BAD_REQUEST, {"error": f"the body is not JSON: {error}"})
            except BadRequest as error:
                self.answer(HTTPStatus.BAD_REQUEST, {"error": str(error)})

        def log_message(self, format, *args):  # noqa: A002 (the base class's name)
            sys.stderr.write("%s %s\n" % (self.address_string(), format % args))

    return Handler


def serve(model_path, host="127.0.0.1", port=8080):
    model = joblib.load(model_path)
    server = ThreadingHTTPServer((host, port), handler_for(model, model_path))
    print(f"serving {model_path} on http://{host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.environ.get("MODEL_PATH", "model/model.joblib"))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    args = parser.parse_args(argv)
    serve(args.model, args.host, args.port)


if __name__ == "__main__":
    main()
