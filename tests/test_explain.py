from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from conftest import LABELS, run_cli, toy_split
from emoclassic.datasets import EmotionDataset
from emoclassic.errors import InvalidParameter, MissingDependencyError, ModelError, UsageError
from emoclassic.explain import explain_lime, explain_linear, global_features, word_scores
from emoclassic.model import EmotionModel, SklearnEmotionModel
from emoclassic.persistence import save_model
from emoclassic.pipelines import make_lr_pipeline, make_nb_pipeline
from emoclassic.training import FitSettings, fit_model

TEXT = "so happy but also scared of the dark and angry"


@pytest.fixture(scope="module")
def toy_model():
    ds = EmotionDataset(LABELS, {"train": toy_split(4), "validation": toy_split(2)})
    return fit_model("lr", ds, FitSettings(progress=False, search=False))


@pytest.fixture(scope="module")
def saved(toy_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("explain") / "lr.joblib"
    save_model(toy_model, path)
    return path


def sklearn_decisions(pipe, text: str) -> np.ndarray:
    """Decision values from scikit-learn's own binary estimators, not the folded copy."""
    from sklearn.multiclass import _ConstantPredictor

    features = pipe[0].transform([text])
    values = []
    for binary in pipe[-1].estimators_:
        if isinstance(binary, _ConstantPredictor):  # folded as an infinite intercept
            values.append(np.inf if binary.y_[0] else -np.inf)
        elif hasattr(binary, "decision_function"):
            values.append(binary.decision_function(features)[0])
        else:  # naive Bayes: the log-odds of its two classes
            joint = binary.predict_joint_log_proba(features)[0]
            values.append(joint[1] - joint[0])
    return np.array(values)


def assert_contributions_add_up(model, pipe, texts):
    for text in texts:
        explanation = explain_linear(model, text, "all")
        expected = sklearn_decisions(pipe, text)
        assert [e.label for e in explanation.emotions] == list(model.label_names)
        for j, emotion in enumerate(explanation.emotions):
            total = emotion.intercept + sum(c.contribution for c in emotion.contributions)
            if np.isinf(expected[j]):
                assert total == emotion.decision == expected[j]
                continue
            assert abs(total - expected[j]) <= 1e-6
            assert abs(emotion.decision - expected[j]) <= 1e-6
            assert all(
                abs(c.value * c.weight - c.contribution) < 1e-12 for c in emotion.contributions
            )
        np.testing.assert_allclose(
            [e.score for e in explanation.emotions], pipe.predict_proba([text])[0], atol=1e-9
        )


def test_toy_contributions_add_up_to_the_decision_value(toy_model):
    pipe = toy_model.estimator.estimator_
    assert_contributions_add_up(toy_model, pipe, [TEXT, "so happy today", "unknown words only"])
    joy = explain_linear(toy_model, "so happy today", ["joy"]).emotions[0]
    assert joy.contributions[0].feature == "happy" and joy.contributions[0].contribution > 0
    assert joy.predicted and joy.score == pytest.approx(
        toy_model.predict_proba(["so happy today"])[0, 2]
    )
    nothing = explain_linear(toy_model, "zzz qqq", "all").emotions[0]
    assert nothing.contributions == [] and nothing.decision == nothing.intercept


def test_goemotions_lr_and_nb_contributions_add_up():
    from emoclassic.datasets import load_goemotions

    ds = load_goemotions()
    texts = ds.validation.texts[:25]
    for pipe in (make_lr_pipeline(C=10.0), make_nb_pipeline(alpha=0.5)):
        pipe.fit(ds.train.texts[:1500], ds.train.labels[:1500])
        model = SklearnEmotionModel(pipe, ds.label_names, [0.5] * len(ds.label_names))
        assert_contributions_add_up(model, pipe, texts)


def test_default_labels_are_the_predicted_ones(toy_model):
    explanation = explain_linear(toy_model, TEXT)
    predicted = [label for label, _ in toy_model.predict_emotions([TEXT])[0]]
    assert [e.label for e in explanation.emotions] == (predicted or ["anger"])
    with pytest.raises(UsageError, match="unknown emotion 'bliss'"):
        explain_linear(toy_model, TEXT, ["bliss"])


def test_global_features(toy_model):
    strongest = global_features(toy_model, k=3)
    assert list(strongest) == list(LABELS)
    joy_up = [feature for feature, _ in strongest["joy"]["positive"]]
    assert "happy" in joy_up and len(joy_up) == 3
    weights = [w for _, w in strongest["joy"]["positive"]]
    assert weights == sorted(weights, reverse=True) and all(w > 0 for w in weights)
    assert all(w < 0 for _, w in strongest["joy"]["negative"])


def test_word_scores_spread_ngrams_over_words(toy_model):
    joy = explain_linear(toy_model, "So happy, today!", ["joy"]).emotions[0]
    spans = word_scores(joy, "So happy, today!")
    assert [(s, e) for s, e, _ in spans] == [(0, 2), (3, 8), (10, 15)]
    assert sum(score for _, _, score in spans) == pytest.approx(
        sum(c.contribution for c in joy.contributions)
    )


def test_word_scores_split_each_share_over_every_place_it_covers():
    from emoclassic.explain import Contribution, EmotionExplanation

    text = "So happy, so happy! Unhappy?"  # words: so happy so happy unhappy
    contributions = [
        Contribution("word__so happy", 1.0, 1.0, 4.0),  # 2 places x 2 words -> 1.0 each
        Contribution("char__app", 1.0, 1.0, 3.0),  # inside 3 words -> 1.0 each
        Contribution("word__unhappy", 1.0, 1.0, -2.0),  # one word
        Contribution("word__absent words", 1.0, 1.0, 9.0),  # covers nothing
        Contribution("char__ ", 1.0, 1.0, 5.0),  # blank after stripping: covers nothing
    ]
    emotion = EmotionExplanation("joy", 0.9, 0.5, True, 0.0, 1.0, contributions)
    assert word_scores(emotion, text) == [
        (0, 2, 1.0), (3, 8, 2.0), (10, 12, 1.0), (13, 18, 2.0), (20, 27, -1.0)
    ]  # fmt: skip


class KeywordModel(EmotionModel):
    """A non-linear model: joy is 0.9 if 'happy' and not 'not' appear."""

    def predict_proba(self, texts):
        rows = []
        for text in texts:
            words = set(text.lower().split())
            joy = 0.9 if "happy" in words and "not" not in words else 0.1
            rows.append([0.5, 0.2, joy])
        return np.array(rows)


def test_lime_explains_any_model():
    pytest.importorskip("lime")
    model = KeywordModel(LABELS, [0.5, 0.5, 0.5])
    explanation = explain_lime(model, "I am happy and calm today", ["joy"], num_samples=300)
    [joy] = explanation.emotions
    assert explanation.method == "lime" and joy.label == "joy" and joy.predicted
    assert joy.contributions[0].feature == "happy"
    assert joy.contributions[0].contribution > 0.5
    assert all(abs(c.contribution) < 0.05 for c in joy.contributions[1:])
    again = explain_lime(model, "I am happy and calm today", ["joy"], num_samples=300)
    assert again.to_dict() == explanation.to_dict()  # seeded


def test_lime_missing_extra_and_linear_only_errors(monkeypatch):
    model = KeywordModel(LABELS, [0.5, 0.5, 0.5])
    with pytest.raises(ModelError, match="explain this model with LIME instead"):
        explain_linear(model, "happy")
    with pytest.raises(ModelError, match="global explanations need a linear text model"):
        global_features(model)
    monkeypatch.setitem(sys.modules, "lime", None)
    monkeypatch.setitem(sys.modules, "lime.lime_text", None)
    with pytest.raises(MissingDependencyError) as caught:
        explain_lime(model, "happy")
    assert (
        str(caught.value)
        == "this feature needs 'lime.lime_text': pip install 'emoclassic[explain]'"
    )


def test_cli_json_sums_to_the_decision_values(saved, toy_model, tmp_path):
    result = run_cli("explain", str(saved), TEXT, "--all", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    expected = sklearn_decisions(toy_model.estimator.estimator_, TEXT)
    assert payload["method"] == "linear" and payload["text"] == TEXT
    for j, emotion in enumerate(payload["emotions"]):
        total = emotion["intercept"] + sum(c["contribution"] for c in emotion["contributions"])
        assert abs(total - expected[j]) <= 1e-6


def test_cli_table_html_and_global(saved, tmp_path):
    page = tmp_path / "why.html"
    result = run_cli(
        "explain", str(saved), "so happy today", "--emotion", "joy", "--top", "2",
        "--html", str(page), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("joy: score ") and "= intercept " in lines[0]
    assert lines[1].split() == ["feature", "value", "weight", "contribution"]
    assert lines[2].split()[0] == "happy"
    assert lines[-1] == f"wrote {page}"
    document = page.read_text()
    assert document.startswith("<!DOCTYPE html>") and "rgba(0, 160, 60" in document
    assert ">happy</span>" in document
    assert [p.name for p in tmp_path.iterdir()] == ["why.html"]  # no temporary left behind
    strongest = run_cli("explain", str(saved), "--global", "--top", "2", "--json", cwd=tmp_path)
    assert strongest.returncode == 0, strongest.stderr
    table = json.loads(strongest.stdout)
    assert list(table) == list(LABELS)
    assert table["joy"]["positive"][0]["feature"] in {"happy", "joy"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give a TEXT to explain, or --global (not both)"),
        (["hi", "--global"], "give a TEXT to explain, or --global (not both)"),
        (["  "], "the text is empty"),
        (["hi", "--emotion", "bliss"], "unknown emotion 'bliss'; the model knows anger, fear, joy"),
    ],
)
def test_cli_usage_errors(saved, tmp_path, args, message):
    result = run_cli("explain", str(saved), *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"emoclassic: error: {message}\n"


def _reject_constant(name):
    raise ValueError(f"invalid JSON constant {name}")


def test_cli_constant_label_gives_valid_json_and_a_finite_sum(tmp_path):
    texts = ["so happy", "so sad", "happy day", "sad day"] * 3
    labels = [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0]] * 3  # the third label never occurs
    with pytest.warns(UserWarning, match="present in all training examples"):
        pipe = make_lr_pipeline().fit(texts, labels)
    path = tmp_path / "constant.joblib"
    save_model(SklearnEmotionModel(pipe, LABELS, [0.5, 0.5, 0.5], {}), path)
    constant = LABELS[2]
    result = run_cli(
        "explain", str(path), "happy day", "--emotion", constant, "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    emotion = json.loads(result.stdout, parse_constant=_reject_constant)["emotions"][0]
    assert emotion["label"] == constant and emotion["score"] == 0.0
    assert emotion["decision"] is None and emotion["intercept"] is None
    table = run_cli("explain", str(path), "happy day", "--emotion", constant, cwd=tmp_path)
    assert "decision -inf = intercept -inf + features +0.0000" in table.stdout
    assert "nan" not in table.stdout


def test_lime_refuses_a_text_without_words(tmp_path):
    pytest.importorskip("lime")
    model = KeywordModel(LABELS, [0.5, 0.5, 0.5])
    with pytest.raises(InvalidParameter, match=r"^text has no word") as caught:
        explain_lime(model, "!!! ...")
    assert caught.value.param == "text"
