"""Validate specs alone and as a mesh: every problem in every file, reported at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hexmesh.errors import HexmeshError, ProblemLocation, SpecError, SpecProblem
from hexmesh.lifecycle.bundle import bundle_files, escaping_links
from hexmesh.lifecycle.classification import classification_problems
from hexmesh.lifecycle.dependencies import find_cycle, upstreams
from hexmesh.product.sources import secret_variables, variables_in
from hexmesh.spec import (
    SPEC_FILENAME,
    Confinement,
    DataProductSpec,
    InputPort,
    LoadedSpec,
    PostgresSourceSpec,
    inside,
    load_spec,
    parse_address,
    spec_problems,
)

if TYPE_CHECKING:
    from hexmesh.lifecycle.rules import MeshRules

__all__ = ["discover", "link_problems", "validate_specs"]

#: Where another node serves an input's upstream: its URL, or None (see validate_specs).
Elsewhere = Callable[[DataProductSpec, InputPort], str | None]

_SKIP_DIRS = {".hexmesh", ".git", ".venv", "node_modules", "__pycache__"}


def discover(paths: list[Path]) -> list[Path]:
    """Spec files named by ``paths``: files, product folders, or folders searched recursively."""
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif (path / SPEC_FILENAME).is_file():
            found.append(path / SPEC_FILENAME)
        elif path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob(SPEC_FILENAME))
                if not any(part in _SKIP_DIRS for part in p.relative_to(path).parts)
            )
        else:
            raise SpecError(
                [
                    SpecProblem(
                        None,
                        f"{path} does not exist",
                        "pass a product folder, a dataproduct.yaml, or a mesh folder",
                    )
                ]
            )
    if not found:
        raise SpecError(
            [
                SpecProblem(
                    None,
                    f"no {SPEC_FILENAME} found in {', '.join(map(str, paths))}",
                    "run `hexmesh init` to create a product",
                )
            ]
        )
    return found


def validate_specs(
    paths: list[Path],
    deployed: dict[str, DataProductSpec],
    rules: MeshRules | None = None,
    *,
    source_roots: Sequence[Path] = (),
    home: Path | None = None,
    elsewhere: Elsewhere | None = None,
) -> list[LoadedSpec]:
    """Load and check every spec (and the mesh's governance ``rules``), then the mesh they form.

    File sources may read the product folder and ``source_roots``; nothing may reach ``home``.
    ``elsewhere`` finds an input's upstream on another node (the peers of the settings): the node's
    URL, or None; it raises a HexmeshError saying why it cannot tell (a peer down).
    """
    problems: list[SpecProblem] = []
    loaded: list[LoadedSpec] = []
    for file in discover(paths):
        try:
            spec = load_spec(file)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(spec_problems(spec, Confinement(spec.folder, source_roots, home)))
        problems.extend(link_problems(spec))
        problems.extend(secret_problems(spec))
        problems.extend(engine_problems(spec))
        if rules is not None:
            problems.extend(rules.problems(spec.spec))
        loaded.append(spec)
    problems.extend(_mesh_problems(loaded, deployed, elsewhere))
    if problems:
        raise SpecError(problems)
    return loaded


def engine_problems(loaded: LoadedSpec) -> list[SpecProblem]:
    """SQL that does not carry over to the engine the spec names (Spark: checked by transpiling)."""
    code = loaded.spec.transformation
    if code is None or code.engine != "spark":
        return []
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        return [
            SpecProblem(
                loaded.marks.at(("transformation", "engine")),
                "engine: spark needs pyspark, which is not installed on this node",
                "pip install 'hexmesh[spark]' (and Java 17), or remove engine: spark to run on duckdb",
            )
        ]
    if code.python is not None:
        return build_problems(loaded, code.python)
    from hexmesh.errors import TransformError
    from hexmesh.infra.compute import SqlText
    from hexmesh.infra.compute.sparksql import to_spark  # sqlglot only: no Spark needed to validate

    files = {"": code.sql} if isinstance(code.sql, str) else dict(code.sql or {})
    inputs = [port.name for port in loaded.spec.input_ports]
    problems = []
    for port, name in files.items():
        path = inside(loaded.folder, name)
        if path is None or not path.is_file():
            continue  # spec_problems reports a missing or escaping file
        try:
            to_spark(SqlText(name, path.read_text(encoding="utf-8")), inputs)
        except (TransformError, UnicodeDecodeError) as exc:
            key = ("transformation", "sql", port) if port else ("transformation", "sql")
            problems.append(
                SpecProblem(
                    loaded.marks.at(key),
                    f"engine: spark cannot run {name}: {exc}",
                    "rewrite the construct named, or run the product on engine: duckdb",
                )
            )
    return problems


def build_problems(loaded: LoadedSpec, target: str) -> list[SpecProblem]:
    """A PySpark transformation's function: defined at the top of its file, taking ``(spark, inputs)``.

    The file is parsed, never imported: validate runs no product code.
    """
    import ast

    name, function = target.split(":", 1)
    path = inside(loaded.folder, name)
    if path is None or not path.is_file():
        return []  # spec_problems reports a missing or escaping file
    where = loaded.marks.at(("transformation", "python"))
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=name)
    except (SyntaxError, UnicodeDecodeError) as exc:
        return [SpecProblem(where, f"{name} does not parse: {exc}", "fix the Python file")]
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == function]
    if not found:
        return [SpecProblem(where, f"{name} defines no function {function!r}", f"add def {function}(spark, inputs):")]
    args = found[-1].args
    positional = [a.arg for a in [*args.posonlyargs, *args.args]]
    if len(positional) - len(args.defaults) > 2 or (len(positional) < 2 and args.vararg is None):
        return [
            SpecProblem(
                where,
                f"{name}:{found[-1].lineno}: {function}({', '.join(positional)}) must take (spark, inputs) on the "
                "Spark engine",
                f"write def {function}(spark, inputs): spark is a Spark session, inputs a dict of DataFrames",
            )
        ]
    return []


def secret_problems(loaded: LoadedSpec) -> list[SpecProblem]:
    """A source path or URL naming a variable the node keeps a secret in (it would end up in errors)."""
    found = []
    for index, port in enumerate(loaded.spec.input_ports):
        source = port.source
        if source is None:
            continue
        key, text = ("postgres", source.postgres) if isinstance(source, PostgresSourceSpec) else ("path", source.path)
        for name in variables_in(text):
            if name in secret_variables():
                found.append(
                    SpecProblem(
                        loaded.marks.at(("inputPorts", index, "source", key)),
                        f"source {key} uses ${{{name}}}, which holds one of the node's secrets",
                        "a product may not read the node's settings: use a variable of your own",
                    )
                )
    return found


def link_problems(loaded: LoadedSpec) -> list[SpecProblem]:
    """A symlink in the product folder that deploy would follow out of it (into /etc, the node's keys)."""
    links = escaping_links(loaded.folder, bundle_files(loaded.folder, loaded.file))
    return [
        SpecProblem(
            ProblemLocation(str(link), 1, 1),
            f"{link.relative_to(loaded.folder)} is (or goes through) a symlink that leads outside the product folder",
            "replace the link with the file itself; a product's bundle holds only its own files",
        )
        for link in links
    ]


def _mesh_problems(
    loaded: list[LoadedSpec], deployed: dict[str, DataProductSpec], elsewhere: Elsewhere | None = None
) -> list[SpecProblem]:
    problems: list[SpecProblem] = []
    batch = {item.spec.key: item for item in loaded}
    for item in loaded:
        if batch[item.spec.key] is not item:
            problems.append(
                SpecProblem(
                    item.marks.at(("name",)),
                    f"product {item.spec.key} is defined twice (also in {batch[item.spec.key].file})",
                    "give each product its own domain/name",
                )
            )
    known: dict[str, DataProductSpec] = {**deployed, **{k: v.spec for k, v in batch.items()}}
    for item in loaded:
        for index, port in enumerate(item.spec.input_ports):
            if port.from_ is None:
                continue
            try:
                address = parse_address(port.from_, default_scheme=False)
            except ValueError:
                continue  # already reported by the spec's own rules
            where = item.marks.at(("inputPorts", index, "from"))
            upstream = known.get(address.product_key)
            if upstream is None and elsewhere is not None:
                try:
                    if elsewhere(item.spec, port) is not None:
                        continue  # served by another node: its policies decide (plan asks it)
                except HexmeshError as exc:
                    problems.append(SpecProblem(where, str(exc), "start that node, or fix the address"))
                    continue
            if upstream is None:
                asked = ", and no peer of this node serves it" if elsewhere is not None else ""
                problems.append(
                    SpecProblem(
                        where,
                        f"input {port.name!r} reads {port.from_}, but product "
                        f"{address.product_key} is neither deployed nor in this batch{asked}",
                        "deploy the upstream product first, fix the address, or (when another node serves it) "
                        "add that node to the peers setting",
                    )
                )
            elif address.port and upstream.output(address.port) is None:
                names = ", ".join(p.name for p in upstream.output_ports)
                problems.append(
                    SpecProblem(
                        where,
                        f"input {port.name!r} reads {port.from_}, but "
                        f"{address.product_key} has no output port {address.port!r}",
                        f"its output ports are: {names}",
                    )
                )
    for item in loaded:
        problems.extend(classification_problems(item, known.get))
    graph = {key: upstreams(spec) for key, spec in known.items()}
    cycle = find_cycle(graph)
    if cycle:
        culprit = next((batch[k] for k in cycle if k in batch), None)
        where = culprit.marks.at(("inputPorts",)) if culprit else None
        problems.append(
            SpecProblem(
                where,
                "products depend on each other in a cycle: " + " → ".join(cycle),
                "a product cannot read (directly or indirectly) from itself; remove one input",
            )
        )
    return problems
