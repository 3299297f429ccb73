"""The layers of README's "Layout": imports point one way, and no import hides in a function."""
import ast
import pathlib
import shutil
import subprocess
import sys

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "ckbiz"


def test_imports_point_one_way_without_cycles():
    """import-linter's contracts (pyproject.toml): layers, and no cycle inside any package."""
    lint = shutil.which("lint-imports", path=str(pathlib.Path(sys.executable).parent))
    result = subprocess.run([lint], cwd=PACKAGE.parent, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_no_module_of_ours_is_imported_inside_a_function():
    """A function-local import is how a cycle hides from a reader: every one is at the top."""
    hidden = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                ours = (isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("ckbiz"))
                        or isinstance(node, ast.Import) and any(a.name.startswith("ckbiz") for a in node.names))
                if ours:
                    hidden.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert hidden == []
