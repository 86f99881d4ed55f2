"""Finding a dynamic adapter by name and loading it into vLLM with vLLM's own code.

Loading is vLLM's: `OpenAIServingModels.load_lora_adapter` (the handler behind
its `/v1/load_lora_adapter`) validates and loads the peft files and registers
the name for its OpenAI routes; unloading drops the name and frees the
engine's copy (`remove_lora`), which vLLM's own unload route does not.
Finding is a directory lookup by name, like vLLM's filesystem resolver plugin
but without its requirement that `base_model_name_or_path` equal the local
checkpoint path (a hub id there is the normal case); then every LoRA resolver
plugin registered with vLLM (its HF hub resolver when enabled, or one for a
bucket) gets its turn. A name never escapes the directory.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gemma_serve.errors import ModelNotFound, RequestError

if TYPE_CHECKING:
    from gemma_serve.engine.vllm_engine import VllmEngine

logger = logging.getLogger(__name__)


def find_adapter(directory: str, name: str) -> Path | None:
    """`<directory>/<name>` if it holds a peft LoRA adapter, else None (never outside it)."""
    root = Path(directory).resolve()
    path = (root / name).resolve()
    if path == root or not path.is_relative_to(root):
        return None
    try:
        config = json.loads((path / "adapter_config.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict) or str(config.get("peft_type", "")).upper() != "LORA":
        return None
    return path


def within(directory: str, source: str) -> Path | None:
    """`source` (relative to `directory`, or absolute) if it lies inside `directory`."""
    root = Path(directory).resolve()
    path = (root / source).resolve()
    return path if path != root and path.is_relative_to(root) else None


class EngineAdapters:
    """A running engine's adapter registry, through vLLM's own serving objects."""

    def __init__(self, engine: VllmEngine, *, base: str) -> None:
        self._engine = engine
        self._base = base

    @property
    def _models(self) -> Any:
        return self._engine.app.state.openai_serving_models

    async def resolve(self, directory: str | None, name: str) -> str | None:
        """Where adapter `name` is: the directory first, then vLLM's resolver plugins."""
        if directory is not None:
            found = find_adapter(directory, name)
            if found is not None:
                return str(found)
        from vllm.lora.resolver import LoRAResolverRegistry

        for key in sorted(LoRAResolverRegistry.get_supported_resolvers()):
            resolver = LoRAResolverRegistry.get_resolver(key)
            try:
                request = await resolver.resolve_lora(self._engine.model_config.model, name)
            except Exception as exc:  # a plugin's failure is "not found here", never a 500
                logger.warning("LoRA resolver %s failed for %r: %s", key, name, exc)
                continue
            if request is not None and request.lora_path:
                return str(request.lora_path)
        return None

    async def load(self, name: str, path: str) -> None:
        """Load the adapter at `path` as `name` (a RequestError says why it cannot be)."""
        from vllm.entrypoints.serve.engine.protocol import ErrorResponse
        from vllm.entrypoints.serve.lora.protocol import LoadLoRAAdapterRequest

        result = await self._models.load_lora_adapter(
            LoadLoRAAdapterRequest(lora_name=name, lora_path=path), base_model_name=self._base
        )
        if isinstance(result, ErrorResponse):
            if result.error.code == HTTPStatus.NOT_FOUND:
                raise ModelNotFound(f"LoRA adapter {name!r}: {result.error.message}")
            # vLLM answers 500 for an adapter it cannot take (rank, modules, shapes):
            # that is the adapter's fault, not the server's.
            raise RequestError(f"LoRA adapter {name!r} cannot be loaded: {result.error.message}")

    async def unload(self, name: str) -> None:
        """Forget `name` in vLLM's registry and free the engine's copy."""
        from vllm.entrypoints.serve.lora.protocol import UnloadLoRAAdapterRequest

        request = self._models.lora_requests.get(name)
        await self._models.unload_lora_adapter(UnloadLoRAAdapterRequest(lora_name=name))
        if request is not None:
            # AsyncLLM has it; vLLM's EngineClient protocol only declares add_lora.
            client: Any = self._engine.client
            await client.remove_lora(request.lora_int_id)

    def loaded(self) -> list[str]:
        """Every adapter name vLLM serves now."""
        return list(self._models.lora_requests)
