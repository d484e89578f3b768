"""Which upstream major each input port reads, fixed when the consumer is deployed.

Without ``@major`` in its address, an input keeps the major that was newest when the consumer
was first deployed, and later consumer versions inherit it: a new upstream major (a breaking
change) never silently reaches a consumer. Minor and patch releases of the pinned major are
read automatically. Write ``dp://domain/product@2/port`` to move to another major.
"""

from __future__ import annotations

from hexmesh.product import Runtime
from hexmesh.spec import DataProductSpec, parse_address

__all__ = ["resolve_pins"]


def resolve_pins(runtime: Runtime, spec: DataProductSpec) -> dict[str, tuple[str, int]]:
    """Input port → (upstream key, major) for a version of ``spec`` about to be deployed."""
    state = runtime.state
    deployed = state.versions(spec.key)
    same_major = [v for v in deployed if v.major == spec.major] or deployed
    previous = state.pins(spec.key, same_major[0].version) if same_major else {}
    retired = state.retired()
    pins: dict[str, tuple[str, int]] = {}
    for port in spec.input_ports:
        if port.from_ is None:
            continue
        address = parse_address(port.from_)
        key = address.product_key
        if address.major is not None:
            pins[port.name] = (key, address.major)
        elif port.name in previous and previous[port.name][0] == key:
            pins[port.name] = previous[port.name]
        else:
            majors = [v.major for v in state.versions(key) if (key, v.major) not in retired]
            if majors:
                pins[port.name] = (key, max(majors))
    return pins
