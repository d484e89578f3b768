"""What an import reads (a located source document) and what it makes (a product to write)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hexmesh.errors import ProblemLocation, SpecError, SpecProblem
from hexmesh.spec import DataProductSpec
from hexmesh.spec.loader import Marks, read_document
from hexmesh.standards.kinds import Standard, standard_of

__all__ = ["Imported", "Notes", "Options", "Source", "read_source"]

Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True)
class Source:
    """One document of a standard, with where each of its parts is written."""

    file: Path
    standard: Standard
    data: dict[str, Any]
    marks: Marks

    def at(self, path: tuple[Any, ...]) -> ProblemLocation:
        found = self.marks.at(path)
        return found if found is not None else ProblemLocation(str(self.file), 1, 1)


def read_source(file: Path, text: str | None = None) -> Source:
    """Read and recognise one document (YAML or JSON)."""
    try:
        body = text if text is not None else file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(
            [SpecProblem(None, f"no file {file}", "pass the path of a contract or product document")]
        ) from None
    except UnicodeDecodeError as exc:
        raise SpecError([SpecProblem(ProblemLocation(str(file), 1, 1), f"not UTF-8 text ({exc.reason})", "")]) from None
    data, marks = read_document(body, file)
    standard = standard_of(data)
    if standard is None or not isinstance(data, dict):
        raise SpecError(
            [
                SpecProblem(
                    ProblemLocation(str(file), 1, 1),
                    "not a document of a standard hexmesh imports",
                    "ODCS needs kind: DataContract; ODPS kind: DataProduct with apiVersion v1.0.0; DPDS "
                    "dataProductDescriptor: 1.0.0; the Data Contract Specification dataContractSpecification: …",
                )
            ]
        )
    return Source(file, standard, data, marks)


@dataclass(frozen=True)
class Options:
    """What the user adds to an import: names the documents leave out, which server to read."""

    domain: str | None = None
    owner: str | None = None
    server: str | None = None
    """An ODCS/DCS server (local files) the product reads its data from."""
    base: Path = Path(".")
    """Relative server paths are taken from here (the working directory, as datacontract-cli does)."""


@dataclass
class Notes:
    """Problems (that stop the import), and what hexmesh kept, changed or generated (listed to the user)."""

    problems: list[SpecProblem] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def model(self, cls: type[Model], data: dict[str, Any], at: ProblemLocation, what: str) -> Model | None:
        """``cls`` of ``data``, or None with a problem located at the source object."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(p) for p in error["loc"])
                message = str(error["msg"]).removeprefix("Value error, ")
                self.problems.append(
                    SpecProblem(
                        at, f"{what}: {where + ': ' if where else ''}{message}", "fix it in the source document"
                    )
                )
            return None

    def keep(self, where: str, properties: list[Any]) -> None:
        names = [p.property for p in properties]
        if names:
            self.kept.append(f"{where}: {', '.join(names)}")


@dataclass
class Imported:
    """A product made from documents: the spec, its README, its other files, and the notes."""

    standard: Standard
    sources: list[Path]
    spec: DataProductSpec
    readme: str
    files: dict[str, str]
    notes: Notes
