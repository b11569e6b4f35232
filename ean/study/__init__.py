"""The study pipeline: profiles (params.yaml), stages (data, pretrain, train), tables.

Notebooks use :func:`ean.study.notebook.setup` and :func:`ean.study.results.build_table`;
the DVC stages call ``ean study ...`` (see :mod:`ean.study.cli`).
"""
