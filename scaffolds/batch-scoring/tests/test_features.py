import pytest

from scoring.features import FEATURES, LABEL, read_rows, vector
from tests.conftest import DATA, WINDOW


def test_there_are_thirty_distinct_features():
    assert len(FEATURES) == len(set(FEATURES)) == 30


def test_reads_the_training_data_with_labels():
    rows, labels = read_rows(DATA, labelled=True)
    assert len(rows) == len(labels) == 449
    assert set(labels) == {"malignant", "benign"}


def test_reads_a_window_without_labels():
    rows, labels = read_rows(WINDOW, labelled=False)
    assert len(rows) == 120 and labels is None


def test_a_window_without_the_label_is_not_training_data():
    with pytest.raises(ValueError, match=LABEL):
        read_rows(WINDOW, labelled=True)


def test_a_bad_value_names_the_line_and_the_feature(tmp_path):
    lines = open(WINDOW, encoding="utf-8").read().splitlines()
    lines[3] = "oops," + lines[3].split(",", 1)[1]
    path = tmp_path / "window.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"window.csv:4: feature `mean_radius` is not a number"):
        read_rows(str(path), labelled=False)


def test_vector_follows_the_training_order():
    record = {name: index for index, name in enumerate(reversed(FEATURES))}
    assert vector(record) == [float(record[name]) for name in FEATURES]
