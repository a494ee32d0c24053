"""Loading an encoder (refusing decoders), pooling as the model declares it, and batched
embedding.

The pooling follows the sentence-transformers files shipped with the model when present
(`1_Pooling/config.json`: mean or CLS, other modes refused; `modules.json`: a Normalize
module; `sentence_bert_config.json`: the longest input), else mean pooling over the attention
mask, unnormalized. A BERT model is loaded without its pooler layer, which the pooling does
not use, so the FLOPs the roofline counts are the ones that ran (other architectures keep
theirs, a per-text layer the per-token count slightly overstates).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from harness.backends.base import Backend, BackendInfo, LatencyScope, Progress
from harness.backends.encoder.options import EncoderOptions
from harness.backends.resolved import ResolvedConfig, imported_versions, known
from harness.core.errors import UserError
from harness.core.hub_errors import hub_unreachable, is_unreachable
from harness.core.perf_specs import Scope
from harness.core.requests import Embed, EmbedResponse, Request
from harness.core.values import Scalar
from harness.hardware.params import weight_bytes  # torch's packed int8 counted too
from harness.suite.schema import ModelConfig
from harness.suite.sources import resolve
from harness.variants.facts import TransformFacts

DECODER_MARKS = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")


@dataclass(frozen=True)
class Pooling:
    mode: str  # "mean" or "cls"
    normalize: bool

    @property
    def note(self) -> str:
        how = "mean over the attention mask" if self.mode == "mean" else "the [CLS] vector"
        return how + (", L2-normalized" if self.normalize else "")


SUPPORTED_POOLING = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}


def read_pooling(folder: Path | None) -> Pooling:
    """The pooling the model's sentence-transformers files declare; mean when they are absent.
    A mode this engine does not implement (max, weighted mean, last token) is refused."""
    if folder is None or not (folder / "1_Pooling" / "config.json").exists():
        return Pooling("mean", False)
    config = json.loads((folder / "1_Pooling" / "config.json").read_text())
    modes = [key for key, on in config.items() if key.startswith("pooling_mode_") and on]
    if len(modes) != 1 or modes[0] not in SUPPORTED_POOLING:
        raise UserError(
            f"{folder / '1_Pooling' / 'config.json'}: pooling {', '.join(modes) or 'none'} is "
            f"not one the encoder engine implements ({', '.join(SUPPORTED_POOLING)})"
        )
    modules = folder / "modules.json"
    listed = json.loads(modules.read_text()) if modules.exists() else []
    normalize = any(str(m.get("type", "")).endswith("Normalize") for m in listed)
    return Pooling(SUPPORTED_POOLING[modes[0]], normalize)


def declared_max_length(folder: Path | None, tokenizer: Any, model: Any) -> int:
    """The longest input the model takes: its sentence-transformers `max_seq_length` where it
    declares one (256 for all-MiniLM-L6-v2), else the tokenizer's limit, else the position
    table's (which counts RoBERTa's padding offset, hence the tokenizer first)."""
    config = folder / "sentence_bert_config.json" if folder is not None else None
    if config is not None and config.exists():
        declared = json.loads(config.read_text()).get("max_seq_length")
        if isinstance(declared, int) and declared > 0:
            return declared
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 1_000_000:  # transformers' "no limit" is 1e30
        return limit
    return int(getattr(model.config, "max_position_embeddings", 512) or 512)


def _refuse_decoder(cfg: ModelConfig, source: str, config: Any) -> None:
    architectures = list(getattr(config, "architectures", None) or [])
    decoder = [a for a in architectures if a.endswith(DECODER_MARKS)]
    if decoder or getattr(config, "is_decoder", False):
        named = decoder[0] if decoder else "is_decoder: true"
        raise UserError(
            f"model '{cfg.name}' ({source}): backend 'encoder' needs an encoder (BERT-style) "
            f"model, but this one is a decoder ({named}); give it backend: hf"
        )


def _load(cfg: ModelConfig, options: EncoderOptions, base_dir: Path) -> tuple[Any, Any, str]:
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    if options.threads:
        torch.set_num_threads(options.threads)
    location = resolve(cfg.source, base_dir)
    source = str(location)
    common: dict[str, Any] = {"trust_remote_code": cfg.trust_remote_code, "revision": cfg.revision}
    try:
        config = AutoConfig.from_pretrained(location, **common)
        _refuse_decoder(cfg, source, config)
        extra: dict[str, Any] = {"add_pooling_layer": False} if config.model_type == "bert" else {}
        tokenizer = AutoTokenizer.from_pretrained(location, **common)
        model = AutoModel.from_pretrained(
            location, dtype=getattr(torch, options.dtype), use_safetensors=True, **extra, **common
        )
    except (OSError, ValueError, KeyError) as err:
        if isinstance(location, str) and is_unreachable(err):
            raise hub_unreachable(
                f"model '{cfg.name}'", location, "key 'source' =", "give 'source' a local folder"
            ) from None
        raise UserError(f"model '{cfg.name}' ({source}) did not load: {err}") from None
    return model.eval(), tokenizer, source


def open_encoder(cfg: ModelConfig, options: EncoderOptions, base_dir: Path) -> Backend:
    model, tokenizer, source = _load(cfg, options, base_dir)
    folder = Path(source) if Path(source).is_dir() else None
    pooling = read_pooling(folder)
    context = declared_max_length(folder, tokenizer, model)
    return EncoderBackend(cfg.name, source, model, tokenizer, options, pooling, context)


class EncoderBackend(Backend):
    """Embeddings in length-sorted batches of `batch_size` texts."""

    answers: ClassVar[frozenset[type[Request]]] = frozenset({Embed})
    causal_attention: ClassVar[bool] = False
    latency_scope: ClassVar[LatencyScope] = Scope.PER_BATCH

    def __init__(
        self,
        name: str,
        source: str,
        model: Any,
        tokenizer: Any,
        options: EncoderOptions,
        pooling: Pooling,
        context: int,
    ) -> None:
        from harness.hardware.params import count_params

        self.model, self.tokenizer, self.pooling = model, tokenizer, pooling
        self.options = options
        self.batch_size = options.batch_size
        self.max_length = min(options.max_length or context, context)
        self.info = BackendInfo(
            model=name,
            source=source,
            n_params=count_params(model.parameters()),
            dtype=options.dtype,
            device="cpu",
            weight_bytes=weight_bytes(model),
            max_length=self.max_length,
            details={"architecture": type(model).__name__, "pooling": pooling.note},
        )

    @property
    def torch_model(self) -> Any:
        return self.model

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, truncation=True, max_length=self.max_length)["input_ids"])

    def resolved(self) -> ResolvedConfig:
        """Its options as they ran; it runs on the CPU (its one real quantization, torch's
        dynamic int8, has CPU kernels only), in the dtype asked (float32 unless set)."""
        import torch

        ran = {
            **self.options.model_dump(),
            "threads": torch.get_num_threads(),
            "max_length": self.max_length,
        }
        return ResolvedConfig(
            dtype=self.info.dtype,
            device=self.info.device,
            options=known(ran),
            reported={"pooling": self.pooling.note},
            libraries=imported_versions(("torch", "transformers")),
        )

    def apply_transform(self, knob: str, value: Scalar) -> TransformFacts:
        if knob != "quant":  # its options declare no other transform knob
            return super().apply_transform(knob, value)
        from harness.backends.shared_transformers.quantize import apply_quant

        return apply_quant(self, str(value))

    def refresh_info(self) -> None:
        self.info = replace(self.info, weight_bytes=weight_bytes(self.model))

    def embed(self, reqs: Sequence[Embed], progress: Progress | None = None) -> list[EmbedResponse]:
        order = sorted(range(len(reqs)), key=lambda i: len(reqs[i].text))
        out: list[EmbedResponse | None] = [None] * len(reqs)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            for i, response in zip(rows, self._batch([reqs[i].text for i in rows]), strict=True):
                out[i] = response
            if progress:
                progress(len(rows))
        return [r for r in out if r is not None]

    def _batch(self, texts: list[str]) -> list[EmbedResponse]:
        import torch

        inputs = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        with torch.inference_mode():
            hidden = self.model(**inputs).last_hidden_state.float()
        mask = inputs["attention_mask"]
        if self.pooling.mode == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        if self.pooling.normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        counts = mask.sum(1).tolist()
        return [
            EmbedResponse(vector=tuple(row), n_tokens=int(n))
            for row, n in zip(pooled.tolist(), counts, strict=True)
        ]
