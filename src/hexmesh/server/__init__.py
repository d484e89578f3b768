"""The HTTP surface of a node (FastAPI): every port of every deployed product; no business logic."""

from hexmesh.server.app import create_app
from hexmesh.server.service import Service, http_service, run_services

__all__ = ["Service", "create_app", "http_service", "run_services"]
