#!/usr/bin/env python3
"""`trainyard site build` over a ledger of 10,000 runs: time and peak RSS.

Creates the ledger once (benches/work/site-ledger: a git repository whose
refs/trainyard/runs holds N run records, each with 6 final metrics and a
100-step loss series, written with `git fast-import` in seconds), then times
three builds with GNU time: the first (every page written), a second with
nothing changed (every page compared, none written), and one after a new run
was recorded (only the pages that show it rewritten). Writes the section
between the `site` markers of docs/performance.md.

    python3 benches/site.py [--runs 10000] [--binary target/release/trainyard] [--note TEXT]
"""
import argparse
import datetime
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benches" / "work"
BEGIN, END = "<!-- site:begin -->", "<!-- site:end -->"
MANIFEST = """version: 1
project:
  name: bench
  default-branch: main
model:
  name: clf
  path: model.json
  metrics:
    accuracy: { direction: maximize }
environments:
  - name: staging
  - name: prod
"""


def run_record(index: int, start: datetime.datetime, rng: random.Random) -> dict:
    started = start + datetime.timedelta(minutes=7 * index)
    run_id = started.strftime("%Y%m%dT%H%M%S.") + f"{started.microsecond // 1000:03d}Z-{index:06x}"
    loss = [[step, round(0.7 * 0.97 ** step + rng.random() * 0.01, 6)] for step in range(100)]
    return {
        "id": run_id,
        "project": "bench",
        "mode": "full" if index % 5 == 0 else "sample",
        "command": ["python3", "train.py", "--epochs", "100"],
        "params": {"learning_rate": round(rng.uniform(0.001, 0.1), 4), "depth": rng.randint(2, 12)},
        "metrics": {
            "accuracy": round(rng.uniform(0.85, 0.98), 4),
            "f1": round(rng.uniform(0.8, 0.97), 4),
            "precision": round(rng.uniform(0.8, 0.99), 4),
            "recall": round(rng.uniform(0.8, 0.99), 4),
            "log_loss": round(rng.uniform(0.05, 0.4), 4),
            "loss": loss[-1][1],
        },
        "series": {"loss": loss},
        "datasets": {"biopsies": f"{index // 500:064x}"},
        "git": {"commit": f"{index:040x}", "branch": f"feature/{index % 40}", "dirty": False},
        "ci": {"host": "github", "event": "push", "url": f"https://github.com/o/r/actions/runs/{index}"},
        "tools": {"python": "3.11"},
        "started_at": started.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "duration": 42.0,
        "outcome": {"status": "succeeded"},
        "artifacts": [],
    }


def make_ledger(repo: Path, runs: int) -> None:
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    git = lambda *args, **kw: subprocess.run(["git", "-C", str(repo), *args], check=True, **kw)  # noqa: E731
    git("init", "--quiet", "--initial-branch=main")
    (repo / "trainyard.yaml").write_text(MANIFEST)
    (repo / ".gitignore").write_text(".trainyard/\n")
    git("add", "--all")
    git("-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "--quiet", "-m", "bench project")
    rng = random.Random(7)
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    stream = [b"commit refs/trainyard/runs\n", b"committer bench <bench@example.com> 1735689600 +0000\n",
              b"data 9\n10k runs\n"]
    registry = [b"commit refs/trainyard/registry\n", b"committer bench <bench@example.com> 1735689600 +0000\n",
                b"data 9\nregistry\n"]
    version = 0
    for index in range(runs):
        record = run_record(index, start, rng)
        rid = record["id"]
        path = f"runs/{rid[:6]}/{rid[6:8]}/{rid}.json"
        body = json.dumps(record, indent=2).encode()
        stream.append(f"M 100644 inline {path}\ndata {len(body)}\n".encode() + body + b"\n")
        if index % 100 == 0:
            # Every 100th run registered; the champion alias follows each version.
            version += 1
            entries = {
                f"models/clf/versions/{version:08d}.json": {
                    "model": "clf", "version": version, "run_id": rid, "registered_at": record["started_at"],
                    "artifact": {"path": "model.json", "digest": f"{version:064x}", "size": 1000}},
                f"models/clf/aliases/{version:08d}.json": {
                    "model": "clf", "alias": "champion", "version": version, "actor": "bench",
                    "at": record["started_at"], "reason": "bench"},
            }
            for entry, value in entries.items():
                blob = json.dumps(value).encode()
                registry.append(f"M 100644 inline {entry}\ndata {len(blob)}\n".encode() + blob + b"\n")
    git("fast-import", "--quiet", input=b"".join(stream + registry))


def timed(binary: str, repo: Path, out: Path) -> dict:
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", binary, "--format", "json", "site", "build", "-o", str(out)],
        cwd=repo, capture_output=True, text=True, check=True)
    wall, rss = result.stderr.strip().splitlines()[-1].split()
    report = json.loads(result.stdout)
    return {"wall": float(wall), "rss_mb": int(rss) / 1024, "pages": int(report["outputs"]["pages"]),
            "written": int(report["outputs"]["written"]), "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--binary", default=str(ROOT / "target" / "release" / "trainyard"))
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    args.binary = str(Path(args.binary).resolve())
    repo = WORK / "site-ledger"
    marker = repo / ".git" / f"bench-{args.runs}-runs"
    if not marker.exists():
        make_ledger(repo, args.runs)
        marker.touch()
    out = WORK / "site-out"
    shutil.rmtree(out, ignore_errors=True)
    rows = [("first build", timed(args.binary, repo, out)),
            ("second build, nothing changed", timed(args.binary, repo, out))]
    # One more run, then a build that rewrites only what shows it.
    rng = random.Random(args.runs)
    extra = run_record(args.runs, datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc), rng)
    extra_path = repo / ".trainyard" / "extra.json"
    extra_path.parent.mkdir(exist_ok=True)
    rows.append(("after one new run", None))
    body = json.dumps(extra, indent=2).encode()
    rid = extra["id"]
    tip = subprocess.run(["git", "-C", str(repo), "rev-parse", "refs/trainyard/runs"], capture_output=True,
                         text=True, check=True).stdout.strip()
    stream = (b"commit refs/trainyard/runs\ncommitter bench <bench@example.com> 1735689600 +0000\ndata 8\none more\n"
              + f"from {tip}\nM 100644 inline runs/{rid[:6]}/{rid[6:8]}/{rid}.json\ndata {len(body)}\n".encode() + body + b"\n")
    subprocess.run(["git", "-C", str(repo), "fast-import", "--quiet"], input=stream, check=True)
    rows[-1] = ("after one new run", timed(args.binary, repo, out))
    # Back to N runs for the next time.
    subprocess.run(["git", "-C", str(repo), "update-ref", "refs/trainyard/runs", tip], check=True)

    saved = {"runs": args.runs, "rows": rows, "note": args.note}
    (WORK / "site.json").write_text(json.dumps(saved, indent=1))
    section = render(saved)
    print(section)
    doc = ROOT / "docs" / "performance.md"
    text = doc.read_text()
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text)


def render(saved: dict) -> str:
    loads = ", ".join("%.1f" % r["load"] for _, r in saved["rows"])
    lines = [BEGIN, f"## Static site: {saved['runs']:,} runs", "",
             f"Written by `benches/site.py`. `trainyard site build` (release build) over a ledger of "
             f"{saved['runs']:,} runs in git, each with 6 metrics, 2 params and a 100-step loss series "
             "(a page per run with its charts as inline SVG: the loss per step against the champion's, each final metric against the champion's), every 100th run registered as a model version and made champion. Wall clock and peak RSS "
             f"of the process (GNU time). Load average as each build finished: {loads}."
             + (f" {saved['note']}" if saved.get("note") else ""),
             "", "| build | time | peak RSS | pages | written |", "|---|---|---|---|---|"]
    for name, r in saved["rows"]:
        lines.append(f"| {name} | {r['wall']:.2f} s | {r['rss_mb']:,.0f} MB | {r['pages']:,} | {r['written']:,} |")
    lines.append("")
    lines.append("No other tool renders this ledger: MLflow's UI is a server over its database, "
                 "DVC Studio and Weights & Biases are hosted services, so there is no side-by-side row.")
    lines.append(END)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
