"""The batch job: score one data window and write its predictions.

    python -m scoring.score --model model/model.joblib --window data/incoming/window.csv \
        --out predictions/window.csv

The window is a CSV of the 30 measurements (no label). The predictions file has
one row per window row, in order: `row` (the window's data line, 1 = the first
after the header), `prediction` (malignant/benign) and `p_malignant`. It is
written to a temporary file and renamed, so a reader never sees half of it.
A window with a bad row fails the job before anything is written, naming the line.
"""

import argparse
import csv
import os
import sys

import joblib

from scoring.features import POSITIVE, read_rows


def score(model_path, window, out):
    """Scores `window` with the model at `model_path` into `out`; returns the number of rows."""
    rows, _ = read_rows(window, labelled=False)
    if not rows:
        raise ValueError(f"{window}: the window has no rows to score")
    model = joblib.load(model_path)
    positive = list(model.classes_).index(POSITIVE)
    predictions = model.predict(rows)
    probabilities = model.predict_proba(rows)[:, positive]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out + ".tmp", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["row", "prediction", f"p_{POSITIVE}"])
        for index, (label, p) in enumerate(zip(predictions, probabilities), start=1):
            writer.writerow([index, label, f"{p:.6f}"])
    os.replace(out + ".tmp", out)
    return len(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="model/model.joblib")
    parser.add_argument("--window", default="data/incoming/window.csv")
    parser.add_argument("--out", default="predictions/window.csv")
    args = parser.parse_args(argv)
    try:
        count = score(args.model, args.window, args.out)
    except ValueError as error:
        sys.exit(f"scoring failed: {error}")
    print(f"scored {count} rows of {args.window} into {args.out}", flush=True)


if __name__ == "__main__":
    main()
