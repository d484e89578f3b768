"""The web UI: server-rendered pages over the mesh index (see docs/ui.md)."""
