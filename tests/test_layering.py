"""Dependencies point down (docs/DESIGN.md): models/ and nn/ never import training/, data/, eval/, the CLI or
Lightning -- not at the top of a module, not inside a function."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import vidpred

SRC = Path(vidpred.__file__).parent
FORBIDDEN = ("vidpred.training", "vidpred.data", "vidpred.eval", "vidpred.cli", "vidpred.demo", "lightning")
LOWER = [p for layer in ("models", "nn") for p in sorted((SRC / layer).rglob("*.py"))]


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_statement_in_models_or_nn_reaches_up():
    offending = []
    for path in LOWER:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offending += [f"{path.relative_to(SRC)}:{node.lineno} imports {n}" for n in names
                          if n.startswith(FORBIDDEN)]
    assert not offending, offending
    assert len(LOWER) > 10  # the walk found the layers


def test_importing_every_model_and_nn_module_loads_nothing_from_above():
    modules = [module_name(p) for p in LOWER]
    code = ("import importlib, json, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(sys.modules)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                       text=True).stdout)
    assert "vidpred.models.video_vqvae.predictor" in loaded and "vidpred.nn.pixelcnn" in loaded
    above = [m for m in loaded if m.startswith(FORBIDDEN)]
    assert not above, above
