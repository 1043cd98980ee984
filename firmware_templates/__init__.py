"""Jinja templates, C kernels and board support shipped with reidtool (package data)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
