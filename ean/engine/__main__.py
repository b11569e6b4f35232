"""``python -m ean.engine COMMAND ...`` runs the ``ean`` command line (handy under torchrun:
``torchrun --nproc_per_node 4 -m ean.engine train CONFIG --out RUN_DIR``)."""
import sys

from ean.cli import main

sys.exit(main())
