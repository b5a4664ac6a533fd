import pytest

from classifier.features import FEATURES, LABEL, read_csv, vector
from tests.conftest import DATA


def test_reads_every_row_with_every_feature():
    rows, labels = read_csv(DATA)
    assert len(rows) == len(labels) == 178
    assert all(len(row) == len(FEATURES) for row in rows)
    assert set(labels) == {"class_0", "class_1", "class_2"}


def test_vector_keeps_the_training_order_whatever_the_request_order():
    record = {name: str(index) for index, name in enumerate(FEATURES)}
    shuffled = dict(reversed(list(record.items())))
    assert vector(shuffled) == [float(index) for index in range(len(FEATURES))]


@pytest.mark.parametrize(
    "value, message",
    [(None, "missing"), ("", "missing"), ("abc", "not a number"), ("nan", "not finite")],
)
def test_vector_names_the_bad_feature(value, message):
    record = {name: 1.0 for name in FEATURES}
    record["hue"] = value
    with pytest.raises(ValueError, match=f"`hue`.*{message}|{message}.*`hue`|`hue` is {message}"):
        vector(record)


def test_a_csv_without_the_label_is_refused(tmp_path):
    path = tmp_path / "no-label.csv"
    path.write_text(",".join(FEATURES) + "\n" + ",".join("1" for _ in FEATURES) + "\n")
    with pytest.raises(ValueError, match=LABEL):
        read_csv(str(path))
