"""Every perf name limitbench writes: the fixed names and the percentile families.

Code that writes or reads a perf value names it here, so a reader never matches strings or
note text; `harness.core.perf_specs` says what each one measures.
"""

from __future__ import annotations

from enum import StrEnum

# Client and server output-token totals that differ by more than this share are flagged.
TOKEN_TOTAL_FLAG = 0.02


class PerfName(StrEnum):
    """Every fixed perf name limitbench writes (percentiles: `percentile_name`)."""

    WALL_TIME = "wall_time"
    REQUESTS_PER_S = "requests_per_s"
    SAMPLES_PER_S = "samples_per_s"
    INPUT_TOKENS_PER_S = "input_tokens_per_s"
    OUTPUT_TOKENS_PER_S = "output_tokens_per_s"
    TOTAL_TOKENS_PER_S = "total_tokens_per_s"
    TIME_PER_OUTPUT_TOKEN = "time_per_output_token"
    ACHIEVED_REQUESTS_PER_S = "achieved_requests_per_s"
    ACHIEVED_OUTPUT_TOKENS_PER_S = "achieved_output_tokens_per_s"
    REQUEST_ERRORS = "request_errors"
    REQUEST_RETRIES = "request_retries"
    GOODPUT = "goodput"
    STEADY_OUTPUT_TOKENS_PER_S = "steady_output_tokens_per_s"
    STEADY_REQUESTS_PER_S = "steady_requests_per_s"
    STEADY_WINDOW = "steady_window_s"
    OUTPUT_TOKENS_SERVER = "output_tokens_server"
    OUTPUT_TOKENS_CLIENT = "output_tokens_client"
    TOKEN_COUNT_MISMATCH = "token_count_mismatch"
    SERVER_PROMPT_TOKENS = "server_prompt_tokens"
    SERVER_GENERATION_TOKENS = "server_generation_tokens"
    SERVER_PREEMPTIONS = "server_preemptions"
    PREFIX_CACHE_HIT_RATE = "prefix_cache_hit_rate"
    PEAK_RSS = "peak_rss"
    # a server limitbench launched, over the window: its process tree's summed RSS at its
    # peak (the server and its workers), and the GPU memory NVML says those processes hold
    SERVER_PEAK_RSS = "server_peak_rss"
    SERVER_GPU_PEAK_MEMORY = "server_gpu_peak_memory"
    RSS_GROWTH = "rss_growth"
    WEIGHT_BYTES = "weight_bytes"
    CUDA_PEAK_ALLOCATED = "cuda_peak_allocated"
    CUDA_PEAK_RESERVED = "cuda_peak_reserved"
    ENERGY = "energy"
    IDLE_POWER = "idle_power"
    ENERGY_NET = "energy_net"
    JOULES_PER_TOKEN = "joules_per_token"
    JOULES_PER_CORRECT = "joules_per_correct"
    TOKENS_PER_CORRECT = "tokens_per_correct"
    PEAK_FLOPS = "peak_flops"
    PEAK_BANDWIDTH = "peak_bandwidth"
    ACHIEVED_FLOPS = "achieved_flops"
    ACHIEVED_BANDWIDTH = "achieved_bandwidth"
    MFU = "mfu"
    MBU = "mbu"
    BITS_PER_WEIGHT = "bits_per_weight"
    MEAN_BITS_PER_PARAMETER = "mean_bits_per_parameter"
    WEIGHT_BYTES_QUANTIZED = "weight_bytes_quantized"
    FILE_BYTES = "file_bytes"
    RESIDENT_BYTES = "resident_bytes"
    LAYERS_KEPT = "layers_kept"
    LAYERS_ORIGINAL = "layers_original"
    N_PARAMS_EFFECTIVE = "n_params_effective"
    SPARSITY = "sparsity"
    PROBE_FIT_TIME = "probe_fit_time"
    PROBE_TRAIN_ROWS = "probe_train_rows"
    ADAPTER_PARAMS = "adapter_params"
    DECODE_PREPARE_TIME = "decode_prepare_time"
    BATCH_SIZE_CHOSEN = "batch_size_chosen"
    BATCH_TOKENS_CHOSEN = "batch_tokens_chosen"
    GPU_SM_CLOCK_START = "gpu_sm_clock_start"
    GPU_SM_CLOCK_END = "gpu_sm_clock_end"
    GPU_TEMPERATURE_START = "gpu_temperature_start"
    GPU_TEMPERATURE_END = "gpu_temperature_end"
    # the share of requests meeting the suite's SLO (Wilson interval), and whether that share
    # reaches the SLO's attainment target (1 or 0)
    SLO_ATTAINMENT = "slo_attainment"
    SLO_MET = "slo_met"
    # |server total - client total| / server total of output tokens: the client tokenizer's
    # disagreement with the server, flagged above TOKEN_TOTAL_FLAG
    TOKEN_TOTAL_GAP = "token_total_gap"


class Percentiled(StrEnum):
    """Per-request (or per-batch) distributions stored as `<family>_p50/_p90/_p99`."""

    LATENCY = "latency"
    TTFT = "ttft"
    TPOT = "tpot"
    ITL = "itl"
    E2E = "e2e"
    OUTPUT_TOKENS = "output_tokens"
    INPUT_TOKENS = "input_tokens"


def percentile_name(family: Percentiled, quantile: str) -> str:
    return f"{family}_{quantile}"


class Precision(StrEnum):
    """The arithmetic a model's matmuls ran in: each has its own hardware peak (an int8
    kernel's peak is several times the float32 one, so utilisation is held against the
    peak of the precision that ran)."""

    FLOAT32 = "float32"
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"
    INT8 = "int8"


def peak_flops_name(precision: Precision) -> str:
    """The perf name of the measured matmul peak of one precision (`peak_flops_int8`);
    records before it existed have one `peak_flops` of a precision they do not state."""
    return f"{PerfName.PEAK_FLOPS}_{precision}"
