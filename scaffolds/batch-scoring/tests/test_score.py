"""The batch job end to end: the command scores the bundled window into a predictions file."""

import csv
import os
import subprocess
import sys

from tests.conftest import ROOT, WINDOW


def run_job(model, window, out):
    return subprocess.run(
        [sys.executable, "-m", "scoring.score", "--model", str(model), "--window", str(window), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def test_the_job_writes_one_prediction_per_window_row(trained, tmp_path):
    out, _ = trained
    predictions = tmp_path / "predictions" / "window.csv"
    job = run_job(out / "model.joblib", WINDOW, predictions)
    assert job.returncode == 0, job.stderr
    with open(predictions, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 120
    assert [row["row"] for row in rows] == [str(i) for i in range(1, 121)]
    assert {row["prediction"] for row in rows} == {"malignant", "benign"}
    assert all(0 <= float(row["p_malignant"]) <= 1 for row in rows)
    # The window's biopsies are mostly benign (92 of 120 in the source data).
    assert 80 <= sum(row["prediction"] == "benign" for row in rows) <= 105


def test_a_bad_window_fails_and_writes_nothing(trained, tmp_path):
    out, _ = trained
    window = tmp_path / "window.csv"
    lines = open(WINDOW, encoding="utf-8").read().splitlines()
    window.write_text("\n".join(lines[:5] + [lines[5].rsplit(",", 1)[0] + ","]) + "\n")
    predictions = tmp_path / "predictions.csv"
    job = run_job(out / "model.joblib", window, predictions)
    assert job.returncode != 0
    assert "window.csv:6" in job.stderr and "worst_fractal_dimension" in job.stderr
    assert not os.path.exists(predictions)
