#!/usr/bin/env python3
"""Uploading and fetching a 1 GB model: trainyard's store (the `ArtifactStore`
`train` publishes through and `model get` fetches from, driven by the
`store_transfer` example) against the Python SDKs a user would otherwise call:
boto3 against moto (s3://) and azure-storage-blob against Azurite (az://).

Both servers run on 127.0.0.1 from the repository's test tools (.venv's
moto_server, tests/support/node_modules' Azurite), so the numbers measure the
clients and a local server, not a cloud: the server bounds the throughput.
Each transfer is its own process; wall time and peak RSS come from GNU time.
Results go to benches/work/storage.json and the "Storage" section of
docs/performance.md (run.py keeps that section when it rewrites the page).

    bash benches/storage.sh [--size-mb 1024]
"""
import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benches" / "work"
TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None
BEGIN, END = "<!-- storage:begin -->", "<!-- storage:end -->"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

BOTO3 = """
import sys, time, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[2])
start = time.perf_counter()
if sys.argv[1] == "put":
    s3.upload_file(sys.argv[3], "bench", "boto3/model.bin")
else:
    s3.download_file("bench", "boto3/model.bin", sys.argv[3])
print('{"seconds": %f}' % (time.perf_counter() - start))
"""

AZURE = """
import sys, time
from azure.storage.blob import BlobServiceClient
blob = BlobServiceClient.from_connection_string(sys.argv[2]).get_blob_client("bench", "sdk/model.bin")
start = time.perf_counter()
if sys.argv[1] == "put":
    with open(sys.argv[3], "rb") as f:
        blob.upload_blob(f, overwrite=True)
else:
    with open(sys.argv[3], "wb") as f:
        blob.download_blob().readinto(f)
print('{"seconds": %f}' % (time.perf_counter() - start))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, process: subprocess.Popen, name: str) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"{name} exited before it listened")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{name} did not listen on {port}")


def run(command: list[str], env: dict) -> dict:
    """Wall seconds and peak RSS (MB) of one process (GNU time)."""
    with tempfile.NamedTemporaryFile() as rss:
        wrapped = [TIME, "-f", "%M %e", "-o", rss.name, *command] if TIME else command
        start = time.perf_counter()
        process = subprocess.run(wrapped, env={**os.environ, **env}, capture_output=True, text=True)
        wall = time.perf_counter() - start
        result = {"wall": wall, "stdout": process.stdout.strip(), "load": os.getloadavg()[0]}
        if process.returncode != 0:
            result["error"] = (process.stderr.strip().splitlines() or ["exit %d" % process.returncode])[-1][:160]
        if TIME:
            try:
                kb, elapsed = Path(rss.name).read_text().split()[-2:]
                result["rss_mb"] = int(kb) / 1024
                result["elapsed"] = float(elapsed)
            except (ValueError, IndexError):
                pass
    for line in process.stdout.splitlines():
        if line.startswith("{"):
            result.update(json.loads(line))
    return result


def same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as x, open(b, "rb") as y:
        while True:
            left, right = x.read(8 << 20), y.read(8 << 20)
            if left != right:
                return False
            if not left:
                return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--transfer", default=str(ROOT / "target/release/examples/store_transfer"))
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    model = WORK / f"model-{args.size_mb}mb.bin"
    if not model.exists() or model.stat().st_size != args.size_mb << 20:
        with open(model, "wb") as f:
            for _ in range(args.size_mb // 64):
                f.write(os.urandom(64 << 20))
    mb = model.stat().st_size / 1e6
    python = sys.executable
    rows = []
    out = WORK / "fetched.bin"

    def measure(task: str, tool: str, command: list[str], env: dict) -> dict:
        if out.exists():
            out.unlink()
        result = run(command, env)
        if "error" not in result and task.startswith("fetch") and not same_bytes(model, out):
            result["error"] = "the fetched bytes differ"
        rows.append((task, tool, result))
        print(task, tool, {k: v for k, v in result.items() if k != "stdout"}, flush=True)
        return result

    # --- S3 on moto
    port = free_port()
    moto = subprocess.Popen([str(ROOT / ".venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port, moto, "moto")
        endpoint = f"http://127.0.0.1:{port}"
        env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT": endpoint, "AWS_ALLOW_HTTP": "true"}
        subprocess.run([python, "-c", f"import boto3; boto3.client('s3', endpoint_url='{endpoint}').create_bucket(Bucket='bench')"],
                       env={**os.environ, **env}, check=True)
        put = measure("upload to S3 (moto)", "trainyard store", [args.transfer, "put", "s3://bench/trainyard", str(model)], env)
        digest = put.get("stdout", "").strip()
        measure("fetch from S3 (moto)", "trainyard store", [args.transfer, "get", "s3://bench/trainyard", digest, str(out)], env)
        script = WORK / "boto3_transfer.py"
        script.write_text(BOTO3)
        measure("upload to S3 (moto)", "boto3 upload_file", [python, str(script), "put", endpoint, str(model)], env)
        measure("fetch from S3 (moto)", "boto3 download_file", [python, str(script), "get", endpoint, str(out)], env)
    finally:
        moto.kill()
        moto.wait()

    # --- Azure Blob on Azurite (on disk: a 1 GB blob twice does not belong in its memory)
    port = free_port()
    location = tempfile.mkdtemp(prefix="azurite-", dir=WORK)
    azurite = subprocess.Popen([str(ROOT / "tests/support/node_modules/.bin/azurite-blob"), "--blobHost", "127.0.0.1",
                                "--blobPort", str(port), "--location", location, "--skipApiVersionCheck", "--loose", "--silent"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port, azurite, "azurite")
        endpoint = f"http://127.0.0.1:{port}/devstoreaccount1"
        connection = (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};"
                      f"BlobEndpoint={endpoint};")
        env = {"AZURE_STORAGE_ACCOUNT_NAME": "devstoreaccount1", "AZURE_STORAGE_ACCOUNT_KEY": AZURITE_KEY,
               "AZURE_STORAGE_ENDPOINT": endpoint, "AZURE_ALLOW_HTTP": "true"}
        subprocess.run([python, "-c", "import sys\nfrom azure.storage.blob import BlobServiceClient\n"
                        "BlobServiceClient.from_connection_string(sys.argv[1]).create_container('bench')", connection],
                       check=True)
        put = measure("upload to Azure Blob (Azurite)", "trainyard store", [args.transfer, "put", "az://bench/trainyard", str(model)], env)
        digest = put.get("stdout", "").strip()
        measure("fetch from Azure Blob (Azurite)", "trainyard store", [args.transfer, "get", "az://bench/trainyard", digest, str(out)], env)
        script = WORK / "azure_transfer.py"
        script.write_text(AZURE)
        measure("upload to Azure Blob (Azurite)", "azure-storage-blob upload_blob", [python, str(script), "put", connection, str(model)], env)
        measure("fetch from Azure Blob (Azurite)", "azure-storage-blob download_blob", [python, str(script), "get", connection, str(out)], env)
    finally:
        azurite.kill()
        azurite.wait()
        subprocess.run(["rm", "-rf", location])
    if out.exists():
        out.unlink()

    saved = {"size_mb": mb, "rows": [[t, tool, r] for t, tool, r in rows], "note": args.note,
             "python": platform.python_version(), "cores": os.cpu_count()}
    (WORK / "storage.json").write_text(json.dumps(saved, indent=1))
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
    """The Storage section of docs/performance.md (run.py calls this too)."""
    mb = saved["size_mb"]
    loads = ", ".join("%.1f" % r.get("load", 0) for _, _, r in saved["rows"])
    lines = [BEGIN, "## Storage: a 1 GB model", "",
             f"Written by `benches/storage.py`. One file of {mb:,.0f} MB (random bytes), uploaded then fetched, each "
             "transfer its own process; trainyard's row is its `ArtifactStore` (`train` publishes through it, "
             "`model get` fetches from it: BLAKE3 while reading, multipart upload, verified download written "
             "atomically), driven by `crates/trainyard-store/examples/store_transfer.rs`. The SDKs run with their "
             "defaults, as a user's script would. **The servers are moto and Azurite on 127.0.0.1, not a cloud**: "
             "a local server bounds the throughput (moto keeps objects in Python memory, Azurite writes them to "
             "disk), so these rows compare the clients' cost on this machine, not cloud transfer rates. "
             f"Load average as each transfer finished: {loads}."
             + (f" {saved['note']}" if saved.get("note") else ""),
             "",
             "| task | tool | time | throughput | peak RSS | vs trainyard |", "|---|---|---|---|---|---|"]
    base = {}
    for task, tool, result in saved["rows"]:
        if tool.startswith("trainyard") and "error" not in result:
            base[task] = result["wall"]
    for task, tool, result in saved["rows"]:
        if "error" in result:
            lines.append(f"| {task} | {tool} | {result['error']} | | | |")
            continue
        seconds = result["wall"]
        rss = f"{result['rss_mb']:,.0f} MB" if "rss_mb" in result else ""
        ratio = ""
        if task in base and not tool.startswith("trainyard"):
            ratio = f"{seconds / base[task]:.1f}x slower" if seconds >= base[task] else f"{base[task] / seconds:.1f}x faster"
        lines.append(f"| {task} | {tool} | {seconds:.2f} s | {mb / seconds:,.0f} MB/s | {rss} | {ratio} |")
    lines.append("")
    lines.append("Times are the process's wall clock, start to exit (for the SDKs the interpreter and import "
                 "too, about 0.3-0.5 s; their own transfer time is in benches/work/storage.json).")
    lines.append(END)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
