"""The layout's promises: imports point one way, resources stand alone, no module grows huge.

cli, app → assets → runtime → domain → resources; `sensors` and `definitions` sit on top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["domain", "runtime", "assets", "app", "cli"]  # each may import only those before it
MAX_LINES = 400


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def _sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    above = LAYERS[LAYERS.index(layer) + 1 :]
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _sources(f"studio_assets/{layer}")
        for name in _imports(path)
        if any(name.startswith(f"studio_assets.{up}") for up in above)
        or name.startswith("sensors")
        or (name.startswith("studio_assets.definitions") and layer != "cli")  # cli builds defs
    }
    assert not wrong, sorted(wrong)


def test_resources_import_nothing_from_the_product() -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _sources("resources")
        for name in _imports(path)
        if name.startswith(("studio_assets", "sensors"))
    }
    assert not wrong, sorted(wrong)


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for folder in ("studio_assets", "resources", "sensors")
        for path in _sources(folder)
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, long
