#!/usr/bin/env python3
"""Recording runs on an MLflow server: trainyard's MLflow ledger (what `train`
does at the end of a run on `tracking.backend: mlflow`, driven by the
`mlflow_append` example) against MLflow's own Python client, as a user's
script would log the same run: `MlflowClient.log_batch` in MLflow's chunks
(its fastest way), and the fluent `mlflow.log_metric` once per step (what a
training loop usually does).

The server is `mlflow server` from the repository's .venv on 127.0.0.1 with
a SQLite store (as the tests run it), so the numbers compare the clients
against one local server. Each tool is its own process, timed from start to
exit; the tools' own time (without interpreter start and imports) is in
benches/work/mlflow.json. Results go to the "MLflow" section of
docs/performance.md.

    cargo build --release --example mlflow_append -p trainyard-ledger
    .venv/bin/python benches/mlflow.py [--runs 5] [--points 2500] [--params 150]
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benches" / "work"
BEGIN, END = "<!-- mlflow:begin -->", "<!-- mlflow:end -->"
OFFLINE = {"DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}

CLIENT = """
import sys, time, mlflow
from mlflow.entities import Metric, Param, RunTag
project, runs, points, params, style = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
client = mlflow.MlflowClient()
experiment = client.get_experiment_by_name(project) or client.get_experiment(client.create_experiment(project))
start = time.perf_counter()
for n in range(runs):
    if style == "batch":
        run = client.create_run(experiment.experiment_id, tags={"mlflow.source.git.commit": "0123456789abcdef"})
        rid = run.info.run_id
        now = int(time.time() * 1000)
        metrics = [Metric("loss", 1.0 / (s + 1), now + s, s) for s in range(points)]
        metrics += [Metric("accuracy", 0.9, now + points, 0)]
        ps = [Param(f"param_{i:04}", str(i * n)) for i in range(params)]
        for i in range(0, len(ps), 100):
            client.log_batch(rid, params=ps[i:i + 100])
        for i in range(0, len(metrics), 1000):
            client.log_batch(rid, metrics=metrics[i:i + 1000])
        client.set_terminated(rid, "FINISHED")
    else:
        mlflow.set_experiment(project)
        with mlflow.start_run():
            mlflow.log_params({f"param_{i:04}": i * n for i in range(params)})
            for s in range(points):
                mlflow.log_metric("loss", 1.0 / (s + 1), step=s)
            mlflow.log_metric("accuracy", 0.9)
print('{"seconds": %f}' % (time.perf_counter() - start))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(command: list[str], env: dict) -> dict:
    start = time.perf_counter()
    process = subprocess.run(command, env={**os.environ, **OFFLINE, **env}, capture_output=True, text=True)
    result = {"wall": time.perf_counter() - start, "load": os.getloadavg()[0]}
    if process.returncode != 0:
        result["error"] = (process.stderr.strip().splitlines() or ["exit %d" % process.returncode])[-1][:160]
    for line in process.stdout.splitlines():
        if line.startswith("{"):
            result.update(json.loads(line))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--points", type=int, default=2500)
    parser.add_argument("--params", type=int, default=150)
    parser.add_argument("--append", default=str(ROOT / "target/release/examples/mlflow_append"))
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="mlflow-", dir=WORK))
    port = free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/mlflow"), "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--serve-artifacts", "--artifacts-destination", str(root / "artifacts"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env={**os.environ, **OFFLINE}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    rows = []
    try:
        deadline = time.time() + 300
        while True:
            try:
                if urllib.request.urlopen(f"{uri}/health", timeout=2).status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                sys.exit("mlflow server did not start")
            time.sleep(0.5)
        shape = [str(args.runs), str(args.points), str(args.params)]
        script = WORK / "mlflow_client.py"
        script.write_text(CLIENT)
        env = {"MLFLOW_TRACKING_URI": uri}
        for tool, command in [
            ("trainyard MLflow ledger", [args.append, uri, "trainyard", *shape]),
            ("MlflowClient.log_batch", [sys.executable, str(script), "batch", *shape, "batch"]),
            ("mlflow.log_metric per step", [sys.executable, str(script), "fluent", *shape, "fluent"]),
        ]:
            result = run(command, env)
            rows.append((tool, result))
            print(tool, result, flush=True)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        subprocess.run(["rm", "-rf", str(root)])

    saved = {"runs": args.runs, "points": args.points, "params": args.params, "note": args.note,
             "rows": [[tool, r] for tool, r in rows]}
    (WORK / "mlflow.json").write_text(json.dumps(saved, indent=1))
    section = render(saved)
    print("\n" + section)
    doc = ROOT / "docs" / "performance.md"
    text = doc.read_text()
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text)


def render(saved: dict) -> str:
    base = next((r for tool, r in saved["rows"] if tool.startswith("trainyard") and "error" not in r), None)
    lines = [
        BEGIN,
        "## MLflow: recording runs",
        "",
        f"Written by `benches/mlflow.py`. {saved['runs']} runs, each with a {saved['points']}-point metric series, "
        f"{saved['params']} params and a final metric, recorded on `mlflow server` (SQLite store, 2 workers) on "
        "127.0.0.1. trainyard's row is `MlflowLedger::append_run` (driven by `crates/trainyard-ledger/examples/mlflow_append.rs`): "
        "it also writes the system tags, the run record (chunked tags), the status, and checks first that the run is not "
        "recorded yet (idempotent appends). The Python rows log the same params and metrics the way a user's script would. "
        "Time is the tools' own (after the interpreter start and imports); wall is the process start to exit. "
        "Run on a shared 2-core machine; load average as each finished: "
        + ", ".join(f"{r['load']:.1f}" for _, r in saved["rows"]) + ".",
        "",
        "| tool | time | per run | wall | vs trainyard |",
        "|---|---|---|---|---|",
    ]
    for tool, r in saved["rows"]:
        if "error" in r:
            lines.append(f"| {tool} | failed: {r['error']} | | | |")
            continue
        ratio = ""
        if base and not tool.startswith("trainyard"):
            ratio = f"{r['seconds'] / base['seconds']:.1f}x slower" if r["seconds"] >= base["seconds"] else f"{base['seconds'] / r['seconds']:.1f}x faster"
        lines.append(f"| {tool} | {r['seconds']:.2f} s | {r['seconds'] / saved['runs']:.2f} s | {r['wall']:.2f} s | {ratio} |")
    if saved.get("note"):
        lines += ["", saved["note"]]
    lines.append(END)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
