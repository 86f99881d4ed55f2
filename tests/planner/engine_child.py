"""Start vLLM's CPU engine for each production launch, one after the other, in this process.

`python -m tests.planner.engine_child CASES`: CASES is JSON, a list of
`[argv, env, teacher]` (teacher: `[[prompt ids, reference ids], ...]` or null).
Each argv is parsed by the OpenAI server's own parser (`parse_vllm_args`) and
resolved by vLLM's `EngineArgs`, as a replica resolves it; the engine core
runs in this process (`VLLM_ENABLE_V1_MULTIPROCESSING=0`: its KV arithmetic and
scheduler resolution are the same code whatever process runs them; a TP=2
argv still starts its two CPU ranks as processes), so vLLM is imported once
for all cases. Prints, per case: `=== CASE i`, vLLM's own log, `SCHEDULER
{...}` with the resolved values, `KV_TOKENS N` (the KV cache size vLLM
resolved and logs), and with a teacher `SCORED [...]`: per reference token
its logprob and the engine's top-1 token when the reference is fed back as
the prompt (teacher forcing).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from typing import Any

os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"


def _scored(engine: Any, case: int, teacher: list[list[list[int]]]) -> list[list[Any]]:
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=1)
    for j, (prompt, ref) in enumerate(teacher):
        engine.add_request(f"{case}-{j}", TokensPrompt(prompt_token_ids=prompt + ref), params)
    finals: dict[str, Any] = {}
    while engine.has_unfinished_requests():
        for out in engine.step():
            if out.finished:
                finals[out.request_id] = out
    scored = []
    for j, (prompt, ref) in enumerate(teacher):
        rows = finals[f"{case}-{j}"].prompt_logprobs[len(prompt) :]
        scored.append([[row[t].logprob, min(row, key=lambda k: row[k].rank)]
                       for t, row in zip(ref, rows, strict=True)])  # fmt: skip
    return scored


def main(cases: list[tuple[list[str], dict[str, str], Any]]) -> None:
    from vllm.distributed.parallel_state import cleanup_dist_env_and_memory
    from vllm.engine.arg_utils import EngineArgs
    from vllm.v1.engine.llm_engine import LLMEngine

    from gemma_serve.engine.vllm_engine import parse_vllm_args

    for i, (argv, env, teacher) in enumerate(cases):
        os.environ.update(env)
        print(f"=== CASE {i}", flush=True)
        started = time.monotonic()
        engine = LLMEngine.from_engine_args(EngineArgs.from_cli_args(parse_vllm_args(argv)))
        cfg = engine.vllm_config
        print("SCHEDULER " + json.dumps({
            "block_size": cfg.cache_config.block_size,
            "max_num_batched_tokens": cfg.scheduler_config.max_num_batched_tokens,
            "max_num_seqs": cfg.scheduler_config.max_num_seqs,
        }), flush=True)  # fmt: skip
        # What vLLM logs as "KV cache size: N tokens" (logged once per process per text).
        print(f"KV_TOKENS {cfg.cache_config.kv_cache_size_tokens}", flush=True)
        if teacher:
            print("SCORED " + json.dumps(_scored(engine, i, teacher)), flush=True)
        print(f"CASE_SECONDS {time.monotonic() - started:.1f}", flush=True)
        engine.engine_core.shutdown()
        del engine, cfg
        gc.collect()
        cleanup_dist_env_and_memory()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
