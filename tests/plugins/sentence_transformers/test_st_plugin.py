"""Discovery through the entry point, and start-up cost: no torch before the first embed."""

import pytest

from mcp_memory.config import Settings
from mcp_memory.plugins import PluginManager
from mcp_memory.protocols import Embedder
from mcp_memory_sentence_transformers import SentenceTransformerEmbedder

HEAVY = ("torch", "sentence_transformers", "numpy", "transformers")


def test_plugin_is_discovered_through_the_entry_point():
    pm = PluginManager(Settings())
    assert not [f for f in pm.failed if f.name == "sentence_transformers"]
    [info] = [p for p in pm.loaded if p.name == "sentence_transformers"]
    assert info.distribution == "mcp-memory-sentence-transformers"
    assert "memory_register_embedder" in info.hooks
    backend = pm.embedder_backend("sentence_transformers")
    assert backend.priority == 10 and "torch" in backend.description
    if "onnx" in pm.registry.embedders:  # both installed: onnx is the default
        assert pm.embedder_backend(None).name == "onnx" and pm.registry.embedders["onnx"].priority > 10
    else:
        assert pm.embedder_backend(None).name == "sentence_transformers"
    embedder = backend.factory(Settings())
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.model_name == "all-MiniLM-L6-v2"
    assert embedder.loaded is False


def test_plugin_can_be_disabled():
    pm = PluginManager(Settings(plugins_disabled=frozenset({"sentence_transformers"})))
    assert "sentence_transformers" in pm.skipped
    assert "sentence_transformers" not in pm.registry.embedders


def test_importing_the_plugin_imports_no_heavy_module(run_python):
    result = run_python(
        "import sys\n"
        "from mcp_memory.plugins import PluginManager\n"
        "from mcp_memory.config import Settings\n"
        "import mcp_memory_sentence_transformers.plugin\n"
        "pm = PluginManager(Settings(plugins_allowed=frozenset({'sentence_transformers'})))\n"
        "assert 'sentence_transformers' in pm.registry.embedders, pm.failed\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_dimension_is_known_without_torch(run_python):
    result = run_python(
        "import sys\n"
        "from mcp_memory.config import Settings\n"
        "from mcp_memory_sentence_transformers.plugin import create_embedder\n"
        "e = create_embedder(Settings())\n"
        "print(e.model_name, e.dimension, e.loaded)\n"
        "assert 'torch' not in sys.modules\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["all-MiniLM-L6-v2 384 False", "[]"]


def test_embedder_satisfies_the_protocol_without_loading():
    embedder = SentenceTransformerEmbedder(Settings())
    assert isinstance(embedder, Embedder)
    assert embedder.loaded is False


@pytest.mark.slow
def test_nothing_on_stdout_during_load_and_embed(run_python):
    result = run_python(
        "import sys\n"
        "from mcp_memory.config import Settings\n"
        "from mcp_memory_sentence_transformers.plugin import create_embedder\n"
        "e = create_embedder(Settings())\n"
        "v = e.embed(['hello world', 'a second, longer sentence about memory'] * 40)\n"
        "assert v.shape == (80, 384) and e.loaded, v.shape\n"
        "sys.stderr.write('embedded-ok\\n')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "embedded-ok" in result.stderr
    # the load is logged at INFO, on stderr, with its duration
    assert "embedding model loaded" in result.stderr and "seconds=" in result.stderr
