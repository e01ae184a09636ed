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


def imports_of(path: Path, name: str, modules: set[str]) -> set[str]:
    """The vidpred modules that ``path`` (module ``name``) imports anywhere in it -- at the top, inside a function,
    under ``TYPE_CHECKING`` -- each named as the module it reads (``from a.b import c`` reads ``a.b.c`` where
    that is a module, else ``a.b``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
    return {m for m in found if m in modules and m != name}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return cycles


def test_import_cycles_are_found():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_among_vidpred_modules():
    paths = {module_name(p): p for p in SRC.rglob("*.py")}
    graph = {name: imports_of(path, name, set(paths)) for name, path in paths.items()}
    assert "vidpred.models.registry" in graph["vidpred.training.config"]  # the walk sees the imports
    assert "vidpred.models.presets" in graph["vidpred.models.video_vqvae"]  # also those inside a function
    assert import_cycles(graph) == []
