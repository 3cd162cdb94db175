"""Rewriting cells for a destination: code shapes per API (``support``), the libcst
transformer (``transform``) and the setup cell (``setup_cell``)."""
