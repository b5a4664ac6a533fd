#!/usr/bin/env python3
"""Train a logistic-regression classifier on the breast-cancer data.

Standard library only, so the example runs on any machine with Python 3.
trainyard runs this command; it does not train models itself. The script:
  - reads the CSV given by --data (label column `diagnosis`, positive `malignant`),
  - splits it 80/20 with a seeded shuffle, standardises with the training split's statistics,
  - runs batch gradient descent, printing `trainyard:metric loss=... step=...` per epoch,
  - writes metrics.json and model.json into --out.
"""

import argparse
import csv
import json
import math
import os
import random
import sys

LABEL = "diagnosis"
POSITIVE = "malignant"


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        features = [name for name in reader.fieldnames if name != LABEL]
        rows = [([float(row[name]) for name in features], 1 if row[LABEL] == POSITIVE else 0) for row in reader]
    return features, rows


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--learning-rate", type=float, default=0.5)
    parser.add_argument("--l2", type=float, default=0.001)
    args = parser.parse_args()

    features, rows = read(args.data)
    random.Random(args.seed).shuffle(rows)
    cut = int(len(rows) * 0.8)
    train, test = rows[:cut], rows[cut:]
    if not train or not test:
        sys.exit(f"not enough rows to train: {len(rows)}")

    width = len(features)
    means = [sum(x[j] for x, _ in train) / len(train) for j in range(width)]
    stds = [
        math.sqrt(sum((x[j] - means[j]) ** 2 for x, _ in train) / len(train)) or 1.0 for j in range(width)
    ]

    def scale(x):
        return [(x[j] - means[j]) / stds[j] for j in range(width)]

    train_x = [scale(x) for x, _ in train]
    train_y = [y for _, y in train]
    weights = [0.0] * width
    bias = 0.0
    for epoch in range(1, args.epochs + 1):
        grad_w = [0.0] * width
        grad_b = 0.0
        loss = 0.0
        for x, y in zip(train_x, train_y):
            p = sigmoid(sum(w * v for w, v in zip(weights, x)) + bias)
            p = min(max(p, 1e-12), 1 - 1e-12)
            loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
            error = p - y
            for j in range(width):
                grad_w[j] += error * x[j]
            grad_b += error
        n = len(train_x)
        weights = [w - args.learning_rate * (g / n + args.l2 * w) for w, g in zip(weights, grad_w)]
        bias -= args.learning_rate * grad_b / n
        print(f"trainyard:metric loss={loss / n:.6f} step={epoch}", flush=True)

    tp = fp = tn = fn = 0
    test_loss = 0.0
    for x, y in test:
        p = sigmoid(sum(w * v for w, v in zip(weights, scale(x))) + bias)
        p = min(max(p, 1e-12), 1 - 1e-12)
        test_loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
        predicted = 1 if p >= 0.5 else 0
        tp += predicted == 1 and y == 1
        fp += predicted == 1 and y == 0
        tn += predicted == 0 and y == 0
        fn += predicted == 0 and y == 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    metrics = {
        "accuracy": round((tp + tn) / len(test), 6),
        "precision": round(precision, 6),
        "recall": round(recall, 6),
        "f1": round(2 * precision * recall / (precision + recall), 6) if precision + recall else 0.0,
        "log_loss": round(test_loss / len(test), 6),
        "train_rows": len(train),
        "test_rows": len(test),
    }
    model = {"features": features, "means": means, "stds": stds, "weights": weights, "bias": bias, "positive": POSITIVE}

    os.makedirs(args.out, exist_ok=True)
    for name, content in (("metrics.json", metrics), ("model.json", model)):
        path = os.path.join(args.out, name)
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(content, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(path + ".tmp", path)
    print(json.dumps(metrics, sort_keys=True))


if __name__ == "__main__":
    main()
