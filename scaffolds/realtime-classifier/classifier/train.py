"""Train the classifier: `python -m classifier.train --data data/wine.csv --out out/`.

trainyard runs this command (train.command in trainyard.yaml); it does not train
models itself. The script:
  - splits the data 80/20, stratified, with a seeded shuffle;
  - standardises the features and fits a logistic-regression model by
    stochastic gradient descent, one epoch at a time, printing
    `trainyard:metric loss=... accuracy=... step=...` per epoch (trainyard's
    early-stop rules watch these lines);
  - saves the best model so far to <out>/model.joblib after each improving
    epoch, so a run that early stop ends still leaves its best model;
  - writes <out>/metrics.json at the end (what the gates judge).
"""

import argparse
import json
import os

import joblib
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from classifier.features import FEATURES, read_csv

MODEL_FILE = "model.joblib"
METRICS_FILE = "metrics.json"


def write_json(path, content):
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(content, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(path + ".tmp", path)


def train(data, out, seed=42, epochs=40, alpha=0.001, log=print):
    """Trains on the CSV at `data`, writes the model and metrics into `out`; returns the metrics."""
    rows, labels = read_csv(data)
    train_x, test_x, train_y, test_y = train_test_split(
        rows, labels, test_size=0.2, random_state=seed, stratify=labels
    )
    scaler = StandardScaler().fit(train_x)
    scaled_train, scaled_test = scaler.transform(train_x), scaler.transform(test_x)
    classes = sorted(set(labels))
    model = SGDClassifier(loss="log_loss", alpha=alpha, random_state=seed, learning_rate="optimal")

    os.makedirs(out, exist_ok=True)
    best = None
    for epoch in range(1, epochs + 1):
        model.partial_fit(scaled_train, train_y, classes=classes)
        loss = log_loss(train_y, model.predict_proba(scaled_train), labels=classes)
        accuracy = accuracy_score(test_y, model.predict(scaled_test))
        log(f"trainyard:metric loss={loss:.6f} accuracy={accuracy:.6f} step={epoch}")
        if best is None or loss < best:
            best = loss
            pipeline = Pipeline([("scale", scaler), ("classify", model)])
            joblib.dump(pipeline, os.path.join(out, MODEL_FILE + ".tmp"))
            os.replace(os.path.join(out, MODEL_FILE + ".tmp"), os.path.join(out, MODEL_FILE))

    pipeline = joblib.load(os.path.join(out, MODEL_FILE))
    predicted = pipeline.predict(test_x)
    metrics = {
        "accuracy": round(float(accuracy_score(test_y, predicted)), 6),
        "f1_macro": round(float(f1_score(test_y, predicted, average="macro")), 6),
        "log_loss": round(float(log_loss(test_y, pipeline.predict_proba(test_x), labels=classes)), 6),
        "train_rows": len(train_x),
        "test_rows": len(test_x),
        "features": len(FEATURES),
    }
    write_json(os.path.join(out, METRICS_FILE), metrics)
    return metrics


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the labelled CSV")
    parser.add_argument("--out", required=True, help="the output folder (model.joblib, metrics.json)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--alpha", type=float, default=0.001, help="L2 regularisation strength")
    args = parser.parse_args(argv)
    metrics = train(args.data, args.out, seed=args.seed, epochs=args.epochs, alpha=args.alpha,
                    log=lambda line: print(line, flush=True))
    print(json.dumps(metrics, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
