"""Load-testing any OpenAI-compatible endpoint, `vllm bench serve`-compatible.

The pipeline: a dataset (`datasets`) gives requests, a load strategy (`loads`)
decides when to send them, the client (`client`) streams and times them,
`aggregate` turns records into metrics, and `report` renders the result JSON
(`results`) as Markdown and plots. `compare` runs several targets side by side,
`parity` checks our client against vLLM's.
"""

from __future__ import annotations

from gemma_serve.bench.aggregate import compute_metrics, summarize_ms
from gemma_serve.bench.client import OpenAIClient
from gemma_serve.bench.compare import (
    paired_ratios,
    run_side_by_side,
    spread,
    summarize_rounds,
)
from gemma_serve.bench.datasets import (
    BenchRequest,
    DatasetSpec,
    ImageChat,
    SharedPrefixChat,
    SyntheticText,
)
from gemma_serve.bench.errors import BenchError, LaunchError
from gemma_serve.bench.launch import Launcher, SubprocessLauncher
from gemma_serve.bench.lengths import FixedLength, LengthDist, NormalLength, UniformLength
from gemma_serve.bench.loads import (
    BurstLoad,
    ConcurrentLoad,
    ConstantLoad,
    LoadSpec,
    PoissonLoad,
    Schedule,
)
from gemma_serve.bench.parity import check_parity
from gemma_serve.bench.progress import NoProgress, ProgressSink, RichProgress
from gemma_serve.bench.report import write_report
from gemma_serve.bench.results import (
    BenchResult,
    ComparisonRow,
    Distribution,
    ParityResult,
    RequestRecord,
    RoundResult,
    RunMetrics,
    RunResult,
    SideBySideResult,
    Spread,
    load_result,
    save_result,
)
from gemma_serve.bench.runner import run_bench, run_step
from gemma_serve.bench.spec import BenchSpec, Slo, Target

__all__ = [
    "BenchError",
    "BenchRequest",
    "BenchResult",
    "BenchSpec",
    "BurstLoad",
    "ComparisonRow",
    "ConcurrentLoad",
    "ConstantLoad",
    "DatasetSpec",
    "Distribution",
    "FixedLength",
    "ImageChat",
    "LaunchError",
    "Launcher",
    "LengthDist",
    "LoadSpec",
    "NoProgress",
    "NormalLength",
    "OpenAIClient",
    "ParityResult",
    "PoissonLoad",
    "ProgressSink",
    "RequestRecord",
    "RichProgress",
    "RoundResult",
    "RunMetrics",
    "RunResult",
    "Schedule",
    "SharedPrefixChat",
    "SideBySideResult",
    "Slo",
    "Spread",
    "SubprocessLauncher",
    "SyntheticText",
    "Target",
    "UniformLength",
    "check_parity",
    "compute_metrics",
    "load_result",
    "paired_ratios",
    "run_bench",
    "run_side_by_side",
    "run_step",
    "save_result",
    "spread",
    "summarize_ms",
    "summarize_rounds",
    "write_report",
]
