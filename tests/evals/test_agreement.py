"""Agreement between labellers against published worked examples (Fleiss 1971; Krippendorff 2011), and datasets."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from andon.errors import ConfigError
from andon.evals.agreement import fleiss_kappa, krippendorff_alpha, label_agreement, rating_counts
from andon.evals.dataset import load_dataset
from andon.evals.model import Case
from andon.evals.stats import cohen_kappa

# Fleiss (1971), Table 1: the diagnoses (1-5) six psychiatrists gave each of 30 patients.
FLEISS_1971 = [
    (4, 4, 4, 4, 4, 4), (2, 2, 2, 5, 5, 5), (2, 3, 3, 3, 3, 5), (5, 5, 5, 5, 5, 5), (2, 2, 2, 4, 4, 4),
    (1, 1, 3, 3, 3, 3), (3, 3, 3, 3, 5, 5), (1, 1, 3, 3, 3, 4), (1, 1, 4, 4, 4, 4), (5, 5, 5, 5, 5, 5),
    (1, 4, 4, 4, 4, 4), (1, 2, 4, 4, 4, 4), (2, 2, 2, 3, 3, 3), (1, 4, 4, 4, 4, 4), (2, 2, 4, 4, 4, 5),
    (3, 3, 3, 3, 3, 5), (1, 1, 1, 4, 5, 5), (1, 1, 1, 1, 1, 2), (2, 2, 4, 4, 4, 4), (1, 3, 3, 5, 5, 5),
    (5, 5, 5, 5, 5, 5), (2, 4, 4, 4, 4, 4), (2, 2, 4, 5, 5, 5), (1, 1, 4, 4, 4, 4), (1, 4, 4, 4, 4, 5),
    (2, 2, 2, 2, 2, 4), (1, 1, 1, 1, 5, 5), (2, 2, 4, 4, 4, 4), (1, 3, 3, 3, 3, 3), (5, 5, 5, 5, 5, 5),
]  # fmt: skip

# Krippendorff (2011), section C: four observers, twelve units, None where an observer gave no value.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def test_fleiss_kappa_of_fleiss_1971_table_1() -> None:
    categories, counts = rating_counts(FLEISS_1971)
    assert categories == [1, 2, 3, 4, 5] and all(sum(row) == 6 for row in counts)
    kappa = fleiss_kappa(counts)
    assert kappa is not None and round(kappa, 3) == 0.430


def test_krippendorff_alpha_of_krippendorffs_example() -> None:
    units = [[v for v in unit if v is not None] for unit in zip(*KRIPPENDORFF_2011, strict=True)]
    alpha = krippendorff_alpha(units)
    assert alpha is not None and round(alpha, 3) == 0.743


def test_perfect_and_undefined_agreement() -> None:
    assert fleiss_kappa([[3, 0], [0, 3]]) == 1.0
    assert fleiss_kappa([[3, 0], [3, 0]]) is None  # one category throughout
    assert krippendorff_alpha([["a", "a"], ["b", "b"]]) == 1.0
    assert krippendorff_alpha([["a"], ["b"]]) is None  # nothing pairable
    with pytest.raises(ValueError):
        fleiss_kappa([[2, 1], [1, 1]])


def _cases(rows: list[dict[str, str]]) -> list[Case]:
    return [Case(id=f"c{i}", vars={}, labels=row) for i, row in enumerate(rows)]


def test_two_labellers_get_cohens_kappa_with_an_interval() -> None:
    a = ["ok", "ok", "no", "no", "ok", "no", "ok", "ok", "no", "ok"] * 3
    b = ["ok", "no", "no", "no", "ok", "no", "ok", "ok", "ok", "ok"] * 3
    report = label_agreement(_cases([{"alice": x, "bob": y} for x, y in zip(a, b, strict=True)]), seed=1)
    cohen, alpha = report.values
    assert cohen.method == "cohen_kappa" and cohen.value == pytest.approx(cohen_kappa(a, b))
    assert cohen.low is not None and cohen.high is not None and cohen.low <= cohen.value <= cohen.high
    assert alpha.method == "krippendorff_alpha" and alpha.n == 30
    assert report.disagreements == [f"c{i}" for i in range(30) if a[i] != b[i]]
    assert label_agreement(_cases([{"alice": x, "bob": y} for x, y in zip(a, b, strict=True)]), seed=1) == report


def test_more_labellers_get_fleiss_kappa_on_the_cases_all_of_them_labelled() -> None:
    rows = [{f"r{j}": str(v) for j, v in enumerate(unit)} for unit in FLEISS_1971]
    rows.append({"r0": "1", "r1": "2"})  # labelled by two only: no row of Fleiss' table
    report = label_agreement(_cases(rows), n_resamples=300)
    fleiss, alpha = report.values
    assert fleiss.method == "fleiss_kappa" and fleiss.n == 30 and round(fleiss.value or 0, 3) == 0.430
    assert fleiss.low is not None and fleiss.high is not None and fleiss.low < 0.430 < fleiss.high
    assert alpha.n == 31


def test_one_label_each_is_no_agreement_to_measure() -> None:
    report = label_agreement(_cases([{"alice": "ok"}, {"alice": "no"}]))
    assert report.values == [] and report.n_labelled == 0


def test_datasets_carry_labels_and_the_guideline_beside_them(tmp_path: Path) -> None:
    (tmp_path / "cases.yaml").write_text(
        textwrap.dedent(
            """\
            - id: a
              vars: {text: 안녕}
              labels: {alice: approve, bob: reject, carol: null}
            - id: b
              vars: {text: 하세요}
            """
        ),
        encoding="utf-8",
    )
    assert load_dataset(Path("cases.yaml"), tmp_path).guideline is None
    (tmp_path / "cases.guideline.md").write_text("# 심사 지침\n전화번호는 거절합니다.\n", encoding="utf-8")
    data = load_dataset(Path("cases.yaml"), tmp_path)
    assert data.cases[0].labels == {"alice": "approve", "bob": "reject"} and data.cases[1].labels == {}
    assert data.guideline is not None and len(data.guideline.sha256) == 64
    assert Case.from_json(data.cases[0].to_json()) == data.cases[0]
    (tmp_path / "cases.csv").write_text("id,text,labels.alice,labels.bob\na,안녕,approve,\n", encoding="utf-8")
    assert load_dataset(Path("cases.csv"), tmp_path).cases[0].labels == {"alice": "approve"}


def test_labels_that_are_not_one_per_person_name_their_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("- id: a\n  vars: {t: x}\n- id: b\n  labels: [approve, reject]\n")
    with pytest.raises(ConfigError) as caught:
        load_dataset(Path("bad.yaml"), tmp_path)
    assert caught.value.where is not None and caught.value.where.endswith("bad.yaml:3: labels")
