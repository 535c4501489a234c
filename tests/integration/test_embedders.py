"""Embedding backends (fp32 sentence-transformers, int8 ONNX derived from the fp32 weights) and the fit
benchmark script."""

import hashlib
import json
import subprocess
import sys
from dataclasses import asdict

import numpy as np
import pytest

from lake.settings import Settings
from reasons.embedding import backends as embedders
from reasons.embedding.backends import EMBEDDING_MODEL, load_embedder
from reasons.topics.fit import fit_topics, model_version_for
from reasons.topics.params import OUTLIER, TopicModelParams
from tests.support.paths import REPO

ROOT = REPO
TEXTS = [
    "my card was declined at checkout",
    "I am still waiting for my refund",
    "I can't log in to my account",
    "the package still has not been delivered",
    "I was charged an unexpected fee",
    "the app crashes on startup",
    "the support agent was rude to me",
    "I cannot cancel my subscription",
    "great service, thank you so much",
    "how do I change my delivery address",
    "what is the exchange rate for euros",
    "my top up failed",
    "can I get a virtual card",
    "why is my transfer pending",
    "I lost my card yesterday",
    "the ATM swallowed my card",
    "is there a fee for withdrawing cash abroad",
    "how do I verify my identity",
    "my pin is blocked",
    "the password reset link does not work",
    "money I sent abroad never arrived",
    "can I use apple pay",
    "why was I charged twice for one purchase",
    "I want to close my account",
    "the courier missed the delivery window",
    "parcel stuck in transit for a week",
    "love the new design",
    "the mobile app freezes on the payment screen",
    "where can I find my invoice number",
    "do you ship to Canada",
    "One star: delivery is late again. Tracking has not updated for days. Unacceptable.",
    "Customer called: the refund you promised never came. It has been over 14 days. Customer upset.",
    "Hi, two factor code never arrives so I cannot sign in. I reset my password twice. Please help.",
    "Agent note - customer says there are hidden charges on my bill. I want the fee removed.",
    "Very disappointed, your app crashed and closed again. I reinstalled it twice. So disappointing.",
    "Hello support, cancellation of my plan keeps failing. The page just reloads.",
    "what are your opening hours on Sunday",
    "is there a student discount available",
    "my salary has not arrived",
    "I think someone else used my card",
    "the exchange rate you applied is wrong",
    "how long does a transfer take",
    "my card payment was reverted",
    "I need a new card, mine expired",
    "the contactless payment did not work",
    "why do I need to top up before paying",
    "I got the wrong amount of cash from the ATM",
    "a",
    "",
    "a much longer message " * 60,  # past the 256-token limit: truncated like sentence-transformers does
]


@pytest.fixture(scope="module")
def int8():
    return load_embedder("int8-onnx")


def test_unknown_backend_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match=r"unknown embedding backend 'fp16'.*fp32, int8-onnx"):
        load_embedder("fp16")
    with pytest.raises(ValueError, match="unknown embedding backend"):
        load_embedder("bf16")


def test_backend_setting_reads_the_environment(tmp_path):
    assert Settings().embedding_backend == "fp32"
    s = Settings.from_env({"REASONLAKE_HOME": str(tmp_path), "REASONLAKE_EMBEDDING_BACKEND": "int8-onnx"})
    assert s.embedding_backend == "int8-onnx" and Settings.from_env(s.to_env()) == s
    assert embedders.check_backend(s.embedding_backend) == "int8-onnx"
    assert embedders.model_id(s.embedding_backend) == embedders.MODEL_IDS["int8-onnx"]
    with pytest.raises(ValueError, match="unknown embedding backend"):
        embedders.model_id("fp16")


def test_int8_embeddings_are_unit_rows_in_input_order(int8):
    out = int8.encode(TEXTS, batch_size=8, normalize_embeddings=True, show_progress_bar=False)
    assert out.shape == (len(TEXTS), 384) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    # activations are quantised with one scale per run, so a vector depends a little on its batch
    # companions (documented in embedders): each text stays by far closest to itself embedded alone
    alone = np.vstack([int8.encode([t], normalize_embeddings=True) for t in TEXTS])
    cos = out @ alone.T
    assert (cos.argmax(axis=1) == np.arange(len(TEXTS))).all()
    # measured: mean 0.991, min 0.971
    assert np.diag(cos).mean() >= 0.985 and np.diag(cos).min() >= 0.94, (np.diag(cos).mean(), np.diag(cos).min())
    assert int8.encode([], batch_size=8).shape == (0, 384)
    assert load_embedder("int8-onnx") is int8  # one instance per process and backend


def test_backends_have_their_own_model_ids():
    assert embedders.MODEL_IDS["fp32"] == EMBEDDING_MODEL != embedders.MODEL_IDS["int8-onnx"]
    for backend, model_id in embedders.MODEL_IDS.items():
        assert embedders.backend_of(model_id) == backend
    with pytest.raises(ValueError, match="no embedding backend makes"):
        embedders.backend_of("sentence-transformers/all-mpnet-base-v2")


@pytest.mark.slow
def test_int8_model_is_derived_deterministically_with_int8_products(tmp_path):
    import onnx

    first = embedders.int8_model_path(tmp_path / "a")
    second = embedders.int8_model_path(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert embedders.int8_model_path(tmp_path / "a") == first and len(list((tmp_path / "a").iterdir())) == 1
    ops = {node.op_type for node in onnx.load(str(first)).graph.node}
    assert {"MatMulInteger", "DynamicQuantizeLinear"} <= ops  # int8 activations, not only int8 weights


@pytest.mark.slow
def test_int8_is_faithful_to_fp32(int8):
    fp32 = load_embedder()
    assert load_embedder("fp32") is fp32
    a = fp32.encode(TEXTS, batch_size=16, normalize_embeddings=True, show_progress_bar=False)
    b = int8.encode(TEXTS, batch_size=16, normalize_embeddings=True, show_progress_bar=False)
    cos = (a * b).sum(axis=1)
    assert cos.mean() >= 0.99 and cos.min() >= 0.97, (cos.mean(), cos.min())  # measured 0.9929, 0.975


@pytest.mark.slow
def test_fit_sample_fits_a_sample_and_assigns_the_rest():
    rng = np.random.default_rng(0)
    centers = np.eye(8, 16, dtype=np.float32)
    labels = rng.integers(0, 4, size=400)
    x = centers[labels] + rng.normal(scale=0.05, size=(400, 16)).astype(np.float32)
    words = ("card declined payment", "refund waiting money", "login password locked", "parcel courier late")
    texts = [f"{words[k]} again" for k in labels]
    timings: dict = {}
    fit = fit_topics(texts, x, TopicModelParams(fit_sample=200), timings=timings)
    assert len(fit.doc_topics) == 400 and sum(t.size for t in fit.topics) == int((fit.doc_topics != OUTLIER).sum())
    for k in range(4):  # every generated group lands in one topic
        assert len(set(fit.doc_topics[labels == k].tolist())) == 1
    assert {"reduction", "clustering", "representation", "merge_outliers", "assign", "total"} <= set(timings)
    assert fit.topic_embeddings.shape == (len(fit.topics), 16)


def test_model_versions_of_weeks_that_fit_whole_are_unchanged():
    """A week no larger than ``fit_sample`` (or without it) hashes as before the option existed (same
    versions, no refit); a week that is sampled gets its own version per sample size."""
    params = {k: v for k, v in asdict(TopicModelParams()).items() if k != "fit_sample"}
    payload = json.dumps({"ids": ["crm/1"], "params": params, "embedding_model": EMBEDDING_MODEL}, sort_keys=True)
    v = model_version_for("2026-W46", ["crm/1"], TopicModelParams())
    assert v == "2026-W46-" + hashlib.sha256(payload.encode()).hexdigest()[:8]
    assert v == model_version_for("2026-W46", ["crm/1"], TopicModelParams(fit_sample=None))
    ids = [f"crm/{i}" for i in range(5)]
    sampled = {model_version_for("2026-W46", ids, TopicModelParams(fit_sample=k)) for k in (2, 3)}
    assert len(sampled) == 2 and model_version_for("2026-W46", ids, TopicModelParams(fit_sample=None)) not in sampled


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_fit_benchmark_runs_at_a_tiny_size():
    out = subprocess.run(
        [sys.executable, "bench/fit.py", "--sizes", "600", "--backend", "int8-onnx"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=290,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    for stage in (
        "embedding",
        "reduction",
        "clustering",
        "representation",
        "registry",
        "election",
        "non-embedding",
        "peak RSS",
        "SUMMARY",
    ):
        assert stage in out.stdout, stage
