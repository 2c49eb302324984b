"""ONNX copies of a sentence-transformers embedder, exported once into the model cache.

The float model runs in PyTorch through sentence-transformers; on a CPU most of a short query's time there is
framework overhead rather than arithmetic. The same network exported to ONNX and run by onnxruntime computes the
same vectors (float32: identical to rounding) with much less overhead per call, and an int8 copy (onnxruntime's
dynamic quantization) does less arithmetic per long batch at a small cost in accuracy. ``bench/embedding.py``
measures both against the float model; docs/retrieval.md has the numbers and the choice of default.

Export is like the generator's conversion (:mod:`ragtune.models.cache`): it writes the whole folder — every
ONNX file and a marker naming the source's hash — into a temporary folder and renames it into place,
under a lock, so an interrupted export never leaves a half-written model and two processes export only once. The
folder is keyed by a hash of the source model's files, so a changed model gets a fresh export and the old one is
never silently reused.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from ragtune.errors import ModelError
from ragtune.files import file_sha256, replace_dir
from ragtune.models.cache import cache_root

# Bump when the export or quantization recipe changes: the cache folder name includes it, so old exports are
# never mistaken for the new recipe's.
RECIPE = 2
OPSET = 17
FLOAT_FILE = "model.onnx"
INT8_FILE = "model-int8.onnx"  # the portable int8 copy (see quantize)
INT8_VNNI_FILE = "model-int8-vnni.onnx"  # the int8 copy for CPUs with VNNI (see quantize)
# /proc/cpuinfo flags of the x86 instructions that multiply unsigned by signed bytes into 32-bit sums
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni"})
MARKER = "ragtune-export.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# The source files that decide the vectors: the weights, the network's shape and the tokenizer.
_SOURCE_FILES = ("config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json",
                 "sentence_bert_config.json", "1_Pooling/config.json", "modules.json")


@dataclass(frozen=True)
class ExportedEmbedder:
    """A finished export: the float file and both int8 copies (the tokenizer stays the source folder's, which
    the hash covers)."""

    folder: Path
    source_hash: str
    max_seq_length: int

    @property
    def float_model(self) -> Path:
        return self.folder / FLOAT_FILE

    @property
    def int8_model(self) -> Path:
        """The int8 copy this machine's CPU runs exactly and fastest."""
        return self.folder / int8_file(cpu_flags())


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux lists them (empty elsewhere, or when they cannot be read)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def int8_file(flags: frozenset[str]) -> str:
    """Which int8 copy a CPU with ``flags`` runs: the VNNI one only where VNNI computes it exactly."""
    return INT8_VNNI_FILE if flags & VNNI_FLAGS else INT8_FILE


def source_hash(source: Path) -> str:
    """sha256 over the source model's files that decide its vectors (name and content hash of each)."""
    digest = hashlib.sha256()
    for name in _SOURCE_FILES:
        path = source / name
        if path.is_file():
            digest.update(f"{name}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def export_dir(source: Path, digest: str | None = None) -> Path:
    digest = digest or source_hash(source)
    return cache_root() / "embedders" / f"{source.name}-onnx-r{RECIPE}-{digest[:16]}"


def exported_embedder(source: Path) -> ExportedEmbedder:
    """The ONNX export of the sentence-transformers folder ``source``, exporting it on first use (~10 s)."""
    digest = source_hash(source)
    target = export_dir(source, digest)
    if not (target / MARKER).exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target.parent / f".{target.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # a second process waits for the first export, then reuses it
            if not (target / MARKER).exists():
                try:
                    replace_dir(target, lambda staging: _export(source, digest, staging))
                except ModelError:
                    raise
                except Exception as exc:  # torch.onnx and onnxruntime raise many types
                    raise ModelError(f"could not export the embedder {source} to ONNX: {exc}; set "
                                     "embedder_backend to 'torch' (RAGTUNE_EMBEDDER_BACKEND=torch) to use the "
                                     "PyTorch model") from exc
    marker = json.loads((target / MARKER).read_text())
    return ExportedEmbedder(target, marker["source_hash"], int(marker["max_seq_length"]))


def _max_seq_length(source: Path) -> int:
    config = source / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length") or 512)
    return 512


def _check_pooling(source: Path) -> None:
    """The graph exports mean pooling and L2 normalization; refuse a model that pools otherwise."""
    pooling = source / "1_Pooling" / "config.json"
    if pooling.is_file():
        mode = json.loads(pooling.read_text())
        if not mode.get("pooling_mode_mean_tokens") or any(
                v for k, v in mode.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"):
            raise ModelError(f"{source}: only mean-pooling models can be exported to ONNX; use "
                             "embedder_backend 'torch' for this one")


def _export(source: Path, digest: str, staging: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _check_pooling(source)
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    staging.mkdir(parents=True)

    class MeanPooled(torch.nn.Module):
        """The sentence-transformers pipeline (transformer → mean pooling → L2 normalize) as one graph, so
        onnxruntime returns finished vectors."""

        def __init__(self, model) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    # eager attention traces into plain MatMul/Softmax nodes that hold for every sequence length (the SDPA path
    # has shape-dependent branches the tracer would freeze)
    model = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()
    example = torch.ones(2, 8, dtype=torch.long)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS}
    with torch.no_grad(), warnings.catch_warnings():
        # the tracer warns about shape-dependent Python branches in transformers' mask code; the export is
        # checked against the float model instead (tests/models/test_onnx_embedder.py, every sequence length)
        warnings.simplefilter("ignore")
        # dynamo=False: the TorchScript exporter needs no onnxscript and runs offline
        torch.onnx.export(MeanPooled(model), (example, example, torch.zeros_like(example)),
                          str(staging / FLOAT_FILE), input_names=list(INPUTS), output_names=["embedding"],
                          dynamic_axes={**axes, "embedding": {0: "batch"}}, opset_version=OPSET, dynamo=False)
    quantize(staging / FLOAT_FILE, staging / INT8_FILE, vnni=False)
    quantize(staging / FLOAT_FILE, staging / INT8_VNNI_FILE, vnni=True)
    from importlib import metadata

    (staging / MARKER).write_text(json.dumps({
        "source": str(source), "source_hash": digest, "recipe": RECIPE, "opset": OPSET,
        "max_seq_length": _max_seq_length(source),
        "torch": metadata.version("torch"), "onnxruntime": metadata.version("onnxruntime"),
    }, indent=2))


def quantize(float_model: Path, int8_model: Path, vnni: bool) -> None:
    """onnxruntime's dynamic int8 quantization, with the choices that keep the vectors close to the float ones.

    Both copies quantize weights only (``MatMulConstBOnly``: the attention's activation × activation products
    stay float), per output channel, with activations quantized to unsigned bytes per batch. They differ in
    what the CPU's integer dot product can do exactly:

    - portable (``vnni=False``): unsigned weights, because AVX2 CPUs without VNNI multiply unsigned by signed
      bytes into saturating 16-bit pair sums (measured: signed per-tensor weights gave cosines down to 0.6 on
      such a CPU); and the feed-forward output projections (1,536 → 384) stay float: their inputs, after GELU,
      have the outliers that per-tensor activation scales lose most on.
    - VNNI (``vnni=True``): signed weights and every projection in int8. VNNI sums the byte products
      straight into 32 bits, so nothing saturates, and onnxruntime's fast kernels take unsigned × signed
      bytes; unsigned weights fall back to a slower path. On a CPU with VNNI it ran ~1.7× the portable copy's
      speed on the shared dev sets' passages, and its nDCG@10 stayed within the same gate (docs/retrieval.md,
      bench/embedding.py).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    keep_float = []
    if not vnni:
        graph = onnx.load(str(float_model), load_external_data=False).graph
        keep_float = [node.name for node in graph.node
                      if node.op_type == "MatMul" and node.name.endswith("/output/dense/MatMul")
                      and "/attention/" not in node.name]
    logging.disable(logging.WARNING)  # it advises "pre-processing" on the root logger; measured without it
    try:
        quantize_dynamic(str(float_model), str(int8_model),
                         weight_type=QuantType.QInt8 if vnni else QuantType.QUInt8, per_channel=True,
                         nodes_to_exclude=keep_float, extra_options={"MatMulConstBOnly": True})
    finally:
        logging.disable(logging.NOTSET)
