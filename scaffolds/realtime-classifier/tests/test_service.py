"""Integration: the service started as a process, asked over HTTP."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from classifier.features import FEATURES, read_csv
from tests.conftest import DATA

ROOT = os.path.join(os.path.dirname(__file__), "..")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def service(trained):
    out, _ = trained
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "classifier.service", "--model", str(out / "model.joblib"), "--port", str(port)],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/health", timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("the service did not answer /health within 30 s")
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


def post(url, body):
    request = urllib.request.Request(
        url + "/predict", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_health_answers_ok(service):
    with urllib.request.urlopen(service + "/health", timeout=5) as response:
        assert response.status == 200
        assert json.load(response)["status"] == "ok"


def test_predict_classifies_known_wines(service):
    rows, labels = read_csv(DATA)
    picks = [0, 70, 150]  # one of each cultivar
    status, answer = post(service, {"instances": [dict(zip(FEATURES, rows[i])) for i in picks]})
    assert status == 200
    assert answer["predictions"] == [labels[i] for i in picks]
    for probabilities in answer["probabilities"]:
        assert abs(sum(probabilities.values()) - 1) < 1e-3


def test_a_missing_feature_is_a_400_naming_it(service):
    record = {name: 1.0 for name in FEATURES if name != "proline"}
    status, answer = post(service, {"instances": [record]})
    assert status == 400
    assert "proline" in answer["error"]


def test_a_body_that_is_not_instances_is_a_400(service):
    status, answer = post(service, {"rows": []})
    assert status == 400
    assert "instances" in answer["error"]
