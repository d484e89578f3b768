"""Command-line surface (Typer + rich): parse, call the workspace facade, render. No business logic."""
